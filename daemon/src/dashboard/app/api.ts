import { GatewayClient, type SessionInfo, isGatewayClientError } from '@comfygate/shared/browser';

/** Same origin, so the session cookie rides along; no token ever lives in this page. */
export const client = new GatewayClient({ baseUrl: location.origin });

export interface AppState {
  me: SessionInfo;
  isAdmin: boolean;
  canSubmit: boolean;
}

export const outputUrl = (id: string): string => `/v1/outputs/${encodeURIComponent(id)}`;
export const previewUrl = (jobId: string, n: number): string => `/v1/jobs/${encodeURIComponent(jobId)}/preview?n=${n}`;
export const archiveUrl = (batchId: string): string => `/v1/batches/${encodeURIComponent(batchId)}/archive`;

export function errorText(err: unknown): string {
  if (isGatewayClientError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Batches made from this browser (the API has no batch listing): kept so the queue can show them after a reload. */
const BATCHES_KEY = 'comfygate.batches';
export function rememberedBatches(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(BATCHES_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 20) : [];
  } catch {
    return [];
  }
}
export function rememberBatch(id: string): void {
  try {
    localStorage.setItem(
      BATCHES_KEY,
      JSON.stringify([id, ...rememberedBatches().filter((b) => b !== id)].slice(0, 20)),
    );
  } catch {
    /* storage off: the batch still shows until the page reloads */
  }
}
export function forgetBatch(id: string): void {
  try {
    localStorage.setItem(BATCHES_KEY, JSON.stringify(rememberedBatches().filter((b) => b !== id)));
  } catch {
    /* nothing to forget */
  }
}
