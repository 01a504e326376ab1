import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { isUiWorkflow } from '@comfygate/shared';
import { action, CliError } from '../context.js';
import { fromInvocation } from '../cwd.js';
import { printable } from '../format.js';

/** What kind of file a template import is: a PNG saved by ComfyUI, a UI workflow, or an API graph. */
function importBody(name: string, file: string): Record<string, unknown> {
  const bytes = fs.readFileSync(fromInvocation(file));
  const webp =
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP';
  if (bytes.subarray(1, 4).toString() === 'PNG' || webp) return { name, png: bytes.toString('base64') }; // the daemon tells them apart
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CliError(`${file} is neither a PNG nor JSON`);
  }
  return isUiWorkflow(json) ? { name, workflow: json } : { name, graph: json };
}

export function registerTemplates(program: Command): void {
  const t = program.command('templates').description('workflow templates: list, show, import');
  t.command('list', { isDefault: true })
    .description('list templates and every parameter they take (details: templates show <name>)')
    .action(
      action(async (ctx) => {
        const list = await ctx.client.templates();
        if (ctx.json) return ctx.printJson(list);
        // The schema, not the stored map: built-ins add parameters of their own (upscale's scale and model).
        const schemas = await Promise.all(list.map((x) => ctx.client.templateSchema(x.name)));
        for (const [i, x] of list.entries()) {
          const names = Object.keys((schemas[i]!.properties ?? {}) as object);
          ctx.print(printable(`${x.name}${x.builtin ? ' (built in)' : ''}: ${names.join(', ') || 'no parameters'}`));
        }
      }),
    );
  t.command('show <name>')
    .description(
      "a template's parameters as a JSON schema; with --graph, the API graph it runs, its bindings and conversion warnings",
    )
    .option('--graph', 'what the template became: {graph, params, warnings}')
    .action(
      action(async (ctx, name: string, opts: { graph?: boolean }) => {
        if (!opts.graph) return ctx.printJson(await ctx.client.templateSchema(name));
        const shown = await ctx.client.templateGraph(name);
        ctx.printJson(shown);
        // On stderr, so the JSON on stdout stays machine-readable.
        for (const w of shown.warnings)
          process.stderr.write(`warning: ${w.node ? `node ${w.node} (${w.type})` : w.type}: ${w.message}\n`);
      }),
    );
  t.command('import <file>')
    .description('import an API graph, a UI workflow (.json), or a PNG or animated WEBP saved by ComfyUI')
    .option('-n, --name <name>', 'template name (default: the file name)')
    .action(
      action(async (ctx, file: string, opts: { name?: string }) => {
        const name =
          opts.name ??
          path
            .basename(file)
            .replace(/\.(json|png|webp)$/i, '')
            .replace(/[^A-Za-z0-9_.-]/g, '-');
        const created = await ctx.client.importTemplate(importBody(name, file) as never);
        if (ctx.json) return ctx.printJson(created);
        ctx.print(
          `imported '${created.name}' with parameters: ${created.params.map((p) => p.name).join(', ') || 'none'}`,
        );
        const warned = created.warnings?.length ?? 0;
        if (warned > 0)
          ctx.print(`${warned} conversion warning(s): see 'comfygate templates show ${created.name} --graph'`);
      }),
    );
}
