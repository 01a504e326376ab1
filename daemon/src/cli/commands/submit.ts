import path from 'node:path';
import type { Command } from 'commander';
import type { ComfyGraph, Variant } from '@comfygate/shared';
import { action, CliError, intOption } from '../context.js';
import { followToFiles } from '../follow.js';
import { applyParams, DEFAULT_CKPT, type GraphParams, readGraphFile, txt2imgGraph } from '../graph.js';
import { DEFAULT_OUT, outDir } from '../outputs.js';
import { POSTPROCESS_OPTIONS, collectVariant, postprocessFrom } from '../postprocess.js';

interface SubmitFlags extends Omit<GraphParams, 'prompt'> {
  graph?: string;
  priority?: number;
  backend?: string;
  out?: string;
  wait: boolean;
  variant?: Record<string, Variant>;
  postprocess?: string;
}

function buildGraph(words: string[], flags: SubmitFlags): ComfyGraph {
  const prompt = words.length ? words.join(' ') : undefined;
  const params: GraphParams = {
    prompt,
    negative: flags.negative,
    seed: flags.seed,
    steps: flags.steps,
    width: flags.width,
    height: flags.height,
    ckpt: flags.ckpt,
  };
  if (flags.graph) {
    const graph = readGraphFile(flags.graph);
    const ignored = applyParams(graph, params);
    if (ignored.length)
      process.stderr.write(
        `warning: no input in ${flags.graph} takes ${ignored.map((k) => (k === 'prompt' ? 'the prompt' : `--${k}`)).join(', ')}; ignored\n`,
      );
    return graph;
  }
  if (!prompt)
    throw new CliError('give a prompt (comfygate submit "a red fox") or an API-format graph (--graph file.json)');
  return txt2imgGraph({ ...params, prompt });
}

export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description('queue a job and wait for its outputs: a prompt (txt2img) or an API-format graph file')
    .argument('[prompt...]', 'prompt words; with --graph they replace the positive prompt text')
    .option('-g, --graph <file>', "API-format graph JSON (export with 'Save (API)' in ComfyUI)")
    .option('--seed <n>', 'sampler seed (default random)', intOption(0))
    .option('--steps <n>', 'sampler steps (default 20)', intOption(1))
    .option('--width <n>', 'image width (default 512)', intOption(16))
    .option('--height <n>', 'image height (default 512)', intOption(16))
    .option('--ckpt <name>', `checkpoint (default ${DEFAULT_CKPT})`)
    .option('--negative <text>', 'negative prompt')
    .option('--priority <n>', 'higher runs first (-1000..1000)', intOption(-1000))
    .option('--backend <name>', 'run on this backend only')
    .option(...POSTPROCESS_OPTIONS.variant, collectVariant)
    .option(...POSTPROCESS_OPTIONS.postprocess)
    .option('-o, --out <dir>', `directory for the outputs (default ./${DEFAULT_OUT})`)
    .option('--no-wait', 'print the job id and return without waiting')
    .action(
      action(async (ctx, words: string[], flags: SubmitFlags) => {
        const graph = buildGraph(words, flags);
        const metadata = { source: 'cli', ...(words.length ? { prompt: words.join(' ') } : {}) };
        const postprocess = postprocessFrom(flags);
        const job = await ctx.client.createJob({
          graph,
          priority: flags.priority,
          backend: flags.backend,
          metadata,
          postprocess,
        });
        if (!flags.wait) return ctx.json ? ctx.printJson(job) : ctx.print(job.id);
        const label = flags.graph ? path.basename(flags.graph).replace(/\.json$/i, '') : 'txt2img';
        await followToFiles(ctx, job, outDir(flags.out), label);
      }),
    );
}
