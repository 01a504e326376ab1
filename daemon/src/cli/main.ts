import { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { registerStart } from './commands/start.js';

const program = new Command('comfygate')
  .description('comfygate: a local gateway in front of ComfyUI servers')
  .showHelpAfterError();
registerStart(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof GatewayError || (err as Error).name === 'GatewayClientError' ? (err as Error).message : ((err as Error).stack ?? String(err));
  process.stderr.write(`comfygate: ${msg}\n`);
  process.exit(1);
});
