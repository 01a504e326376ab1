/** Polls `fn` until it returns a truthy value; bounded, so a broken test fails instead of hanging. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
  throw new Error(`timed out waiting for ${opts.what ?? 'condition'} (last value: ${JSON.stringify(last)})`);
}
