/** How long a check waits for an answer before calling the other side unreachable. */
export const ANSWER_MS = 5_000;

/** One doctor finding: `warn` is worth knowing but does not fail the run; every `fail` says how to fix it. */
export interface Check {
  status: 'ok' | 'warn' | 'fail';
  label: string;
  detail: string;
  fix?: string;
}

export const ok = (label: string, detail: string): Check => ({ status: 'ok', label, detail });
export const warn = (label: string, detail: string, fix?: string): Check => ({ status: 'warn', label, detail, fix });
export const fail = (label: string, detail: string, fix: string): Check => ({ status: 'fail', label, detail, fix });

/** The short reason behind a network error ("ECONNREFUSED"), not undici's whole story. */
export function reason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = e.code ?? e.cause?.code;
  return typeof code === 'string' ? code : String(e.cause?.message ?? e.message ?? err);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000}s`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const portOf = (u: URL): number => Number(u.port || (u.protocol === 'https:' ? 443 : 80));
