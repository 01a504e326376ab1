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
