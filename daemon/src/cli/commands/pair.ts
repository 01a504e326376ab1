import type { Command } from 'commander';
import { action, type Ctx } from '../context.js';
import { relative, table } from '../format.js';

async function listPending(ctx: Ctx): Promise<void> {
  const pending = await ctx.client.pendingPairings();
  if (ctx.json) return ctx.printJson(pending);
  if (pending.length === 0) return ctx.print('no pending pairing requests (start one from the Figma plugin)');
  // Enough to tell the request you just made from one a web page made: origin, address, browser and age.
  ctx.print(
    table(
      ['CODE', 'NAME', 'ORIGIN', 'ADDRESS', 'USER AGENT', 'ASKED', 'EXPIRES'],
      pending.map((p) => [
        p.code,
        p.name,
        p.origin ?? '-',
        p.address ?? '-',
        (p.userAgent ?? '-').slice(0, 60),
        p.createdAt ? relative(p.createdAt) : '-',
        relative(p.expiresAt),
      ]),
    ),
  );
  ctx.print('confirm only a request you started yourself, with `comfygate pair <code>`');
}

async function confirm(ctx: Ctx, code: string): Promise<void> {
  // Looked up first only to name the client in the message; confirm is what decides.
  const name = (await ctx.client.pendingPairings()).find((p) => p.code === code)?.name;
  await ctx.client.confirmPairing(code);
  if (ctx.json) return ctx.printJson({ confirmed: code, name: name ?? null });
  ctx.print(`paired${name ? ` '${name}'` : ''}: it now receives its own token (see \`comfygate token list\`)`);
}

export function registerPair(program: Command): void {
  program
    .command('pair')
    .description('list pending pairing requests (Figma plugin), or confirm one by its code')
    .argument('[code]', 'the code the plugin shows')
    .action(action(async (ctx, code: string | undefined) => (code ? confirm(ctx, code) : listPending(ctx))));
}
