// Public entry point of the fake ComfyUI server used by comfygate's tests.
export { startFakeComfy, CONTROL_PATH } from './server.js';
export type { FakeComfy, FakeComfyOptions, FakeControl, FakeStats } from './types.js';
export { expectedColor, colorForKey, samplerColorKey, type Rgb } from './outputs.js';
export { readPngText } from './png.js';
export { parseJson, dumpJson, PyFloat } from './pyjson.js';
