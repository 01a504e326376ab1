// /v1/backends counts model files from the loaders' lists, per folder; samplers, schedulers and other
// combo options are not models.
import { describe, expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

describe('backend capabilities', () => {
  it('reports model files per folder and counts nothing else', async () => {
    await using fake = await startFakeComfy({
      models: {
        checkpoints: ['b.safetensors', 'a.safetensors'],
        loras: ['style.safetensors'],
        upscale_models: ['4x.pth'],
        vae: [],
      },
    });
    await using empty = await startFakeComfy({ models: { checkpoints: [], loras: [], upscale_models: [], vae: [] } });
    await using g = await startTestGateway({
      backends: [
        { name: 'full', url: fake.url },
        { name: 'empty', url: empty.url },
      ],
    });
    const backends = await waitFor(
      async () => {
        const bs = await g.client.backends();
        return bs.every((b) => b.models !== null) ? bs : null;
      },
      { what: 'capabilities of both backends' },
    );
    const full = backends.find((b) => b.name === 'full')!;
    expect(full.modelsByFolder).toEqual({
      checkpoints: ['a.safetensors', 'b.safetensors'],
      loras: ['style.safetensors'],
      upscale_models: ['4x.pth'],
    });
    expect(full.models).toBe(4);
    const none = backends.find((b) => b.name === 'empty')!;
    // The fake has 40+ samplers, schedulers and crop modes in its combos: none of them is a model.
    expect([none.models, none.modelsByFolder]).toEqual([0, {}]);
    expect(full.nodes).toBeGreaterThan(10);
  });
});
