import { request } from 'undici';

export interface PostResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/**
 * One POST. 2xx is success; anything else (3xx included: redirects are not followed, as the spec asks),
 * a refused connection or the timeout is a failure with a short reason for the deliveries list.
 * Never throws. `abort` ends it early (the dispatcher closing).
 */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  abort: AbortSignal,
): Promise<PostResult> {
  const signal = AbortSignal.any([abort, AbortSignal.timeout(timeoutMs)]);
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'comfygate-webhooks', ...headers },
      body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // The answer's body means nothing to us; read a little so the connection can be reused.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { ok, status: res.statusCode, error: ok ? null : `HTTP ${res.statusCode}` };
  } catch (err) {
    const reason = signal.aborted && !abort.aborted ? `timeout after ${timeoutMs} ms` : describe(err);
    return { ok: false, status: null, error: reason };
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
  return code ? `${code}: ${err.message}` : err.message;
}
