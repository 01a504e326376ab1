import type { Store } from '../store/types.js';

/** Token id -> name, for the `owner` of views. Tokens are few (people and plugins), so one read per view. */
export async function ownerNames(store: Pick<Store, 'tokens'>): Promise<Map<string, string>> {
  return new Map((await store.tokens.list()).map((t) => [t.id, t.name]));
}
