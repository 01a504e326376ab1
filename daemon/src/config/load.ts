import fs from 'node:fs';
import { Config, type ConfigInput } from './schema.js';
import { GatewayError } from '../errors.js';
import { validationError } from '../validation.js';

/** Flags and env win over the file; the file wins over the schema's defaults. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigInput } = {}): Config {
  const env = opts.env ?? process.env;
  const fromFile = opts.file ? readConfigFile(opts.file) : {};
  const fromEnv: ConfigInput = {};
  if (env.COMFYGATE_HOME) fromEnv.home = env.COMFYGATE_HOME;
  if (env.COMFYGATE_PORT) fromEnv.port = Number(env.COMFYGATE_PORT);
  if (env.COMFYGATE_HOST) fromEnv.host = env.COMFYGATE_HOST;
  if (env.COMFYGATE_LOG_LEVEL) fromEnv.logLevel = env.COMFYGATE_LOG_LEVEL as Config['logLevel'];
  const merged = { ...fromFile, ...fromEnv, ...opts.overrides };
  merged.engine = { ...fromFile.engine, ...opts.overrides?.engine };
  merged.security = { ...fromFile.security, ...opts.overrides?.security };
  merged.retention = { ...fromFile.retention, ...opts.overrides?.retention };
  merged.webhooks = { ...fromFile.webhooks, ...opts.overrides?.webhooks };
  merged.watchOptions = { ...fromFile.watchOptions, ...opts.overrides?.watchOptions };
  const parsed = Config.safeParse(merged);
  if (!parsed.success) {
    throw validationError(parsed.error, merged, { prefix: 'invalid config: ', whole: '(config)' });
  }
  return parsed.data;
}

function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayError({ code: 'not_found', message: `cannot read config file ${file}`, cause: err });
  }
  try {
    return JSON.parse(text) as ConfigInput;
  } catch (err) {
    throw new GatewayError({ code: 'bad_request', message: `config file ${file} is not valid JSON`, cause: err });
  }
}
