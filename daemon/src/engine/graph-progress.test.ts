import type { ComfyGraph } from '@comfygate/shared';
import { describe, expect, it } from 'vitest';
import { GraphProgress, nodesToRun } from './graph-progress.js';

/** 1 EmptyImage → 2 ImageBlur → 3 SaveImage, 4 PreviewImage of 1, and 5 an ImageInvert nothing uses. */
const graph: ComfyGraph = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8 } },
  '2': { class_type: 'ImageBlur', inputs: { image: ['1', 0] } },
  '3': { class_type: 'SaveImage', inputs: { images: ['2', 0] } },
  '4': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
  '5': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
};
const OUTPUTS = new Set(['SaveImage', 'PreviewImage']);

describe('nodes to run', () => {
  it('are the output nodes and what feeds them; every node when no output class is known', () => {
    expect([...nodesToRun(graph, OUTPUTS)].sort()).toEqual(['1', '2', '3', '4']);
    expect(nodesToRun(graph, null).size).toBe(5);
    expect(nodesToRun(graph, new Set(['SomethingElse'])).size).toBe(5);
  });
});

describe('graph progress', () => {
  it('counts a node done when the next one starts, refined by the current node steps', () => {
    const p = new GraphProgress(graph, OUTPUTS);
    p.cached([]);
    expect(p.snapshot()).toMatchObject({ fraction: 0, nodesDone: 0, nodesTotal: 4, node: null });
    p.executing('1');
    expect(p.snapshot()).toMatchObject({ fraction: 0, node: '1', nodeClass: 'EmptyImage', value: 0, max: 0 });
    p.executing('2');
    p.step('2', 5, 10);
    expect(p.snapshot()).toMatchObject({
      fraction: (1 + 0.5) / 4,
      nodesDone: 1,
      node: '2',
      nodeClass: 'ImageBlur',
      value: 5,
      max: 10,
    });
    p.step('2', 10, 10);
    p.executing('3');
    expect(p.snapshot()).toMatchObject({ fraction: 2 / 4, nodesDone: 2, node: '3', value: 0, max: 0 });
    p.complete();
    expect(p.snapshot()).toMatchObject({ fraction: 1, nodesDone: 4, node: null, nodeClass: null });
  });

  it('counts cached nodes at once, and never counts a node twice or one ComfyUI does not run', () => {
    const p = new GraphProgress(graph, OUTPUTS);
    p.cached(['1', '2', '5', 7]);
    expect(p.snapshot()).toMatchObject({ fraction: 2 / 4, nodesDone: 2 });
    p.executing('4');
    p.executing('4'); // a re-sent executing (socket reconnect) is the same node
    p.executing('3');
    expect(p.snapshot()).toMatchObject({ fraction: 3 / 4, nodesDone: 3 });
    p.cached(['3', '3']);
    expect(p.snapshot()).toMatchObject({ fraction: 1, nodesDone: 4 });
  });

  it('a sampler step of a node never announced by executing still moves to that node', () => {
    const p = new GraphProgress(graph, null);
    p.step('2', 1, 4);
    expect(p.snapshot()).toMatchObject({ node: '2', nodeClass: 'ImageBlur', fraction: 0.25 / 5 });
    p.step('2', Number.NaN, 4); // a malformed message keeps the last good step
    expect(p.snapshot()).toMatchObject({ value: 1, max: 4 });
  });
});
