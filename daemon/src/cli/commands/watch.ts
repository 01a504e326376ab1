import { type Command, InvalidArgumentError } from 'commander';
import type { Variant, WatchRuleInput, WatchRuleView } from '@comfygate/shared';
import { action, intOption, splitAssignment } from '../context.js';
import { fromInvocation } from '../cwd.js';
import { relative, table, truncate } from '../format.js';
import { collectVariant } from '../postprocess.js';

/** `--param steps=30`: JSON values (numbers, booleans, objects), anything else as text. */
function collectParam(value: string, acc: Record<string, unknown>): Record<string, unknown> {
  const pair = splitAssignment(value);
  if (!pair) throw new InvalidArgumentError('expected key=value.');
  const [key, raw] = pair;
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    /* plain text */
  }
  return { ...acc, [key]: parsed };
}

const collect = (value: string, acc: string[] = []) => [...acc, value];

interface AddFlags {
  template?: string;
  param: Record<string, unknown>;
  variant?: Record<string, Variant>;
  out?: string;
  recursive?: boolean;
  pattern?: string[];
  naming?: string;
  keepOld?: boolean;
  priority?: number;
  id?: string;
}

function ruleFrom(dir: string, f: AddFlags): WatchRuleInput {
  return {
    dir: fromInvocation(dir), // the daemon runs elsewhere: relative paths mean the caller's folder
    ...(f.id ? { id: f.id } : {}),
    ...(f.template ? { template: f.template } : {}),
    ...(Object.keys(f.param).length ? { params: f.param } : {}),
    ...(f.variant ? { postprocess: { variants: f.variant } } : {}),
    ...(f.out ? { outputDir: fromInvocation(f.out) } : {}),
    ...(f.pattern?.length ? { patterns: f.pattern } : {}),
    ...(f.naming ? { naming: f.naming } : {}),
    recursive: f.recursive === true,
    keepOld: f.keepOld === true,
    ...(f.priority !== undefined ? { priority: f.priority } : {}),
  };
}

export function ruleTable(rules: WatchRuleView[]): string {
  if (rules.length === 0) return 'no watched folders; add one with `comfygate watch add <dir> --template txt2img`';
  return table(
    ['ID', 'STATUS', 'FOLDER', 'TEMPLATE', 'DONE', 'PENDING', 'FAILED'],
    rules.map((r) => [
      r.id,
      r.error ? `error: ${truncate(r.error, 40)}` : r.status,
      r.rule.dir,
      r.rule.template ?? 'txt2img/img2img',
      String(r.files.done),
      String(r.files.pending + r.files.submitted),
      String(r.files.failed),
    ]),
  );
}

export function registerWatch(program: Command): void {
  const watch = program
    .command('watch')
    .description('watched folders: prompts and images dropped in a folder become jobs; results land beside them');

  watch
    .command('list', { isDefault: true })
    .description('list watch rules with file counts')
    .action(
      action(async (ctx) => {
        const rules = await ctx.client.watchRules();
        if (ctx.json) return ctx.printJson(rules);
        ctx.print(ruleTable(rules));
      }),
    );

  watch
    .command('add')
    .description('watch a folder (needs an admin token); kept across daemon restarts')
    .argument('<dir>', 'the folder (created files: *.txt prompts, *.prompt.json, or images for an image template)')
    .option('-t, --template <name>', 'template (default txt2img for prompts, img2img for images)')
    .option('-p, --param <key=value>', 'template parameter, repeatable (JSON values, else text)', collectParam, {})
    .option(
      '--variant <json>',
      'post-processing variants: {"web": {"ops": [...]}} or web={"ops": [...]}; repeatable',
      collectVariant,
    )
    .option('-o, --out <dir>', 'write results here instead of beside the inputs')
    .option('-r, --recursive', 'watch sub-folders too')
    .option('--pattern <glob>', 'file pattern, repeatable (default by template)', collect)
    .option('--naming <pattern>', 'output names (default {name}.{variant}.{ext})')
    .option('--keep-old', 'keep outputs of earlier content instead of replacing them')
    .option('--priority <n>', 'job priority (default -10: below interactive jobs)', intOption(-1000))
    .option('--id <id>', 'rule id (default a uuid)')
    .action(
      action(async (ctx, dir: string, flags: AddFlags) => {
        const rule = await ctx.client.addWatchRule(ruleFrom(dir, flags));
        if (ctx.json) return ctx.printJson(rule);
        ctx.print(`watching ${rule.rule.dir} (${rule.rule.patterns?.join(', ')}) as rule ${rule.id}`);
      }),
    );

  watch
    .command('remove')
    .description('stop watching (unfinished jobs of the rule are canceled)')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        await ctx.client.removeWatchRule(id);
        if (ctx.json) return ctx.printJson({ removed: id });
        ctx.print(`removed watch rule ${id}`);
      }),
    );

  watch
    .command('files')
    .description("a rule's files: state, job and error")
    .argument('<id>')
    .option('--state <state>', 'pending, submitted, done or failed')
    .option('--limit <n>', 'at most this many (default 100)', intOption(1))
    .action(
      action(
        async (ctx, id: string, flags: { state?: 'pending' | 'submitted' | 'done' | 'failed'; limit?: number }) => {
          const files = await ctx.client.watchFiles(id, { state: flags.state, limit: flags.limit });
          if (ctx.json) return ctx.printJson(files);
          ctx.print(
            table(
              ['FILE', 'STATE', 'JOB', 'UPDATED', 'ERROR'],
              files.map((f) => [f.path, f.state, f.jobId ?? '-', relative(f.updatedAt), truncate(f.error ?? '', 60)]),
            ),
          );
        },
      ),
    );
}
