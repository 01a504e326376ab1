import crypto from 'node:crypto';
import type { NewJob } from './types.js';

/** A minimal job row for store-level tests; each test overrides what it is about. */
export const newJob = (over: Partial<NewJob> = {}): NewJob => ({
  id: crypto.randomUUID(),
  priority: 0,
  client: 'c',
  backendPin: null,
  graphJson: '{}',
  metadata: {},
  postprocess: null,
  maxAttempts: 1,
  idempotencyKey: null,
  requestHash: null,
  ...over,
});
