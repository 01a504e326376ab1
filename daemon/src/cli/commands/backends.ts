import { type Command, InvalidArgumentError } from 'commander';
import { action, intOption } from '../context.js';
import { backendTable } from './status.js';

const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number.');
  return n;
};

export function registerBackends(program: Command): void {
  const backends = program
    .command('backends')
    .description('list and manage ComfyUI backends (changes need an admin token)');

  backends
    .command('list', { isDefault: true })
    .description('list backends with health and load')
    .action(
      action(async (ctx) => {
        const list = await ctx.client.backends();
        if (ctx.json) return ctx.printJson(list);
        ctx.print(backendTable(list));
      }),
    );

  backends
    .command('add')
    .description('add a ComfyUI server')
    .argument('<name>', 'a short name (letters, digits, _ . -)')
    .argument('<url>', 'its URL, e.g. http://127.0.0.1:8188')
    .option('--weight <w>', 'relative GPU speed (default 1)', positiveNumber)
    .option('--inflight <n>', 'prompts kept in its queue at once, 1..16 (default 2)', intOption(1))
    .action(
      action(async (ctx, name: string, url: string, flags: { weight?: number; inflight?: number }) => {
        const b = await ctx.client.addBackend({ name, url, weight: flags.weight, inflight: flags.inflight });
        if (ctx.json) return ctx.printJson(b);
        ctx.print(`added backend ${b.name} (${b.url}), health ${b.health}`);
      }),
    );

  backends
    .command('remove')
    .description('remove a backend; its queued work moves to the others')
    .argument('<name>')
    .action(
      action(async (ctx, name: string) => {
        await ctx.client.removeBackend(name);
        if (ctx.json) return ctx.printJson({ removed: name });
        ctx.print(`removed backend ${name}`);
      }),
    );

  backends
    .command('drain')
    .description('stop sending new jobs to a backend (running ones finish); --undo to resume')
    .argument('<name>')
    .option('--undo', 'accept new jobs again')
    .action(
      action(async (ctx, name: string, flags: { undo?: boolean }) => {
        const b = await ctx.client.drainBackend(name, !flags.undo);
        if (ctx.json) return ctx.printJson(b);
        ctx.print(
          b.draining ? `draining ${b.name}: ${b.inflight} job(s) still in flight` : `${b.name} accepts new jobs again`,
        );
      }),
    );
}
