import crypto from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { ListWatchFilesQuery, type WatchFile, WatchRule, type WatchRuleView } from '@comfygate/shared';
import type { Daemon } from '../daemon.js';
import { GatewayError } from '../errors.js';
import { ADMIN_TOKEN_ID, canSee, checkOwner, INTERNAL, type Viewer } from '../ownership/viewer.js';
import type { WatchRuleRecord } from '../store/watch.js';
import { Feeder } from './feeder.js';
import { Intake } from './intake.js';
import { ensureOutputDir } from './outdir.js';
import { acceptsFor, activateRule, type ActiveRule, configRuleId, realDir, type RuleSpec } from './rules.js';
import { FolderWatcher } from './watcher.js';
import { validationError } from '../validation.js';

export interface WatchService {
  /** The rules the viewer may see (its own, or all for an admin, a see-all token or `INTERNAL`). */
  list(viewer: Viewer): Promise<WatchRuleView[]>;
  get(id: string, viewer: Viewer): Promise<WatchRuleView>;
  /** Adds a rule at runtime (kept across restarts) and starts watching its folder; its jobs belong to `owner`. */
  add(input: unknown, owner?: string): Promise<WatchRuleView>;
  /** Stops watching, cancels the rule's unfinished jobs and forgets its files; config rules are refused. */
  remove(id: string, viewer: Viewer): Promise<void>;
  files(id: string, query: unknown, viewer: Viewer): Promise<WatchFile[]>;
  close(): Promise<void>;
}

interface Entry {
  spec: RuleSpec;
  fromConfig: boolean;
  createdAt: number;
  owner: string;
  rule?: ActiveRule;
  watcher?: FolderWatcher;
  error: string | null;
}

/** Rule params may hold bigint seeds; JSON answers carry them as decimal strings. */
const jsonSafe = <T>(v: T): T =>
  JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as T;
const TERMINAL_EVENTS = new Set(['job:succeeded', 'job:failed', 'job:canceled']);

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw validationError(r.error, input);
  return r.data;
}

/** Watched folders: rules from the config and the API, one chokidar watcher each, one ledger, one feeder. */
export async function startWatchService(daemon: Daemon): Promise<WatchService> {
  const { store, config, log } = daemon;
  const repo = store.watch;
  const opts = config.watchOptions;
  const entries = new Map<string, Entry>();
  const active = new Map<string, ActiveRule>();
  const limits = {
    files: daemon.files,
    store,
    maxTextBytes: opts.maxTextBytes,
    maxImageBytes: config.security.maxUploadBytes,
    maxPixels: config.security.maxPixels,
  };
  const feeder = new Feeder({ daemon, repo, rules: () => active, opts, log, limits });
  const intake = new Intake({
    repo,
    rules: () => active,
    opts,
    log,
    limits,
    onWork: () => feeder.kick(),
    onStale: (id) => void daemon.cancel(id, INTERNAL).catch(() => {}),
  });
  const unsubscribe = daemon.subscribe((e) => {
    if (e.jobId && TERMINAL_EVENTS.has(e.type)) void feeder.finished(e.jobId);
  }, INTERNAL);

  /** Everything that can fail (template, output folder) happens before anything is persisted or watched. */
  const resolve = async ({ spec, fromConfig, createdAt, owner }: Entry): Promise<ActiveRule> => {
    const takesImage = spec.template
      ? (await daemon.templates.get(spec.template)).params.some((p) => p.type === 'image')
      : null;
    const outRoot = spec.outputDir ? await ensureOutputDir(spec.outputDir) : null;
    const root = (await realDir(spec.dir)) ?? path.resolve(spec.dir);
    const rule = activateRule({ spec, fromConfig, createdAt, owner, root, outRoot, accepts: acceptsFor(takesImage) });
    for (const p of await repo.outputPaths(spec.id)) rule.ours.add(p);
    return rule;
  };

  const watchRule = async (entry: Entry, rule: ActiveRule) => {
    entry.rule = rule;
    active.set(rule.spec.id, rule);
    entry.watcher = new FolderWatcher(rule, opts, (abs) => intake.push(rule.spec.id, abs), log);
    await entry.watcher.start();
  };

  /** Rules found at start: one that cannot start is listed with its error instead of stopping the daemon. */
  const startStored = async (spec: RuleSpec, fromConfig: boolean, createdAt: number, owner: string) => {
    if (entries.has(spec.id))
      return log.error({ rule: spec.id }, 'watch: two rules share this id; the second is ignored');
    const entry: Entry = { spec, fromConfig, createdAt, owner, error: null };
    entries.set(spec.id, entry);
    try {
      await watchRule(entry, await resolve(entry));
    } catch (err) {
      entry.error = (err as Error).message;
      log.error({ err, rule: spec.id }, 'watch: rule not started');
    }
  };

  const view = async (e: Entry): Promise<WatchRuleView> => ({
    id: e.spec.id,
    rule: jsonSafe({ ...e.spec, patterns: e.rule?.spec.patterns ?? e.spec.patterns }),
    fromConfig: e.fromConfig,
    status: e.watcher?.status ?? 'stopped',
    error: e.error,
    files: await repo.counts(e.spec.id),
    createdAt: e.createdAt,
  });
  const entryOf = (id: string, viewer: Viewer, act = false) => {
    const e = entries.get(id);
    if (!e) throw new GatewayError({ code: 'not_found', message: `no watch rule ${id}` });
    checkOwner(viewer, e.owner, `watch rule ${id}`, act);
    return e;
  };

  await loadRules(repo, config.watch, startStored, (r) =>
    log.error({ rule: r.id }, 'watch: stored rule no longer valid; skipped'),
  );
  await feeder.recover();
  feeder.kick();

  let closing: Promise<void> | null = null;
  return {
    list: async (viewer) => Promise.all([...entries.values()].filter((e) => canSee(viewer, e.owner)).map(view)),
    get: async (id, viewer) => view(entryOf(id, viewer)),
    async add(input, owner = ADMIN_TOKEN_ID) {
      const parsed = parse(WatchRule, input);
      const spec: RuleSpec = { ...parsed, id: parsed.id ?? crypto.randomUUID() };
      if (entries.has(spec.id))
        throw new GatewayError({ code: 'conflict', message: `a watch rule with id ${spec.id} exists` });
      if (!(await realDir(spec.dir)))
        throw new GatewayError({ code: 'bad_request', message: `no folder at ${spec.dir}` });
      const entry: Entry = { spec, fromConfig: false, createdAt: Date.now(), owner, error: null };
      const rule = await resolve(entry);
      await repo.putRule({ id: spec.id, spec, fromConfig: false, owner, createdAt: entry.createdAt });
      entries.set(spec.id, entry);
      await watchRule(entry, rule);
      await entry.watcher!.ready(); // files dropped once the call returns are seen, whatever chokidar's scan was doing
      return view(entry);
    },
    async remove(id, viewer) {
      const e = entryOf(id, viewer, true);
      if (e.fromConfig)
        throw new GatewayError({
          code: 'conflict',
          message: `watch rule ${id} is defined in the config file; remove it there`,
        });
      await e.watcher?.close();
      entries.delete(id);
      active.delete(id);
      for (const f of await repo.files(id, { state: 'submitted', limit: 100_000 }))
        if (f.jobId) await daemon.cancel(f.jobId, INTERNAL).catch(() => {});
      await repo.deleteRule(id);
    },
    async files(id, query = {}, viewer) {
      entryOf(id, viewer);
      const q = parse(ListWatchFilesQuery, query);
      return (await repo.files(id, q)).map((f) => ({
        path: f.path,
        sha256: f.sha256,
        state: f.state,
        jobId: f.jobId,
        error: f.error,
        outputs: f.outputs?.paths ?? [],
        updatedAt: f.updatedAt,
      }));
    },
    close() {
      closing ??= (async () => {
        unsubscribe();
        for (const e of entries.values()) await e.watcher?.close().catch(() => {});
        await intake.close();
        await feeder.close();
      })();
      return closing;
    },
  };
}

/** Config rules are mirrored into the store (so every rule is listed in one place); API rules come back from it. */
async function loadRules(
  repo: Daemon['store']['watch'],
  fromConfig: WatchRule[],
  start: (spec: RuleSpec, fromConfig: boolean, createdAt: number, owner: string) => Promise<void>,
  invalid: (r: WatchRuleRecord) => void,
): Promise<void> {
  const stored = await repo.rules();
  const configIds = new Set<string>();
  for (const rule of fromConfig) {
    const spec: RuleSpec = { ...rule, id: configRuleId(rule) };
    const createdAt = stored.find((r) => r.id === spec.id)?.createdAt ?? Date.now();
    configIds.add(spec.id);
    await repo.putRule({ id: spec.id, spec, fromConfig: true, owner: ADMIN_TOKEN_ID, createdAt }); // the config file is the admin's
    await start(spec, true, createdAt, ADMIN_TOKEN_ID);
  }
  for (const r of stored) {
    // A rule dropped from the config keeps its ledger: put back, it does not redo files it already did.
    if (r.fromConfig && !configIds.has(r.id)) await repo.deleteRule(r.id, true);
    if (r.fromConfig || configIds.has(r.id)) continue;
    const p = WatchRule.safeParse(r.spec);
    if (p.success) await start({ ...p.data, id: r.id }, false, r.createdAt, r.owner);
    else invalid(r);
  }
}
