import { z } from 'zod';
import {
  AddBackend,
  Asset,
  Backend,
  Batch,
  ChainView,
  ConfirmPairing,
  CreateBatch,
  CreatedToken,
  CreateJob,
  CreatePreset,
  CreateTemplate,
  CreateToken,
  CreateWebhook,
  ErrorBody,
  GcReport,
  Job,
  ListBatchesResponse,
  ListJobsResponse,
  PairRequest,
  PairStarted,
  PairStatus,
  PendingPairing,
  Preset,
  Stats,
  Template,
  TemplateGraph,
  Token,
  Webhook,
  WebhookDelivery,
  WatchFile,
  WatchRule,
  WatchRuleView,
} from '@comfygate/shared';
import { LoginCode, RetentionSettings, SessionInfo, SetPriority, SignIn } from '@comfygate/shared';

type Op = { summary: string; scope?: string; body?: z.ZodType; ok: [number, z.ZodType | null]; params?: string[] };

/** Every route of /v1 (test/e2e/openapi.test.ts holds this list against the routes the app registers, scopes included). */
const ROUTES: Record<string, Record<string, Op>> = {
  '/v1/openapi.json': { get: { summary: 'This document', scope: 'read', ok: [200, null] } },
  '/v1/jobs': {
    post: {
      summary: 'Create a job (Idempotency-Key header honoured)',
      scope: 'submit',
      body: CreateJob,
      ok: [201, Job],
    },
    get: { summary: 'List jobs (state, client, limit, before)', scope: 'read', ok: [200, ListJobsResponse] },
  },
  '/v1/jobs/{id}': {
    get: { summary: 'Get a job', scope: 'read', ok: [200, Job], params: ['id'] },
    delete: { summary: 'Delete a finished job', scope: 'submit', ok: [204, null], params: ['id'] },
  },
  '/v1/jobs/{id}/cancel': {
    post: { summary: 'Cancel a job (idempotent)', scope: 'submit', ok: [200, Job], params: ['id'] },
  },
  '/v1/jobs/{id}/retry': {
    post: { summary: 'Re-queue a failed or canceled job', scope: 'submit', ok: [200, Job], params: ['id'] },
  },
  '/v1/jobs/{id}/priority': {
    post: {
      summary: "Change a queued job's priority (its place in the queue)",
      scope: 'submit',
      body: SetPriority,
      ok: [200, Job],
      params: ['id'],
    },
  },
  '/v1/jobs/{id}/preview': { get: { summary: 'Latest preview image', scope: 'read', ok: [200, null], params: ['id'] } },
  '/v1/jobs/{id}/chain': {
    get: {
      summary: 'The chain a job belongs to: its steps, the steps not made yet, an overall state',
      scope: 'read',
      ok: [200, ChainView],
      params: ['id'],
    },
  },
  '/v1/outputs/{id}': {
    get: { summary: 'Download an output (ETag, Range)', scope: 'read', ok: [200, null], params: ['id'] },
  },
  '/v1/assets': {
    post: { summary: 'Upload an image (raw body or multipart); answers its sha256', scope: 'submit', ok: [201, Asset] },
  },
  '/v1/assets/{sha256}': {
    get: { summary: 'Download an asset (HEAD to test presence)', scope: 'read', ok: [200, null], params: ['sha256'] },
  },
  '/v1/backends': {
    get: { summary: 'Backends with health and load', scope: 'read', ok: [200, z.array(Backend)] },
    post: { summary: 'Add a backend at runtime', scope: 'admin', body: AddBackend, ok: [201, Backend] },
  },
  '/v1/backends/{name}': {
    delete: { summary: 'Remove an idle backend', scope: 'admin', ok: [204, null], params: ['name'] },
  },
  '/v1/backends/{name}/drain': {
    post: { summary: 'Drain (or undrain) a backend', scope: 'admin', ok: [200, Backend], params: ['name'] },
  },
  '/v1/stats': { get: { summary: 'Counts by state and backend health', scope: 'read', ok: [200, Stats] } },
  '/v1/tokens': {
    get: { summary: 'List tokens', scope: 'admin', ok: [200, z.array(Token)] },
    post: { summary: 'Create a scoped token', scope: 'admin', body: CreateToken, ok: [201, CreatedToken] },
  },
  '/v1/tokens/{id}': { delete: { summary: 'Revoke a token', scope: 'admin', ok: [204, null], params: ['id'] } },
  '/v1/pair': {
    post: { summary: 'Start pairing (no token needed)', body: PairRequest, ok: [201, PairStarted] },
    get: { summary: 'Pairings waiting for confirmation', scope: 'admin', ok: [200, z.array(PendingPairing)] },
  },
  '/v1/pair/{pairingId}': {
    get: { summary: 'Pairing status; the token once confirmed', ok: [200, PairStatus], params: ['pairingId'] },
  },
  '/v1/pair/confirm': {
    post: { summary: 'Confirm a pairing code', scope: 'admin', body: ConfirmPairing, ok: [204, null] },
  },
  '/v1/pair/deny': {
    post: {
      summary: 'Deny a pairing code (the client then sees it expired)',
      scope: 'admin',
      body: ConfirmPairing,
      ok: [204, null],
    },
  },
  '/v1/retention': {
    get: {
      summary: 'The retention limits in force (from the config file)',
      scope: 'admin',
      ok: [200, RetentionSettings],
    },
  },
  '/v1/session': {
    post: {
      summary: 'Dashboard sign-in: a one-time code or a token for an HttpOnly session cookie (same-origin only)',
      body: SignIn,
      ok: [201, SessionInfo],
    },
    get: { summary: 'Who the caller is (session or token)', scope: 'read', ok: [200, SessionInfo] },
    delete: { summary: 'Sign out: end this session (a bearer token has none to end)', scope: 'read', ok: [204, null] },
  },
  '/v1/session/codes': {
    post: { summary: 'A one-time dashboard sign-in link for the calling token', scope: 'read', ok: [201, LoginCode] },
  },
  '/v1/batches': {
    post: {
      summary: 'Create a batch: a list of jobs or a matrix (prompts x seeds x axes)',
      scope: 'submit',
      body: CreateBatch,
      ok: [201, Batch],
    },
    get: {
      summary: "List the caller's batches, newest first, as summaries (state active|done, limit ≤ 200, before)",
      scope: 'read',
      ok: [200, ListBatchesResponse],
    },
  },
  '/v1/batches/{id}': {
    get: { summary: 'Batch status: counts by state, ETA', scope: 'read', ok: [200, Batch], params: ['id'] },
  },
  '/v1/batches/{id}/cancel': {
    post: { summary: 'Cancel every unfinished job of a batch', scope: 'submit', ok: [200, Batch], params: ['id'] },
  },
  '/v1/batches/{id}/archive': {
    get: {
      summary: 'Zip of every output with manifest.json (streamed)',
      scope: 'read',
      ok: [200, null],
      params: ['id'],
    },
  },
  '/v1/webhooks': {
    get: { summary: 'Webhook subscriptions (secrets masked)', scope: 'submit', ok: [200, z.array(Webhook)] },
    post: {
      summary: 'Subscribe (Standard Webhooks signing); the secret is shown once',
      scope: 'submit',
      body: CreateWebhook,
      ok: [201, Webhook],
    },
  },
  '/v1/webhooks/{id}': {
    get: { summary: 'One subscription (secret masked)', scope: 'submit', ok: [200, Webhook], params: ['id'] },
    delete: { summary: 'Unsubscribe', scope: 'submit', ok: [204, null], params: ['id'] },
  },
  '/v1/webhooks/{id}/deliveries': {
    get: {
      summary: 'Delivery attempts, newest first (limit)',
      scope: 'submit',
      ok: [200, z.array(WebhookDelivery)],
      params: ['id'],
    },
  },
  '/v1/templates': {
    get: { summary: 'Workflow templates with their parameters', scope: 'read', ok: [200, z.array(Template)] },
    post: {
      summary: "Import a template: API graph, UI workflow (converted with a backend's /object_info) or ComfyUI PNG",
      scope: 'admin',
      body: CreateTemplate,
      ok: [201, Template],
    },
  },
  '/v1/templates/{id}': {
    get: { summary: 'One template (id or name)', scope: 'read', ok: [200, Template], params: ['id'] },
    delete: { summary: 'Delete a template (built-ins cannot be)', scope: 'admin', ok: [204, null], params: ['id'] },
  },
  '/v1/templates/{id}/graph': {
    get: {
      summary: 'What a template became: its API graph, parameter bindings and conversion warnings',
      scope: 'read',
      ok: [200, TemplateGraph],
      params: ['id'],
    },
  },
  '/v1/templates/{id}/schema': {
    get: { summary: 'JSON Schema of the parameters, for forms', scope: 'read', ok: [200, null], params: ['id'] },
  },
  '/v1/presets': {
    get: { summary: 'Style presets', scope: 'read', ok: [200, z.array(Preset)] },
    post: {
      summary: 'Create or replace a style preset (by name)',
      scope: 'admin',
      body: CreatePreset,
      ok: [201, Preset],
    },
  },
  '/v1/presets/{name}': {
    delete: { summary: 'Delete a style preset (id or name)', scope: 'admin', ok: [204, null], params: ['name'] },
  },
  '/v1/watch': {
    get: {
      summary: 'Watched-folder rules with file counts by state',
      scope: 'read',
      ok: [200, z.array(WatchRuleView)],
    },
    post: {
      summary: 'Watch a folder (kept across restarts)',
      scope: 'admin',
      body: WatchRule,
      ok: [201, WatchRuleView],
    },
  },
  '/v1/watch/{id}': {
    get: { summary: 'One watch rule', scope: 'read', ok: [200, WatchRuleView], params: ['id'] },
    delete: {
      summary: 'Stop watching; unfinished jobs of the rule are canceled',
      scope: 'admin',
      ok: [204, null],
      params: ['id'],
    },
  },
  '/v1/watch/{id}/files': {
    get: {
      summary: 'Files of a rule: content hash, state, job, error, outputs (state, limit, after)',
      scope: 'read',
      ok: [200, z.array(WatchFile)],
      params: ['id'],
    },
  },
  '/v1/gc': {
    post: { summary: 'Run retention now (?dryRun=true to only report)', scope: 'admin', ok: [200, GcReport] },
  },
  '/v1/events': { get: { summary: 'Server-sent events (Last-Event-ID resume)', scope: 'read', ok: [200, null] } },
};

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

/** OpenAPI 3.1 generated from the same zod schemas that validate requests. */
export function openApiDocument(): unknown {
  const paths: Record<string, unknown> = {};
  for (const [path, ops] of Object.entries(ROUTES)) {
    paths[path] = Object.fromEntries(
      Object.entries(ops).map(([method, op]) => [
        method,
        {
          summary: op.summary,
          description: op.scope ? `Token scope: ${op.scope}` : 'No token needed',
          parameters: (op.params ?? []).map((name) => ({
            name,
            in: 'path',
            required: true,
            schema: { type: 'string' },
          })),
          ...(op.body
            ? { requestBody: { required: true, content: { 'application/json': { schema: schema(op.body) } } } }
            : {}),
          responses: {
            [op.ok[0]]: {
              description: 'OK',
              ...(op.ok[1] ? { content: { 'application/json': { schema: schema(op.ok[1]) } } } : {}),
            },
            default: { description: 'Error', content: { 'application/json': { schema: schema(ErrorBody) } } },
          },
          security: op.scope ? [{ bearer: [] }] : [],
        },
      ]),
    );
  }
  return {
    openapi: '3.1.0',
    info: { title: 'comfygate', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
