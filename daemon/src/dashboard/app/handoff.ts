/**
 * What "use as reference" and "vary" hand to the Generate page: kept in memory only, read once when the
 * page opens (a reload simply starts with an empty form).
 */
export interface Handoff {
  template?: string;
  params?: Record<string, unknown>;
  reference?: { blob: Blob; name: string };
}

let pending: Handoff | null = null;
export function handOff(h: Handoff): void {
  pending = h;
  location.hash = '#/generate';
}
export function takeHandoff(): Handoff | null {
  const h = pending;
  pending = null;
  return h;
}
