// Malformed and oversized UI workflows: every one is a conversion error naming a node, never a throw (a throw
// would be a 500 from POST /v1/templates). The last test mutates valid workflows at random (seeded) and checks
// only that: each result is { ok } or { errors }.
import { describe, expect, it } from 'vitest';
import { uiToApi } from './convert.js';
import { MAX_EXEC_NODES, MAX_SUBGRAPH_DEPTH } from './flatten.js';
import { txt2imgBuilder } from './fixtures/graphs.js';
import { objectInfo, UiBuilder } from './fixtures/support.js';
import type { GroupNodeDef } from './groupdef.js';
import { MAX_LINK_STEPS } from './resolve.js';
import type { UiSubgraphDef, UiWorkflow } from './workflow.js';

const info = objectInfo();
const subgraphId = (i: number) => `5e0f1c2a-0000-4000-8000-${String(i).padStart(12, '0')}`;

function errorsOf(workflow: unknown) {
  const result = uiToApi(workflow, info);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

/** Empty latent 1 → `n` Reroutes → VAEDecode 2. */
function rerouteChain(n: number): UiWorkflow {
  const b = new UiBuilder().node(1, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512, 1] });
  let previous = 1;
  for (let i = 0; i < n; i++) {
    b.node(100 + i, 'Reroute', { inputs: [['', '*']], outputs: ['*'] }).link(previous, 0, 100 + i, '');
    previous = 100 + i;
  }
  return b
    .node(2, 'VAEDecode', { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
    .link(previous, 0, 2, 'samples')
    .workflow();
}

/** Definition i holds `width` instances of definition i + 1; the last holds an empty latent. */
function nestedSubgraphs(depth: number, width = 1): UiWorkflow {
  const defs: UiSubgraphDef[] = [];
  for (let i = 0; i < depth; i++) {
    const b = new UiBuilder();
    if (i === depth - 1) b.node(1, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512, 1] });
    else for (let k = 1; k <= width; k++) b.node(k, subgraphId(i + 1), {});
    defs.push(b.subgraph(subgraphId(i), `Level ${i}`, [], []));
  }
  return new UiBuilder().node(1, subgraphId(0), {}).workflow(0.4, { definitions: { subgraphs: defs } });
}

describe('limits on what a workflow expands to', () => {
  it('resolves a long Reroute chain, and rejects one longer than the step limit instead of overflowing the stack', () => {
    const ok = uiToApi(rerouteChain(MAX_LINK_STEPS / 2 - 10), info);
    expect(ok.ok && ok.graph['2']?.inputs.samples).toEqual(['1', 0]);
    const errors = errorsOf(rerouteChain(MAX_LINK_STEPS / 2 + 10));
    expect(errors).toEqual([
      {
        node: expect.any(String),
        type: 'Reroute',
        reason: `a link passes through more than ${MAX_LINK_STEPS} steps (Reroutes, bypassed nodes, subgraph boundaries)`,
      },
    ]);
  });

  it('rejects subgraphs nested deeper than the depth limit, naming the instance', () => {
    expect(uiToApi(nestedSubgraphs(MAX_SUBGRAPH_DEPTH), info).ok).toBe(true);
    const errors = errorsOf(nestedSubgraphs(MAX_SUBGRAPH_DEPTH + 1));
    expect(errors).toEqual([
      {
        node: Array(MAX_SUBGRAPH_DEPTH + 1)
          .fill('1')
          .join(':'),
        type: subgraphId(MAX_SUBGRAPH_DEPTH),
        reason: `subgraphs nest more than ${MAX_SUBGRAPH_DEPTH} levels deep`,
      },
    ]);
    expect(errorsOf(nestedSubgraphs(3000))[0]?.reason).toContain('levels deep');
  });

  it('rejects definitions that double per level before building millions of nodes', () => {
    // 2^14 leaves and as many instances above them: past the node limit, from a few KB of JSON.
    const errors = errorsOf(nestedSubgraphs(15, 2));
    expect(errors).toEqual([
      {
        node: expect.any(String),
        type: expect.any(String),
        reason: `the workflow expands to more than ${MAX_EXEC_NODES} nodes (subgraph instances included)`,
      },
    ]);
  });

  it('rejects group node instances whose inner nodes add up past the node limit, once', () => {
    const big: GroupNodeDef = {
      nodes: Array.from({ length: 1000 }, () => ({
        id: 0,
        type: 'EmptyLatentImage',
        mode: 0,
        widgets_values: [512, 512, 1],
      })),
      links: [],
      external: [],
    };
    const b = new UiBuilder();
    for (let i = 1; i <= 30; i++) b.node(i, 'workflow>Big', { widgets: [] });
    const errors = errorsOf(b.workflow(0.4, { extra: { groupNodes: { Big: big } } }));
    expect(errors).toEqual([
      {
        node: '20',
        type: 'workflow>Big',
        reason: `the workflow expands to more than ${MAX_EXEC_NODES} nodes (group node inner nodes included)`,
      },
    ]);
  });
});

describe('malformed nodes, in the root graph or in any subgraph definition', () => {
  it('names the node and the field for each', () => {
    const w = txt2imgBuilder().workflow() as unknown as Record<string, any>;
    w.nodes[0].type = 7;
    w.nodes[1].inputs = 'clip';
    w.nodes[2].widgets_values = 'blurry';
    w.nodes[3].inputs = [{ name: 'model', widget: 'model' }, 5];
    delete w.nodes[4].id;
    expect(errorsOf(w)).toEqual([
      { node: '4', type: '', reason: 'malformed node: type: expected a string, got 7' },
      { node: '6', type: 'CLIPTextEncode', reason: "malformed node: inputs: expected an array, got 'clip'" },
      {
        node: '7',
        type: 'CLIPTextEncode',
        reason: "malformed node: widgets_values: expected an array or an object, got 'blurry'",
      },
      {
        node: '5',
        type: 'EmptyLatentImage',
        reason:
          "malformed node: inputs[0].widget: expected an object, got 'model'; inputs[1]: expected an object, got 5",
      },
      { node: 'nodes[4]', type: 'KSampler', reason: expect.stringContaining('malformed node: id: ') },
    ]);
  });

  it('checks nested definitions too, which an outline of the top-level list does not reach', () => {
    const inner = { id: subgraphId(2), name: 'Inner', nodes: [{ id: 1, type: 'VAEDecode', inputs: 5 }], links: [] };
    const outer = new UiBuilder().node(1, subgraphId(2), {}).subgraph(subgraphId(1), 'Outer', [], []);
    const w = new UiBuilder().node(1, subgraphId(1), {}).workflow(0.4, {
      definitions: { subgraphs: [{ ...outer, definitions: { subgraphs: [inner as unknown as UiSubgraphDef] } }] },
    });
    expect(errorsOf(w)).toEqual([
      {
        node: '1',
        type: 'VAEDecode',
        reason: `malformed node in subgraph definition 'Inner' (${subgraphId(2)}): inputs: expected an array, got 5`,
      },
    ]);
  });
});

describe('odd subgraph definition lists', () => {
  const latent = () => new UiBuilder().node(1, 'EmptyLatentImage', { outputs: ['LATENT'], widgets: [512, 512, 1] });

  it('ignores nested definitions lists that are not arrays', () => {
    for (const subgraphs of [5, 'x', null, { 0: {} }]) {
      const inner = { id: subgraphId(1), nodes: [], definitions: { subgraphs } };
      expect(
        uiToApi(latent().workflow(0.4, { definitions: { subgraphs: [inner as unknown as UiSubgraphDef] } }), info).ok,
      ).toBe(true);
    }
  });

  it('reads definitions nested thousands of levels deep without recursion', () => {
    let def: Record<string, unknown> = { id: subgraphId(0), nodes: [] };
    for (let i = 1; i < 20000; i++) def = { id: subgraphId(i), nodes: [], definitions: { subgraphs: [def] } };
    expect(
      uiToApi(latent().workflow(0.4, { definitions: { subgraphs: [def as unknown as UiSubgraphDef] } }), info).ok,
    ).toBe(true);
  });
});

/** Valid workflows to mutate: a group node with a Reroute and a PrimitiveNode around it, and a subgraph instance. */
function seeds(): UiWorkflow[] {
  const group: GroupNodeDef = {
    nodes: [
      {
        id: 8,
        type: 'VAEDecode',
        mode: 0,
        inputs: [
          { name: 'samples', type: 'LATENT', link: 1 },
          { name: 'vae', type: 'VAE', link: 2 },
        ],
        outputs: [{ name: 'IMAGE', type: 'IMAGE', links: [3] }],
        widgets_values: [],
      },
      {
        id: 9,
        type: 'SaveImage',
        mode: 0,
        inputs: [{ name: 'images', type: 'IMAGE', link: 3 }],
        outputs: [],
        widgets_values: ['fox'],
      },
    ],
    links: [
      [null, 0, 0, 0, 5, 'LATENT'],
      [null, 2, 0, 1, 4, 'VAE'],
      [0, 0, 1, 0, 8, 'IMAGE'],
    ],
    external: [],
    config: { 1: { input: { filename_prefix: { name: 'prefix' } } } },
  };
  const grouped = new UiBuilder()
    .node(4, 'CheckpointLoaderSimple', {
      outputs: ['MODEL', 'CLIP', 'VAE'],
      widgets: ['v1-5-pruned-emaonly.safetensors'],
    })
    .node(5, 'EmptyLatentImage', {
      inputs: [{ name: 'width', type: 'INT', widget: { name: 'width' } }],
      outputs: ['LATENT'],
      widgets: [512, 512, 1],
    })
    .node(6, 'PrimitiveNode', { outputs: ['INT'], widgets: [768, 'fixed'] })
    .node(7, 'Reroute', { inputs: [['', '*']], outputs: ['*'] })
    .node(10, 'workflow>Decode', {
      inputs: [
        ['samples', 'LATENT'],
        ['vae', 'VAE'],
      ],
      widgets: ['castle'],
    })
    .link(6, 0, 5, 'width')
    .link(5, 0, 7, '')
    .link(7, 0, 10, 'samples')
    .link(4, 2, 10, 'vae')
    .workflow(0.4, { extra: { groupNodes: { Decode: group } } });
  const inner = new UiBuilder()
    .node(1, 'VAEDecode', { inputs: [['samples', 'LATENT'], 'vae'], outputs: ['IMAGE'] })
    .node(2, 'SaveImage', {
      inputs: [['images', 'IMAGE'], { name: 'filename_prefix', type: 'STRING', widget: { name: 'filename_prefix' } }],
      widgets: ['inner'],
    })
    .link(-10, 0, 1, 'samples')
    .link(-10, 1, 1, 'vae')
    .link(-10, 2, 2, 'filename_prefix')
    .link(1, 0, 2, 'images')
    .subgraph(
      subgraphId(1),
      'Decode',
      [
        ['samples', 'LATENT'],
        ['vae', 'VAE'],
        ['prefix', 'STRING'],
      ],
      [],
    );
  const b = txt2imgBuilder();
  b.nodes.splice(
    b.nodes.findIndex((n) => n.id === 8),
    2,
  );
  b.links.splice(
    b.links.findIndex((l) => l[3] === 8),
    3,
  );
  const sub = b
    .node(20, subgraphId(1), {
      inputs: [['samples', 'LATENT'], ['vae', 'VAE'], { name: 'prefix', type: 'STRING', widget: { name: 'prefix' } }],
      widgets: ['outer'],
    })
    .link(3, 0, 20, 'samples')
    .link(4, 2, 20, 'vae')
    .workflow(1, { definitions: { subgraphs: [inner] } });
  return [grouped, sub];
}

describe('random damage to valid workflows', () => {
  it('the seeds convert', () => {
    for (const seed of seeds()) expect(uiToApi(seed, info)).toMatchObject({ ok: true });
  });

  it('never throws: every result is a graph or errors', () => {
    const odd: unknown[] = [
      5,
      -1,
      1.5,
      0,
      99,
      'x',
      '',
      '0',
      null,
      true,
      [],
      {},
      [null],
      [[]],
      [5],
      ['x'],
      { name: 5 },
      [{}],
      [[null, null]],
      -10,
      -20,
      '-10',
      'Reroute',
      'PrimitiveNode',
      'workflow>Decode',
    ];
    const keys = [
      'definitions',
      'subgraphs',
      'inputs',
      'outputs',
      'links',
      'widget',
      'groupNodes',
      'config',
      'external',
      'label',
      'title',
      'linkIds',
      'nodes',
      'id',
      'type',
      'mode',
      'widgets_values',
      'link',
      'name',
      'input',
      'output',
      'visible',
      'index',
    ];
    let state = 20250101;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
    const paths = (value: unknown, path: Array<string | number> = [], out: Array<Array<string | number>> = []) => {
      if (path.length > 0) out.push(path);
      if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...path, i], out));
      else if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) paths(v, [...path, k], out);
      return out;
    };
    const base = seeds();
    const thrown: string[] = [];
    for (let round = 0; round < 800; round++) {
      const workflow = structuredClone(pick(base)) as Record<string, any>;
      const changes: string[] = [];
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const path = pick(paths(workflow));
        const parent: any = path.slice(0, -1).reduce((o: any, k) => o[k], workflow);
        const key = path[path.length - 1]!;
        const r = random();
        if (r < 0.2 && parent[key] && typeof parent[key] === 'object' && !Array.isArray(parent[key]))
          parent[key][pick(keys)] = structuredClone(pick(odd));
        else if (r < 0.3 && !Array.isArray(parent)) delete parent[key];
        else parent[key] = structuredClone(pick(odd));
        changes.push(path.join('.'));
      }
      try {
        const result = uiToApi(workflow, info);
        expect(result.ok ? typeof result.graph : result.errors.length).toBeTruthy();
      } catch (err) {
        thrown.push(`${changes.join(' | ')}: ${(err as Error).message}`);
      }
    }
    expect(thrown).toEqual([]);
  });
});
