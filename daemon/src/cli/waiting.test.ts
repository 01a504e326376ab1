import type { Backend } from '@comfygate/shared';
import { describe, expect, it } from 'vitest';
import { waitingReason } from './waiting.js';

const backend = (health: Backend['health'], draining = false): Backend => ({
  name: 'b',
  url: 'http://127.0.0.1:8188',
  health,
  draining,
  inflight: 0,
  capacity: 2,
  weight: 1,
  nodes: null,
  models: null,
  modelsByFolder: null,
});

describe('waitingReason', () => {
  it('says why a queued job does not run, or nothing when it is only in line', () => {
    expect(waitingReason([])).toBe('no backend is configured (comfygate backends add <name> <url>)');
    expect(waitingReason([backend('down'), backend('unknown')])).toBe('no backend is up (comfygate doctor)');
    expect(waitingReason([backend('up', true), backend('down')])).toBe(
      'every backend that is up is draining (comfygate backends)',
    );
    expect(waitingReason([backend('up'), backend('down')])).toBeNull();
  });
});
