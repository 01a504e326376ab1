import fs from 'node:fs';
import { type Command, Option } from 'commander';
import { type Token, TokenScope } from '@comfygate/shared';
import { action, type Ctx, intOption, tokenFile } from '../context.js';
import { mask, relative, table } from '../format.js';

/** The admin token file as the daemon wrote it; the token itself is only ever shown masked here. */
function showToken(ctx: Ctx): void {
  const file = tokenFile();
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  const mode = stat ? (stat.mode & 0o777).toString(8).padStart(4, '0') : null;
  const inUse = ctx.token ? { token: mask(ctx.token), source: ctx.tokenSource } : null;
  if (ctx.json) return ctx.printJson({ file, exists: !!stat, mode, inUse });
  ctx.print(
    stat ? `token file: ${file} (mode ${mode})` : `token file: ${file} (missing: \`comfygate start\` creates it)`,
  );
  ctx.print(
    inUse
      ? `token:      ${inUse.token} (from ${inUse.source})`
      : 'token:      none (pass --token or set COMFYGATE_TOKEN)',
  );
  if (stat && mode !== '0600') ctx.print(`warning:    the token file should be private: chmod 600 ${file}`);
}

function tokensTable(tokens: Token[]): string {
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.seeAll ? `${t.scope}, sees all` : t.scope,
    t.dailyQuota === null ? '-' : `${t.dailyQuota}/day`,
    relative(t.createdAt),
    t.revokedAt === null ? 'active' : `revoked ${relative(t.revokedAt)}`,
  ]);
  return table(['ID', 'NAME', 'SCOPE', 'QUOTA', 'CREATED', 'STATUS'], rows);
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('the admin token, and scoped tokens for other tools and people');

  token
    .command('show', { isDefault: true })
    .description('where the admin token lives, masked')
    .action(action(async (ctx) => showToken(ctx)));

  token
    .command('create')
    .description('create a token (printed once)')
    .argument('<name>', 'who or what uses it')
    .addOption(new Option('--scope <scope>', 'what it may do').choices(TokenScope.options).default('submit'))
    .option('--quota <n>', 'jobs per UTC day (default unlimited)', intOption(1))
    .option(
      '--see-all',
      "read every token's jobs, batches, assets and webhooks (a team dashboard); it still acts on its own only",
    )
    .action(
      action(async (ctx, name: string, flags: { scope: TokenScope; quota?: number; seeAll?: boolean }) => {
        const t = await ctx.client.createToken({
          name,
          scope: flags.scope,
          dailyQuota: flags.quota ?? null,
          seeAll: flags.seeAll ?? false,
        });
        if (ctx.json) return ctx.printJson(t);
        const quota = t.dailyQuota === null ? 'no quota' : `${t.dailyQuota} jobs/day`;
        ctx.print(
          `created token '${t.name}' (id ${t.id}, scope ${t.scope}${t.seeAll ? ', sees all' : ''}, ${quota}):\n${t.token}`,
        );
        ctx.print(`It is shown only this once. Revoke it with \`comfygate token revoke ${t.id}\`.`);
      }),
    );

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .action(
      action(async (ctx) => {
        const list = await ctx.client.tokens();
        if (ctx.json) return ctx.printJson(list);
        ctx.print(tokensTable(list));
      }),
    );

  token
    .command('revoke')
    .description('revoke a token at once')
    .argument('<id>')
    .action(
      action(async (ctx, id: string) => {
        await ctx.client.revokeToken(id);
        if (ctx.json) return ctx.printJson({ revoked: id });
        ctx.print(`revoked token ${id}`);
      }),
    );
}
