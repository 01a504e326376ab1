import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import type { Job } from '@comfygate/shared';
import { GatewayError } from '../../errors.js';
import { toV2 } from './errors.js';
import { outputType, v2Job, v2JobError, v2Progress, v2Status } from './mapping.js';

const req = { protocol: 'http', headers: { host: '127.0.0.1:8288' }, baseUrl: '/api/v2' } as unknown as Request;
const graph = JSON.stringify({
  '3': { class_type: 'KSampler', inputs: {} },
  '9': { class_type: 'SaveImage', inputs: {} },
});
const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1',
  state: 'queued',
  priority: 0,
  client: 'c',
  owner: { id: 'local-admin', name: 'admin' },
  backend: null,
  attempts: 0,
  maxAttempts: 3,
  error: null,
  progress: null,
  outputs: [],
  texts: [],
  metadata: {},
  parentJobId: null,
  then: [],
  createdAt: 0,
  updatedAt: 0,
  startedAt: null,
  finishedAt: null,
  ...over,
});

describe('v2 status', () => {
  it('folds our seven states into the v2 ones, canceling while a cancel is pending on an active job', () => {
    const cases: [Job['state'], boolean, string][] = [
      ['queued', false, 'queued'],
      ['dispatched', false, 'queued'],
      ['dispatched', true, 'canceling'],
      ['running', false, 'running'],
      ['postprocessing', false, 'running'],
      ['running', true, 'canceling'],
      ['succeeded', true, 'succeeded'],
      ['failed', false, 'failed'],
      ['canceled', true, 'canceled'],
    ];
    for (const [state, cancel, want] of cases)
      expect(v2Status(job({ state }), cancel), `${state}/${cancel}`).toBe(want);
  });
});

describe('v2 shapes', () => {
  it('types outputs from their content type, nothing dropped', () => {
    expect(
      ['image/png', 'video/mp4', 'audio/mpeg', 'text/plain', 'application/json', 'model/gltf-binary'].map((t) =>
        outputType(t, 'x'),
      ),
    ).toEqual(['image', 'video', 'audio', 'text', 'text', 'file']);
    expect(outputType('application/octet-stream', 'a.latent')).toBe('latent');
  });

  it('names the failing node of a ComfyUI execution error', () => {
    const e = v2JobError({
      code: 'comfy_execution',
      message: 'boom',
      details: { node_id: '3', node_type: 'KSampler' },
    });
    expect(e).toEqual({
      code: 'node_execution_error',
      message: 'boom',
      node_id: '3',
      class_type: 'KSampler',
      traceback: null,
    });
    expect(v2JobError({ code: 'no_capable_backend', message: 'm' })).toMatchObject({
      code: 'no_capable_backend',
      node_id: null,
    });
  });

  it('normalises node progress to 0..1 with the node class and step counts', () => {
    const p = { fraction: 0.625, nodesDone: 1, nodesTotal: 2, node: '3', nodeClass: 'KSampler', value: 5, max: 20 };
    expect(v2Progress('running', p, graph)).toEqual({
      value: 0.625,
      nodes_done: 1,
      nodes_total: 2,
      current_node: '3',
      current_node_class: 'KSampler',
      step: 5,
      steps: 20,
      message: 'KSampler 5/20',
    });
    const imageOnly = { ...p, node: '9', nodeClass: 'ImageBlur', value: 0, max: 0 };
    expect(v2Progress('running', imageOnly, graph)).toMatchObject({ step: null, steps: null, message: 'ImageBlur' });
    expect(v2Progress('queued', null, graph)).toBeNull();
    expect(v2Progress('succeeded', null, graph)).toMatchObject({ value: 1, nodes_done: 2, nodes_total: 2 });
  });

  it('builds absolute links under the mount path and RFC 3339 times', () => {
    const j = v2Job(req, job({ state: 'running', startedAt: 1_000 }), { cancelRequested: false, graphJson: graph }, 4);
    expect(j.urls.self).toBe('http://127.0.0.1:8288/api/v2/jobs/j1');
    expect(j.urls.cancel).toBe('http://127.0.0.1:8288/api/v2/jobs/j1/cancel');
    expect([j.created_at, j.started_at, j.queue_position]).toEqual([
      '1970-01-01T00:00:00.000Z',
      '1970-01-01T00:00:01.000Z',
      null,
    ]);
    expect(j.metrics).toEqual({ queue_ms: 1_000, execution_ms: null });
  });
});

describe('v2 error codes', () => {
  it('maps gateway codes and hides internal messages', () => {
    const map = (code: GatewayError['code']) => {
      const e = toV2(new GatewayError({ code, message: 'secret detail' }));
      return [e.httpStatus, e.v2code];
    };
    expect(map('idempotency_mismatch')).toEqual([422, 'idempotency_key_reuse']);
    expect(map('missing_asset')).toEqual([422, 'missing_asset']);
    expect(map('rate_limited')).toEqual([429, 'rate_limited']);
    expect(map('storage_error')).toEqual([500, 'upstream_error']);
    expect(toV2(new Error('secret detail')).message).not.toContain('secret');
    expect(toV2(Object.assign(new Error('x'), { type: 'entity.too.large', status: 413 })).httpStatus).toBe(413);
  });
});
