import { describe, expect, it } from 'vitest';
import type { ComfyGraph } from '@comfygate/shared';
import type { ComfyBackend } from '../comfy/backend.js';
import { whyWaiting } from './waiting.js';

const graph: ComfyGraph = { '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } } };
const caps = (ckpts: string[]) => ({
  nodes: ['CheckpointLoaderSimple'],
  combos: { CheckpointLoaderSimple: { ckpt_name: ckpts } },
});
const backend = (
  name: string,
  o: Partial<{ health: string; draining: boolean; ckpts: string[] | null; inflight: number }> = {},
) =>
  ({
    name,
    health: o.health ?? 'up',
    draining: o.draining ?? false,
    capabilities: o.ckpts === null ? null : caps(o.ckpts ?? ['sdxl.safetensors']),
    config: { inflight: o.inflight ?? 2 },
  }) as unknown as ComfyBackend;
const idle = () => 0;

describe('whyWaiting', () => {
  it('names what is missing and where it is', () => {
    const bs = [backend('gpu-a', { health: 'down' }), backend('gpu-b', { ckpts: ['sd15.safetensors'] })];
    expect(whyWaiting(graph, null, bs, idle, 0)).toMatch(
      /^needs ckpt_name 'sdxl\.safetensors' .*: only on gpu-a, which is down$/,
    );
  });

  it('says when nothing is up, everything drains, or every slot is taken', () => {
    expect(whyWaiting(graph, null, [backend('a', { health: 'down' })], idle, 0)).toBe('no backend is up');
    expect(whyWaiting(graph, null, [backend('a', { draining: true }), backend('b', { health: 'down' })], idle, 0)).toBe(
      'every backend is draining',
    );
    expect(whyWaiting(graph, null, [backend('a', { inflight: 1 })], () => 1, 0)).toBe('waiting for a free slot on a');
    expect(whyWaiting(graph, null, [backend('a')], idle, 0)).toBeNull();
  });

  it('covers pins, unknown capabilities and a retry back-off', () => {
    expect(whyWaiting(graph, 'gpu-z', [backend('a')], idle, 0)).toBe(
      "pinned to backend 'gpu-z', which is not configured",
    );
    expect(whyWaiting(graph, null, [], idle, 0)).toBe('no backend configured');
    expect(whyWaiting(graph, null, [backend('a', { ckpts: null })], idle, 0)).toBe(
      'waiting for a backend to report its nodes and models',
    );
    // Never reached at all: that nothing answers is what a person can act on.
    expect(whyWaiting(graph, null, [backend('a', { ckpts: null, health: 'unknown' })], idle, 0)).toBe(
      'no backend is up',
    );
    expect(whyWaiting(graph, null, [backend('a')], idle, 5_000, 1_000)).toBe('retrying in 4 s');
  });
});
