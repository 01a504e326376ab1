import * as z from 'zod/mini';
import { PendingRun, Settings } from '../protocol';

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8288';
const SETTINGS_KEY = 'comfygate.settings';
const RUNS_KEY = 'comfygate.runs';

/**
 * Everything the plugin remembers lives in `figma.clientStorage` (this user, this machine), never in the document:
 * a token in pluginData would travel with the file to everyone it is shared with. The iframe has no localStorage.
 */
export function pluginStorage(store: ClientStorageAPI) {
  type Schema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false } };
  const read = async <T>(key: string, schema: Schema<T>, fallback: T): Promise<T> => {
    const parsed = schema.safeParse(await store.getAsync(key));
    return parsed.success ? parsed.data : fallback;
  };
  return {
    settings: () => read(SETTINGS_KEY, Settings, { daemonUrl: DEFAULT_DAEMON_URL, token: null }),
    saveSettings: (s: Settings) => store.setAsync(SETTINGS_KEY, s),
    runs: () => read(RUNS_KEY, z.array(PendingRun), []),
    saveRuns: (runs: PendingRun[]) => store.setAsync(RUNS_KEY, runs),
  };
}
export type PluginStorage = ReturnType<typeof pluginStorage>;
