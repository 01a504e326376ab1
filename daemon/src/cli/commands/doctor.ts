import { type Command, InvalidArgumentError } from 'commander';
import { action, CliError, type Ctx } from '../context.js';
import { checkDaemon, checkHome } from '../doctor/local.js';
import type { Check } from '../doctor/types.js';
import { marks } from '../format.js';

export const DEFAULT_COMFY_URL = 'http://127.0.0.1:8188';

const collectUrl = (v: string, prev: string[] = []) => {
  if (!URL.canParse(v)) throw new InvalidArgumentError('not a URL (like http://127.0.0.1:8188).');
  return [...prev, v];
};

/** Which ComfyUI servers to look at: the ones asked for, else the daemon's, else ComfyUI's default port. */
function targets(flagged: string[] | undefined, fromDaemon: { name: string; url: string }[] | null) {
  if (flagged?.length)
    return flagged.map((url, i) => ({ name: flagged.length === 1 ? 'backend' : `backend${i + 1}`, url }));
  if (fromDaemon?.length) return fromDaemon;
  return [{ name: 'local', url: DEFAULT_COMFY_URL }];
}

function render(ctx: Ctx, checks: Check[]): void {
  const m = marks(ctx.tty);
  const arrow = ctx.tty ? '→' : '->';
  for (const c of checks) {
    const fix = c.fix && c.status !== 'ok' ? `  ${arrow} ${c.fix}` : '';
    ctx.print(`${m[c.status]} ${c.label}: ${c.detail}${fix}`);
  }
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the data dir, the daemon and each ComfyUI backend, and say how to fix what is wrong')
    .option('-b, --backend <url>', "check this ComfyUI URL instead of the daemon's backends (repeatable)", collectUrl)
    .action(
      action(async (ctx, flags: { backend?: string[] }) => {
        const checks = checkHome(ctx.home);
        const daemon = await checkDaemon(ctx);
        checks.push(...daemon.checks);
        // Loaded here so the other commands do not pay for undici at start-up.
        const { checkComfy } = await import('../doctor/comfy.js');
        // Backends are independent: check them side by side so one slow host does not stall the rest.
        const results = await Promise.all(
          targets(flags.backend, daemon.backends).map((b) => checkComfy(b.name, b.url)),
        );
        checks.push(...results.flat());
        const failed = checks.filter((c) => c.status === 'fail').length;
        if (ctx.json) ctx.printJson({ ok: failed === 0, checks });
        else render(ctx, checks);
        if (failed) throw new CliError(`${failed} check(s) failed`);
      }),
    );
}
