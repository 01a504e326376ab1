// The control API (FakeControl) and its HTTP form, POST /__fake/control {action, args?}, which is not part
// of ComfyUI: it lets a fake running as a separate process be steered by tests.
import { reply, type Handler } from './http.js';
import type { ServerState } from './state.js';
import type { FakeControl } from './types.js';

/** Lifecycle operations that need the listening server, implemented in server.ts. */
export interface Lifecycle {
  down(): Promise<void>;
  up(): Promise<void>;
  crash(): Promise<void>;
}

/** Runs fn after ms on a timer its owner cancels on shutdown. */
export type Scheduler = (ms: number, fn: () => void) => void;

export function createControl(s: ServerState, life: Lifecycle): FakeControl {
  return {
    stats: () => s.stats.snapshot(),
    resetStats: () => s.stats.reset(),
    down: () => life.down(),
    up: () => life.up(),
    crash: () => life.crash(),
    dropSockets: () => s.hub.terminateAll(),
    dropSocketsAfterSteps: (n) => {
      s.faults.dropAfterSteps = n;
    },
    failRoute: (method, path, status, times) => s.faults.failRoute(method, path, status, times),
    delayHistory: (ms) => {
      s.faults.delayHistoryMs = ms;
    },
    failNode: (classType, opts) => s.faults.failNode(classType, opts),
    hideNode: (classType) => s.registry.hide(classType),
    showNode: (classType) => s.registry.show(classType),
    hideModel: (name) => s.models.hide(name),
    showModel: (name) => s.models.show(name),
    slowView: (ms) => {
      s.faults.slowViewMs = ms;
    },
    setStepMs: (ms) => {
      s.stepMs = ms;
    },
    reset: () => {
      s.faults.reset();
      s.registry.showAll();
      s.models.showAll();
    },
  };
}

const ACTIONS = new Set<string>([
  'stats',
  'resetStats',
  'down',
  'up',
  'crash',
  'dropSockets',
  'dropSocketsAfterSteps',
  'failRoute',
  'delayHistory',
  'failNode',
  'hideNode',
  'showNode',
  'hideModel',
  'showModel',
  'slowView',
  'setStepMs',
  'reset',
]);

/** Operations that kill this very connection run after the reply has been flushed. */
const AFTER_REPLY = new Set(['down', 'crash', 'dropSockets']);

/**
 * POST /__fake/control. `args` is an array of positional arguments or a single argument.
 * `{"action":"down","args":[ms]}` comes back up by itself after ms (nothing else can reach a downed fake).
 */
export function controlHandler(control: FakeControl, schedule: Scheduler): Handler {
  return async (req) => {
    if (req.method !== 'POST') return reply.status(405);
    let body: { action?: unknown; args?: unknown };
    try {
      body = JSON.parse((await req.body()).toString('utf8') || '{}') as typeof body;
    } catch {
      return reply.json({ ok: false, error: 'invalid JSON' }, 400);
    }
    const action = typeof body.action === 'string' ? body.action : '';
    if (!ACTIONS.has(action)) return reply.json({ ok: false, error: `unknown action: ${action}` }, 400);
    const args = body.args === undefined ? [] : Array.isArray(body.args) ? body.args : [body.args];
    const fn = control[action as keyof FakeControl] as (...a: unknown[]) => unknown;
    if (AFTER_REPLY.has(action)) {
      const upMs = action === 'down' && typeof args[0] === 'number' ? args[0] : undefined;
      const run = (): void => {
        void Promise.resolve(fn(...(action === 'down' ? [] : args))).then(() => {
          if (upMs !== undefined) schedule(upMs, () => void control.up());
        });
      };
      return { ...reply.json({ ok: true }), after: run };
    }
    try {
      const result = await fn(...args);
      return reply.json({ ok: true, result: result ?? null });
    } catch (e) {
      return reply.json({ ok: false, error: e instanceof Error ? e.message : String(e) }, 500);
    }
  };
}
