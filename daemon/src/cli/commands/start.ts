import type { Command } from 'commander';
import { GatewayError } from '../../errors.js';
import type { StartFlags } from '../../run.js';
import { whereBlock } from '../where.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the daemon in the foreground (Ctrl-C to stop)')
    .option('-c, --config <file>', 'config file (JSON)')
    .option('-p, --port <port>', 'port to listen on (default 8288)')
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('--home <dir>', 'data directory (default $COMFYGATE_HOME or ~/.comfygate)')
    .option('-b, --backend <url>', 'ComfyUI backend URL (repeat for several)', collect)
    .action(async (flags: StartFlags) => {
      // Loaded here, not at the top: every other command starts without SQLite, sharp and the engine.
      const { runDaemon } = await import('../../run.js');
      let running;
      try {
        running = await runDaemon(flags);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE')
          throw new GatewayError({
            code: 'conflict',
            message: `port already in use; is comfygate already running? (try --port)`,
          });
        throw err;
      }
      const { daemon, gateway } = running;
      const cfg = daemon.config;
      process.stdout.write(
        whereBlock({ url: gateway.url, home: cfg.home, backends: cfg.backends, loginLink: gateway.loginLink() }),
      );
      setTimeout(() => {
        for (const b of daemon.backends()) {
          if (b.health !== 'up')
            process.stdout.write(
              `  warning:  ComfyUI '${b.name}' at ${b.url} is not reachable yet; jobs wait in the queue until it is (run \`comfygate doctor\`)\n`,
            );
        }
      }, 1_500).unref();
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        daemon.log.info({ signal }, 'shutting down');
        await running.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
