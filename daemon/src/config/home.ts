import os from 'node:os';
import path from 'node:path';

/** The data folder when neither --home nor COMFYGATE_HOME names one. Its own module: the CLI reads it without the schema. */
export const DEFAULT_HOME = path.join(os.homedir(), '.comfygate');
