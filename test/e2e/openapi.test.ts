import type { RequestListener } from 'node:http';
import { expect, it } from 'vitest';
import { startFakeComfy } from '../fake-comfyui/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { jsonBody } from '../helpers/http.js';

/** The parts of an express 5 (router 2) layer that say which routes it holds. */
interface Layer {
  rawPath?: unknown;
  handle: { stack?: Layer[]; scope?: string };
  route?: { path: string; methods: Record<string, boolean>; stack: Layer[] };
}

/** `METHOD /path/{param}` -> the token scope its `need()` middleware asks for (null: none), walking mounted routers. */
function registeredRoutes(
  stack: Layer[],
  prefix = '',
  out = new Map<string, string | null>(),
): Map<string, string | null> {
  for (const layer of stack) {
    if (layer.route) {
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      const scope = layer.route.stack.map((l) => l.handle.scope).find((s) => s !== undefined) ?? null;
      for (const method of Object.keys(layer.route.methods))
        if (method !== '_all') out.set(`${method.toUpperCase()} ${path}`, scope);
    } else if (layer.handle.stack) {
      registeredRoutes(
        layer.handle.stack,
        typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? prefix + layer.rawPath : prefix,
        out,
      );
    }
  }
  return out;
}

it('the OpenAPI document lists every /v1 route the app registers, with the scope it needs, and nothing else', async () => {
  await using fake = await startFakeComfy();
  await using g = await startTestGateway({ backends: [{ name: 'a', url: fake.url }] });
  const app = g.gateway.server.listeners('request')[0] as RequestListener & { router: { stack: Layer[] } };
  const registered = new Map(
    [...registeredRoutes(app.router.stack)].filter(([route]) => route.split(' ')[1]!.startsWith('/v1/')),
  );
  expect(registered.size).toBeGreaterThan(40);

  const doc = await jsonBody(await g.fetch('/v1/openapi.json'));
  const documented = new Map<string, string | null>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { description: string }>>)) {
    for (const [method, op] of Object.entries(ops))
      documented.set(`${method.toUpperCase()} ${path}`, /^Token scope: (\w+)$/.exec(op.description)?.[1] ?? null);
  }
  expect(
    [...registered.keys()].filter((r) => !documented.has(r)),
    'registered, not documented',
  ).toEqual([]);
  expect(
    [...documented.keys()].filter((r) => !registered.has(r)),
    'documented, not registered',
  ).toEqual([]);
  expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(registered));

  // Shapes come from the shared zod schemas.
  const body = (p: string, m: string) => doc.paths[p][m].requestBody.content['application/json'].schema;
  const ok = (p: string, m: string, status: number) =>
    doc.paths[p][m].responses[status].content['application/json'].schema;
  expect(Object.keys(ok('/v1/jobs/{id}/chain', 'get', 200).properties)).toEqual([
    'steps',
    'pending',
    'state',
    'stoppedReason',
  ]);
  expect(body('/v1/templates', 'post').properties.png).toBeDefined();
  expect(ok('/v1/templates', 'get', 200).items.properties.params).toBeDefined();
  expect(body('/v1/presets', 'post').properties.negative).toBeDefined();
  expect(ok('/v1/presets', 'get', 200).items.properties.prefix).toBeDefined();
  expect(body('/v1/jobs', 'post').properties.then.items.properties.template).toBeDefined();
});
