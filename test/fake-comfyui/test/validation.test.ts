// POST /prompt: Phase A / Phase B validation error objects (§2.1.1), partial success, coercion, number/front.
import { describe, expect, it } from 'vitest';
import { fake, getJson, postJson, runPrompt, txt2img, until, WsClient } from './helpers.js';

const MODELS = { checkpoints: ['b.safetensors', 'a.safetensors'] };
const CKPT = 'a.safetensors';

function graph(edit: (p: Record<string, any>) => void = () => undefined): Record<string, any> {
  const p = txt2img({ ckpt: CKPT });
  edit(p);
  return p;
}

async function rejected(base: string, prompt: unknown): Promise<any> {
  const r = await postJson(base, '/prompt', { prompt });
  expect(r.status).toBe(400);
  return r.json;
}

/** The 400 body for a single failing node under output 9. */
function failed(nodeId: string, classType: string, errors: unknown[], details = '') {
  return {
    error: {
      type: 'prompt_outputs_failed_validation',
      message: 'Prompt outputs failed validation',
      details,
      extra_info: {},
    },
    node_errors: { [nodeId]: { errors, dependent_outputs: ['9'], class_type: classType } },
  };
}

describe('Phase A', () => {
  it('no_prompt, invalid_prompt (missing class_type / unknown class), prompt_no_outputs', async () => {
    const f = await fake({ models: MODELS });
    expect((await postJson(f.url, '/prompt', { client_id: 'x' })).json).toEqual({
      error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} },
      node_errors: {},
    });
    expect(
      await rejected(
        f.url,
        graph((p) => delete p['5'].class_type),
      ),
    ).toEqual({
      error: {
        type: 'invalid_prompt',
        message: 'Cannot execute because a node is missing the class_type property.',
        details: "Node ID '#5'",
        extra_info: {},
      },
      node_errors: {},
    });
    // Unknown classes are rejected even when nothing is connected to them.
    expect(
      await rejected(
        f.url,
        graph((p) => (p['77'] = { class_type: 'NoSuchNode', inputs: {} })),
      ),
    ).toEqual({
      error: {
        type: 'invalid_prompt',
        message: 'Cannot execute because node NoSuchNode does not exist.',
        details: "Node ID '#77'",
        extra_info: {},
      },
      node_errors: {},
    });
    expect(
      await rejected(
        f.url,
        graph((p) => delete p['9']),
      ),
    ).toEqual({
      error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} },
      node_errors: {},
    });
  });

  it('answers 500 (plain) for invalid JSON and accepts JSON sent as text/plain', async () => {
    const f = await fake();
    const bad = await postJson(f.url, '/prompt', '{"prompt": ', { 'Content-Type': 'application/json' });
    expect(bad.status).toBe(500);
    expect(bad.text).toContain('500 Internal Server Error');
    const res = await fetch(`${f.url}/prompt`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ prompt: txt2img() }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.text()).toMatch(/^\{"prompt_id": "[0-9a-f-]{36}", "number": 0, "node_errors": \{\}\}$/);
  });
});

describe('Phase B error objects', () => {
  it('required_input_missing', async () => {
    const f = await fake({ models: MODELS });
    expect(
      await rejected(
        f.url,
        graph((p) => delete p['3'].inputs.seed),
      ),
    ).toEqual(
      failed('3', 'KSampler', [
        {
          type: 'required_input_missing',
          message: 'Required input is missing',
          details: 'seed',
          extra_info: { input_name: 'seed' },
        },
      ]),
    );
  });

  it('bad_linked_input and return_type_mismatch', async () => {
    const f = await fake({ models: MODELS });
    const modelConfig = ['MODEL', { tooltip: 'The model used for denoising the input latent.' }];
    expect(
      await rejected(
        f.url,
        graph((p) => (p['3'].inputs.model = ['4'])),
      ),
    ).toEqual(
      failed('3', 'KSampler', [
        {
          type: 'bad_linked_input',
          message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
          details: 'model',
          extra_info: { input_name: 'model', input_config: modelConfig, received_value: ['4'] },
        },
      ]),
    );
    expect(
      await rejected(
        f.url,
        graph((p) => (p['3'].inputs.latent_image = ['4', 0])),
      ),
    ).toEqual(
      failed('3', 'KSampler', [
        {
          type: 'return_type_mismatch',
          message: 'Return type mismatch between linked nodes',
          details: 'latent_image, received_type(MODEL) mismatch input_type(LATENT)',
          extra_info: {
            input_name: 'latent_image',
            input_config: ['LATENT', { tooltip: 'The latent image to denoise.' }],
            received_type: 'MODEL',
            linked_node: ['4', 0],
          },
        },
      ]),
    );
  });

  it('invalid_input_type, value_smaller_than_min, value_bigger_than_max', async () => {
    const f = await fake({ models: MODELS });
    const stepsConfig = [
      'INT',
      { default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' },
    ];
    expect(
      await rejected(
        f.url,
        graph((p) => (p['3'].inputs.steps = '7.5')),
      ),
    ).toEqual(
      failed('3', 'KSampler', [
        {
          type: 'invalid_input_type',
          message: 'Failed to convert an input value to a INT value',
          details: "steps, 7.5, invalid literal for int() with base 10: '7.5'",
          extra_info: {
            input_name: 'steps',
            input_config: stepsConfig,
            received_value: '7.5',
            exception_message: "invalid literal for int() with base 10: '7.5'",
          },
        },
      ]),
    );
    const small = await rejected(
      f.url,
      graph((p) => (p['5'].inputs.width = 8)),
    );
    expect(small.node_errors['5'].errors).toEqual([
      {
        type: 'value_smaller_than_min',
        message: 'Value 8 smaller than min of 16',
        details: 'width',
        extra_info: {
          input_name: 'width',
          input_config: [
            'INT',
            { default: 512, min: 16, max: 16384, step: 8, tooltip: 'The width of the latent images in pixels.' },
          ],
          received_value: 8,
        },
      },
    ]);
    const big = await postJson(f.url, '/prompt', { prompt: graph((p) => (p['3'].inputs.cfg = 150)) });
    expect(big.json.node_errors['3'].errors[0]).toMatchObject({
      type: 'value_bigger_than_max',
      message: 'Value 150.0 bigger than max of 100.0',
      details: 'cfg',
    });
    expect(big.text).toContain('"received_value": 150.0');
  });

  it('value_not_in_list: python list repr, or (list of length N) and null config above 20 options', async () => {
    const f = await fake({ models: MODELS });
    expect(
      await rejected(
        f.url,
        graph((p) => (p['4'].inputs.ckpt_name = 'nope.safetensors')),
      ),
    ).toEqual({
      error: {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
        details: '',
        extra_info: {},
      },
      node_errors: {
        '4': {
          errors: [
            {
              type: 'value_not_in_list',
              message: 'Value not in list',
              details: "ckpt_name: 'nope.safetensors' not in ['a.safetensors', 'b.safetensors']",
              extra_info: {
                input_name: 'ckpt_name',
                input_config: [
                  ['a.safetensors', 'b.safetensors'],
                  { tooltip: 'The name of the checkpoint (model) to load.' },
                ],
                received_value: 'nope.safetensors',
              },
            },
          ],
          dependent_outputs: ['9'],
          class_type: 'CheckpointLoaderSimple',
        },
      },
    });
    const samplers = (await getJson(f.url, '/object_info/KSampler')).KSampler.input.required
      .sampler_name[0] as string[];
    const r = await rejected(
      f.url,
      graph((p) => (p['3'].inputs.sampler_name = 'bogus')),
    );
    expect(r.node_errors['3'].errors).toEqual([
      {
        type: 'value_not_in_list',
        message: 'Value not in list',
        details: `sampler_name: 'bogus' not in (list of length ${samplers.length})`,
        extra_info: { input_name: 'sampler_name', input_config: null, received_value: 'bogus' },
      },
    ]);
  });

  it('exception_during_inner_validation for a link to a missing node, exception_during_validation at the output', async () => {
    const f = await fake({ models: MODELS });
    const inner = await rejected(
      f.url,
      graph((p) => (p['8'].inputs.samples = ['99', 0])),
    );
    expect(inner.error.details).toBe('');
    const entry = inner.node_errors['8'];
    expect(entry.class_type).toBe('VAEDecode');
    expect(entry.dependent_outputs).toEqual(['9']);
    expect(entry.errors).toHaveLength(1);
    const e = entry.errors[0];
    expect(e).toMatchObject({
      type: 'exception_during_inner_validation',
      message: 'Exception when validating inner node',
      details: "'99'",
    });
    expect(Object.keys(e.extra_info)).toEqual([
      'input_name',
      'input_config',
      'exception_message',
      'exception_type',
      'traceback',
      'linked_node',
    ]);
    expect(e.extra_info).toMatchObject({
      input_name: 'images',
      input_config: ['IMAGE', { tooltip: 'The images to save.' }],
      exception_message: "'99'",
      exception_type: 'KeyError',
      linked_node: ['8', 0],
    });
    expect(Array.isArray(e.extra_info.traceback)).toBe(true);

    const outer = await rejected(
      f.url,
      graph((p) => (p['9'].inputs.images = ['99', 0])),
    );
    expect(outer.error.details).toBe("Exception when validating node: '99'");
    expect(outer.node_errors['9'].errors[0]).toMatchObject({
      type: 'exception_during_validation',
      message: 'Exception when validating node',
      details: "'99'",
      extra_info: { exception_type: 'KeyError' },
    });
  });

  it('custom validation: LoadImage with a missing file', async () => {
    const f = await fake({ models: MODELS });
    const prompt = {
      '1': { class_type: 'LoadImage', inputs: { image: 'missing.png' } },
      '9': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    };
    expect(await rejected(f.url, prompt)).toEqual(
      failed('1', 'LoadImage', [
        {
          type: 'custom_validation_failed',
          message: 'Custom validation failed for node',
          details: 'image - Invalid image file: missing.png',
          extra_info: { input_name: 'image' },
        },
      ]),
    );
  });
});

describe('accepted prompts', () => {
  it('partial success: 200 with node_errors, only valid outputs queued; dependent_outputs lists every blocked output', async () => {
    const f = await fake({ models: MODELS });
    const p = graph((g) => {
      g['10'] = { class_type: 'LoadImage', inputs: { image: 'nope.png' } };
      g['11'] = { class_type: 'SaveImage', inputs: { filename_prefix: 'other', images: ['10', 0] } };
    });
    const r = await postJson(f.url, '/prompt', { prompt: p, prompt_id: 'partial' });
    expect(r.status).toBe(200);
    expect(r.json.node_errors['10']).toMatchObject({ dependent_outputs: ['11'], class_type: 'LoadImage' });
    const h = await until(async () => (await getJson(f.url, '/history/partial')).partial, 'partial history');
    expect(h.prompt[4]).toEqual(['9']);
    expect(Object.keys(h.outputs)).toEqual(['9']);

    const shared = await rejected(
      f.url,
      graph((g) => {
        g['4'].inputs.ckpt_name = 'gone.safetensors';
        g['10'] = { class_type: 'PreviewImage', inputs: { images: ['8', 0] } };
      }),
    );
    expect(shared.node_errors['4'].dependent_outputs).toEqual(['9', '10']);
  });

  it('writes coerced values back (history shows them) and unwraps {"__value__": ...}', async () => {
    const f = await fake({ models: MODELS });
    const ws = await WsClient.connect(f.url);
    const p = graph((g) => {
      g['3'].inputs.steps = '3';
      g['3'].inputs.seed = 7.9;
      g['3'].inputs.cfg = 8;
      g['6'].inputs.text = { __value__: ['x', 'y'] };
      g['7'].inputs.text = 5;
    });
    const { promptId } = await runPrompt(f.url, ws, p);
    const raw = await (await fetch(`${f.url}/history/${promptId}`)).text();
    const inputs = JSON.parse(raw)[promptId].prompt[2];
    expect(inputs['3'].inputs).toMatchObject({ steps: 3, seed: 7, cfg: 8 });
    expect(inputs['6'].inputs.text).toBe("['x', 'y']");
    expect(inputs['7'].inputs.text).toBe('5');
    expect(raw).toContain('"cfg": 8.0');
    expect(raw).toContain('"denoise": 1.0');
  });

  it('partial_execution_targets: only listed outputs; empty or non-output lists give prompt_no_outputs', async () => {
    const f = await fake({ models: MODELS });
    const ws = await WsClient.connect(f.url);
    const p = graph((g) => (g['10'] = { class_type: 'PreviewImage', inputs: { images: ['8', 0] } }));
    const r = await postJson(f.url, '/prompt', { prompt: p, client_id: ws.sid, partial_execution_targets: ['10'] });
    await ws.waitDone(r.json.prompt_id);
    const h = (await getJson(f.url, `/history/${r.json.prompt_id}`))[r.json.prompt_id];
    expect(h.prompt[4]).toEqual(['10']);
    expect(Object.keys(h.outputs)).toEqual(['10']);
    expect(h.outputs['10'].images[0].type).toBe('temp');
    for (const targets of [[], ['4']]) {
      const x = await postJson(f.url, '/prompt', { prompt: p, partial_execution_targets: targets });
      expect([x.status, x.json.error.type]).toEqual([400, 'prompt_no_outputs']);
    }
  });

  it('number counter (advancing on failures too), front, explicit float number, client prompt_id', async () => {
    const f = await fake({ stepMs: 50, models: MODELS });
    f.control.hideNode('KSampler'); // nothing can be queued while we probe the counter
    const n0 = await postJson(f.url, '/prompt', { prompt: graph() });
    expect(n0.status).toBe(400);
    f.control.showNode('KSampler');
    const hold = await postJson(f.url, '/prompt', {
      prompt: graph((g) => (g['3'].inputs.steps = 100)),
      prompt_id: 'hold',
    });
    expect(hold.json.number).toBe(1);
    const a = await postJson(f.url, '/prompt', { prompt: graph((g) => (g['3'].inputs.seed = 1)), prompt_id: 'a' });
    const front = await postJson(f.url, '/prompt', {
      prompt: graph((g) => (g['3'].inputs.seed = 2)),
      prompt_id: 'front',
      front: true,
    });
    const explicit = await postJson(f.url, '/prompt', {
      prompt: graph((g) => (g['3'].inputs.seed = 3)),
      prompt_id: 'x',
      number: 5,
    });
    const none = await postJson(f.url, '/prompt', { prompt: graph((g) => (g['3'].inputs.seed = 4)), prompt_id: null });
    expect([a.json.number, front.json.number, explicit.json.number]).toEqual([2, -3, 5]);
    expect(explicit.text).toContain('"number": 5.0');
    expect(none.json.prompt_id).toBe('None');
    const q = await getJson(f.url, '/queue');
    expect(q.queue_running.map((i: unknown[]) => i[1])).toEqual(['hold']);
    const pending = [...q.queue_pending].sort((x: any[], y: any[]) => x[0] - y[0]).map((i: unknown[]) => i[1]);
    expect(pending).toEqual(['front', 'a', 'None', 'x']);
    for (const i of q.queue_pending) expect(i).toHaveLength(5);
    await postJson(f.url, '/interrupt', {});
    await until(async () => (await getJson(f.url, '/prompt')).exec_info.queue_remaining === 0, 'queue drained');
    expect(f.control.stats().executed).toEqual(['hold', 'front', 'a', 'None', 'x']);
  });

  it('accepts seed 2^64-1 and echoes it intact; 2^64 is bigger than max', async () => {
    const f = await fake({ models: MODELS });
    const ws = await WsClient.connect(f.url);
    const body = JSON.stringify({ prompt: graph(), client_id: ws.sid, prompt_id: 'big' }).replace(
      '"seed":5',
      '"seed":18446744073709551615',
    );
    expect(body).toContain('18446744073709551615');
    const r = await postJson(f.url, '/prompt', body);
    expect(r.status).toBe(200);
    await ws.waitDone('big');
    const raw = await (await fetch(`${f.url}/history/big`)).text();
    expect(raw).toContain('"seed": 18446744073709551615');
    const over = await postJson(f.url, '/prompt', body.replace('18446744073709551615', '18446744073709551616'));
    expect(over.status).toBe(400);
    expect(over.json.node_errors['3'].errors[0].message).toBe(
      'Value 18446744073709551616 bigger than max of 18446744073709551615',
    );
  });
});
