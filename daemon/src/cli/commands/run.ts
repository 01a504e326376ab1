import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { type Batch, type Job, SeedMode, type Variant } from '@comfygate/shared';
import { action, CliError, type Ctx, intOption, splitAssignment } from '../context.js';
import { fromInvocation } from '../cwd.js';
import { followToFiles } from '../follow.js';
import { WAITING_CHECK_MS, waitingReason } from '../waiting.js';
import { DEFAULT_OUT, outDir, saveOutputs } from '../outputs.js';
import { POSTPROCESS_OPTIONS, collectVariant, postprocessFrom } from '../postprocess.js';

interface RunFlags {
  count: number;
  seed: string;
  vary: string[];
  priority?: number;
  backend?: string;
  out?: string;
  variant?: Record<string, Variant>;
  postprocess?: string;
}

type SchemaProp = { type?: string; format?: string };

const collect = (value: string, previous: string[]) => [...previous, value];

function assignment(text: string): [string, string] {
  const pair = splitAssignment(text);
  if (!pair) throw new CliError(`'${text}' is not name=value`);
  return pair;
}

/** A command-line string as the parameter's type wants it; `@file` on an image parameter uploads the file. */
async function valueFor(ctx: Ctx, name: string, raw: string, prop: SchemaProp | undefined): Promise<unknown> {
  if (prop?.format === 'asset-id' && raw.startsWith('@')) {
    const file = raw.slice(1);
    if (!fs.existsSync(fromInvocation(file))) throw new CliError(`${name}: no file ${file}`);
    return (await ctx.client.uploadAsset(fs.readFileSync(fromInvocation(file)))).sha256;
  }
  if (prop?.type === 'integer' && /^-?\d+$/.test(raw)) return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw; // digits keep a 64-bit seed exact
  if (prop?.type === 'number' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if (prop?.type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw; // anything else goes as given, and the daemon names what is wrong with it
}

/** name=value words (and repeated --vary name=value) as typed template values, uploads done. */
async function typedValues(ctx: Ctx, template: string, words: string[], vary: string[]) {
  const schema = await ctx.client.templateSchema(template);
  const props = (schema.properties ?? {}) as Record<string, SchemaProp>;
  const params: Record<string, unknown> = {};
  for (const [name, raw] of words.map(assignment)) params[name] = await valueFor(ctx, name, raw, props[name]);
  const varied: Record<string, unknown[]> = {};
  for (const [name, raw] of vary.map(assignment))
    (varied[name] ??= []).push(await valueFor(ctx, name, raw, props[name]));
  // Said here in the CLI's own terms: the daemon would ask for an asset id.
  const missing = ((schema.required ?? []) as string[]).filter(
    (name) => params[name] === undefined && varied[name] === undefined,
  );
  if (missing.length > 0) {
    const how = (name: string) =>
      `give a file as ${name}=@photo.png${props[name]?.format === 'asset-id' ? '' : ` or a value as ${name}=...`}`;
    throw new CliError(missing.map((name) => `${name}: required; ${how(name)}`).join('; '));
  }
  return { params, vary: Object.keys(varied).length > 0 ? varied : undefined };
}

/**
 * The first job of the batch still queued, looked for from where the last look stopped (jobs leave `queued` in
 * about the order they were made), at most 20 reads a look: a long batch costs no more than a short one.
 */
function queuedFinder(ctx: Ctx, b: Batch): () => Promise<Job | null> {
  let from = 0;
  return async () => {
    for (let reads = 0; from < b.jobIds.length && reads < 20; reads++) {
      const job = await ctx.client.getJob(b.jobIds[from]!).catch(() => null);
      if (job?.state === 'queued') return job;
      from++;
    }
    return null;
  };
}

/** Waits for every job of the batch, one line per change; Ctrl-C cancels what is left. */
async function followBatch(ctx: Ctx, batch: Batch): Promise<Batch> {
  let interrupted = false;
  const onInt = () => (interrupted = true);
  process.once('SIGINT', onInt);
  try {
    let shown = -1;
    const nextQueued = queuedFinder(ctx, batch);
    let why: string | null = null;
    let checkedAt = 0;
    for (;;) {
      const b = await ctx.client.getBatch(batch.id);
      if (b.done !== shown && !ctx.json)
        ctx.print(`${b.done}/${b.total} done (${b.counts.succeeded} succeeded, ${b.counts.failed} failed)`);
      shown = b.done;
      if (b.counts.queued > 0 && Date.now() - checkedAt >= WAITING_CHECK_MS) {
        checkedAt = Date.now();
        // The first job of the batch still queued speaks for the rest: they wait for the same backends.
        const queued = await nextQueued();
        const reason = queued ? waitingReason(queued) : null;
        if (reason && reason !== why && !ctx.json) ctx.print(`  waiting: ${reason}`);
        why = reason;
      }
      if (b.done === b.total) return b;
      if (interrupted) {
        const c = await ctx.client.cancelBatch(batch.id);
        throw new CliError(
          `interrupted; batch ${batch.id} canceled with ${c.counts.succeeded} of ${c.total} done`,
          130,
        );
      }
      await sleep(500);
    }
  } finally {
    process.off('SIGINT', onInt);
  }
}

async function saveBatch(ctx: Ctx, batch: Batch, out: string, template: string): Promise<void> {
  const results: { job: Job; files: string[] }[] = [];
  for (const id of batch.jobIds) {
    const job = await ctx.client.getJob(id);
    results.push({ job, files: job.state === 'succeeded' ? await saveOutputs(ctx.client, job, out, template) : [] });
  }
  if (ctx.json) ctx.printJson({ batch, jobs: results });
  else for (const f of results.flatMap((r) => r.files)) ctx.print(f);
  const failed = results.filter((r) => r.job.state !== 'succeeded');
  if (failed.length > 0) {
    const why = failed
      .slice(0, 3)
      .map((r) => `${r.job.id} ${r.job.state}${r.job.error ? `: ${r.job.error.message}` : ''}`);
    throw new CliError(`${failed.length} of ${results.length} jobs did not succeed (${why.join('; ')})`);
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a template (see `templates list`), once or as a batch of variations, and save the outputs')
    .argument('<template>', 'template name, e.g. txt2img, img2img, upscale')
    .argument('[params...]', 'name=value; an image parameter takes @file to upload, e.g. image=@photo.png')
    .option('-n, --count <n>', 'variations per combination of --vary', intOption(1), 1)
    .option('--seed <mode>', `seeds across the variations: ${SeedMode.options.join(', ')}`, 'random')
    .option(
      '--vary <name=value>',
      'a value to vary a parameter over (repeat it; several parameters make every combination)',
      collect,
      [],
    )
    .option('--priority <n>', 'higher runs first (-1000..1000)', intOption(-1000))
    .option('--backend <name>', 'run on this backend only')
    .option(...POSTPROCESS_OPTIONS.variant, collectVariant)
    .option(...POSTPROCESS_OPTIONS.postprocess)
    .option('-o, --out <dir>', `directory for the outputs (default ./${DEFAULT_OUT})`)
    .action(
      action(async (ctx, template: string, words: string[], flags: RunFlags) => {
        const seed = SeedMode.safeParse(flags.seed);
        if (!seed.success) throw new CliError(`--seed is one of ${SeedMode.options.join(', ')}`);
        const { params, vary } = await typedValues(ctx, template, words, flags.vary);
        const postprocess = postprocessFrom(flags);
        const job = {
          template,
          params,
          priority: flags.priority,
          backend: flags.backend,
          metadata: { source: 'cli' },
          postprocess,
        };
        const out = outDir(flags.out);
        if (flags.count === 1 && !vary) return followToFiles(ctx, await ctx.client.createJob(job), out, template);
        const batch = await ctx.client.createBatch({
          name: `${template} ×${flags.count}`,
          variations: { job, count: flags.count, seed: seed.data, vary },
        });
        if (!ctx.json) ctx.print(`batch ${batch.id}: ${batch.total} jobs queued`);
        await saveBatch(ctx, await followBatch(ctx, batch), out, template);
      }),
    );
}
