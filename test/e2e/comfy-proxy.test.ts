import crypto from 'node:crypto';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { request } from 'undici';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { txt2img } from '../helpers/graphs.js';
import { waitFor } from '../helpers/wait.js';
import { jsonBody } from '../helpers/http.js';

const ORIGIN = 'http://localhost:5173';

it('a ComfyUI-protocol client runs a prompt end to end through /comfy with an Origin ComfyUI would reject', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({
    backends: [{ name: 'a', url: fake.url }],
    security: { allowedOrigins: [ORIGIN] },
  });

  // ComfyUI itself refuses this browser origin (protocol §4.1).
  const direct = await request(`${fake.url}/prompt`, {
    method: 'POST',
    headers: { origin: ORIGIN },
    body: JSON.stringify({ prompt: txt2img() }),
  });
  await direct.body.text();
  expect(direct.statusCode).toBe(403);

  const clientId = crypto.randomUUID().replaceAll('-', '');
  const wsUrl = `${g.url.replace('http', 'ws')}/comfy/ws?clientId=${clientId}`;
  const ws = new WebSocket(wsUrl, ['comfygate.v1', `comfygate.token.${g.token}`], { headers: { origin: ORIGIN } });
  const messages: { type: string; data: Record<string, unknown> }[] = [];
  ws.on('message', (m, binary) => !binary && messages.push(JSON.parse(m.toString())));
  await new Promise((r, j) => (ws.on('open', r), ws.on('error', j)));
  await waitFor(() => messages.find((m) => m.type === 'status'), { what: 'initial status' });
  expect(messages[0]!.data.sid).toBe(clientId);

  const headers = { origin: ORIGIN, authorization: `Bearer ${g.token}`, 'content-type': 'application/json' };
  const post = await fetch(`${g.url}/comfy/prompt`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ prompt: txt2img({ seed: 77 }), client_id: clientId }),
  });
  expect(post.status).toBe(200);
  expect(post.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  const { prompt_id: promptId } = await jsonBody(post);
  await waitFor(
    () => messages.find((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId),
    { what: 'executing null' },
  );
  const types = messages.filter((m) => m.data.prompt_id === promptId).map((m) => m.type);
  expect(types[0]).toBe('execution_start');
  expect(types).toContain('executed');

  const history = await jsonBody(await fetch(`${g.url}/comfy/history/${promptId}`, { headers }));
  const image = history[promptId].outputs['9'].images[0];
  const view = await fetch(
    `${g.url}/comfy/view?filename=${encodeURIComponent(image.filename)}&subfolder=${image.subfolder}&type=${image.type}`,
    { headers },
  );
  expect(view.status).toBe(200);
  expect(view.headers.get('content-type')).toBe('image/png');
  expect(
    Buffer.from(await view.arrayBuffer())
      .subarray(1, 4)
      .toString(),
  ).toBe('PNG');
  ws.close();

  // A named backend, and an unknown one.
  expect((await fetch(`${g.url}/comfy/@a/system_stats`, { headers })).status).toBe(200);
  const unknown = await fetch(`${g.url}/comfy/@nope/system_stats`, { headers });
  expect([unknown.status, (await jsonBody(unknown)).error.code]).toEqual([404, 'not_found']);
  // And the passthrough is not open to anyone.
  expect((await fetch(`${g.url}/comfy/system_stats`)).status).toBe(401);
});
