import path from 'node:path';
import type { Job } from '@comfygate/shared';
import { stemOf } from './inputs.js';

/** A job's text outputs land beside its files as `<name>.out.txt`; never taken for a prompt `.txt` input. */
export const TEXT_OUTPUT_NAME = /\.out\.txt$/i;

/**
 * Writes the job's text outputs (PreviewAny and the like), one per line, into `dir` through `place` (the
 * writer's temp-then-rename); returns the paths written (none when the job has no text output).
 */
export async function writeTextOutput(
  job: Job,
  dir: string,
  relPath: string,
  place: (target: string, content: string) => Promise<void>,
): Promise<string[]> {
  if (job.texts.length === 0) return [];
  const target = path.join(dir, `${stemOf(relPath)}.out.txt`);
  await place(target, `${job.texts.map((t) => t.text).join('\n')}\n`);
  return [target];
}
