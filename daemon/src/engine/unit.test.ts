import { describe, expect, it } from 'vitest';
import { decideRetry } from './retry.js';
import { fairOrder } from './routing.js';
import { capabilitiesFrom, missingFor } from '../comfy/capabilities.js';
import { stringifyGraph } from '../comfy/json.js';
import { leadingType, parsePreviewFrame } from '../comfy/socket.js';

describe('decideRetry', () => {
  const policy = { retryBaseMs: 100, retryMaxMs: 1_000 };
  const transient = { kind: 'transient' as const, code: 'backend_unavailable' as const, message: 'x' };
  it('never retries a permanent failure', () => {
    expect(decideRetry({ ...transient, kind: 'permanent' }, 1, 5, policy)).toEqual({ retry: false });
  });
  it('stops at maxAttempts', () => {
    expect(decideRetry(transient, 3, 3, policy)).toEqual({ retry: false });
  });
  it('backs off exponentially with jitter inside [exp/2, exp], capped', () => {
    expect(decideRetry(transient, 1, 9, policy, () => 0)).toEqual({ retry: true, delayMs: 50 });
    expect(decideRetry(transient, 3, 9, policy, () => 1)).toEqual({ retry: true, delayMs: 400 });
    expect(decideRetry(transient, 8, 9, policy, () => 1)).toEqual({ retry: true, delayMs: 1_000 });
  });
});

describe('fairOrder', () => {
  it('orders by priority, then by the client with fewer jobs in flight, then FIFO', () => {
    const jobs = [
      { id: 'a', priority: 0, client: 'batch', seq: 1 },
      { id: 'b', priority: 0, client: 'designer', seq: 9 },
      { id: 'c', priority: 1, client: 'batch', seq: 20 },
    ];
    const active = (c: string) => (c === 'batch' ? 2 : 0);
    expect(fairOrder(jobs, active, () => 0).map((j) => j.id)).toEqual(['c', 'b', 'a']);
  });
  it('with nothing in flight, serves the client served least recently', () => {
    const jobs = [
      { id: 'a', priority: 0, client: 'batch', seq: 2 },
      { id: 'b', priority: 0, client: 'designer', seq: 9 },
    ];
    const served = (c: string) => (c === 'batch' ? 5 : 0);
    expect(fairOrder(jobs, () => 0, served).map((j) => j.id)).toEqual(['b', 'a']);
  });
});

describe('capabilities', () => {
  const info = {
    CheckpointLoaderSimple: { input: { required: { ckpt_name: [['a.safetensors']] } }, output: [], output_node: false },
    LoadImage: { input: { required: { image: [['x.png'], { image_upload: true }] } }, output: [], output_node: false },
    V3Node: { input: { required: { model: ['COMBO', { options: ['m1'] }] } }, output: [], output_node: false },
  } as never;
  const caps = capabilitiesFrom(info);
  it('names missing classes and models, ignores links and upload inputs', () => {
    const graph = {
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'b.safetensors' } },
      '2': { class_type: 'LoadImage', inputs: { image: 'uploaded.png' } },
      '3': { class_type: 'V3Node', inputs: { model: 'm2' } },
      '4': { class_type: 'Missing', inputs: { x: ['1', 0] } },
    };
    expect(missingFor(graph, caps)).toEqual([
      "ckpt_name 'b.safetensors' for CheckpointLoaderSimple (node 1)",
      "model 'm2' for V3Node (node 3)",
      'node class Missing (node 4)',
    ]);
  });
});

describe('wire helpers', () => {
  it('keeps bigint seeds exact in graph JSON', () => {
    expect(stringifyGraph({ s: 18446744073709551615n, t: 'a' })).toBe('{"s":18446744073709551615,"t":"a"}');
  });
  it('reads a JSON message type from its start, or says to parse it whole', () => {
    expect(leadingType('{"type": "progress_state", "data": {"prompt_id": "p"}}')).toBe('progress_state');
    expect(leadingType(' {"type":"executing","data":{}}')).toBe('executing');
    expect(leadingType('{"data": {}, "type": "executing"}')).toBeNull();
    expect(leadingType('{"type": "a\\"b", "data": {}}')).toBeNull();
    expect(leadingType('{"type": "cut-off-before-its-closing-qu')).toBeNull();
  });
  it('parses type 1 and type 4 preview frames', () => {
    const t1 = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from('PNG')]);
    expect(parsePreviewFrame(t1)).toMatchObject({ mime: 'image/png', promptId: null });
    const meta = Buffer.from(JSON.stringify({ prompt_id: 'p', image_type: 'image/jpeg' }));
    const head = Buffer.alloc(8);
    head.writeUInt32BE(4, 0);
    head.writeUInt32BE(meta.length, 4);
    const t4 = Buffer.concat([head, meta, Buffer.from('JPG')]);
    expect(parsePreviewFrame(t4)).toMatchObject({ mime: 'image/jpeg', promptId: 'p' });
    expect(parsePreviewFrame(t4)!.image.toString()).toBe('JPG');
  });
});
