import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { action } from '../context.js';

/** Opens a URL in the desktop's browser; failure is fine, the link is printed anyway. */
function openInBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    spawn(cmd, [url], { stdio: 'ignore', detached: true })
      .on('error', () => {})
      .unref();
  } catch {
    /* no desktop: the printed link is the way */
  }
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('print a one-time sign-in link to the web dashboard (valid 5 minutes)')
    .option('--open', 'also open it in the browser')
    .action(
      action(async (ctx, flags: { open?: boolean }) => {
        const link = await ctx.client.loginCode();
        if (ctx.json) return ctx.printJson(link);
        const until = new Date(link.expiresAt).toLocaleTimeString();
        ctx.print(`${link.url}\n(one-time sign-in link, valid until ${until}; it signs in as this CLI's token)`);
        if (flags.open) openInBrowser(link.url);
      }),
    );
}
