import path from 'node:path';
import { isTerminal, type PostprocessSpec } from '@comfygate/shared';
import type { WatchOptions } from '../config/schema.js';
import type { Daemon } from '../daemon.js';
import { GatewayError } from '../errors.js';
import { INTERNAL } from '../ownership/viewer.js';
import type { Logger } from '../log.js';
import type { WatchFileRecord, WatchRepo } from '../store/watch.js';
import { InputError, type InputLimits, kindOf, readInput } from './inputs.js';
import { jobFor } from './job.js';
import { contentSha, observe } from './ledger.js';
import type { ActiveRule } from './rules.js';
import { writeError, writeOutputs } from './writer.js';

/** Refusals that pass: the file stays pending and is offered again shortly. */
const TRANSIENT = new Set(['rate_limited', 'backend_unavailable', 'storage_error']);
const RETRY_MS = 1_000;

const messageOf = (err: unknown) =>
  err instanceof GatewayError ? `${err.code}: ${err.message}` : ((err as Error).message ?? String(err));

/**
 * Turns pending ledger rows into jobs, never more than `maxQueued` unfinished at once: a dump of 10,000 files
 * waits in SQLite, not in the job queue, so interactive jobs never queue behind it. Finished jobs are written
 * out (or their failure reported) and make room for the next files.
 */
export class Feeder {
  private pumping: Promise<void> | null = null;
  private again = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly finishing = new Map<string, Promise<void>>();
  private closed = false;
  /** Which rule goes first next time: rotates, so with room for one job the rules still alternate. */
  private turn = 0;

  constructor(
    private readonly d: {
      daemon: Daemon;
      repo: WatchRepo;
      rules: () => ReadonlyMap<string, ActiveRule>;
      opts: WatchOptions;
      log: Logger;
      limits: InputLimits;
    },
  ) {}

  kick(): void {
    if (this.closed) return;
    if (this.pumping) return void (this.again = true);
    this.pumping = this.pump()
      .catch((err) => this.d.log.error({ err }, 'watch: submitting jobs failed'))
      .finally(() => {
        this.pumping = null;
        if (this.again) ((this.again = false), this.kick());
      });
  }

  /** After a restart: jobs that finished while nobody listened are written out now. */
  async recover(): Promise<void> {
    for (const row of await this.d.repo.inState('submitted', 100_000)) {
      const job = row.jobId ? await this.d.daemon.store.jobs.get(row.jobId) : null;
      if (!job || isTerminal(job.state)) await this.finished(row.jobId ?? '', row);
    }
  }

  /** A job reached a terminal state (from the daemon's event stream). */
  finished(jobId: string, orphan?: WatchFileRecord): Promise<void> {
    let p = this.finishing.get(jobId);
    if (!p) {
      p = this.finish(jobId, orphan).catch((err) => this.d.log.error({ err, jobId }, 'watch: finishing a job failed'));
      this.finishing.set(
        jobId,
        p.finally(() => this.finishing.delete(jobId)),
      );
    }
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.pumping;
    await Promise.all(this.finishing.values());
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      const room = this.d.opts.maxQueued - (await this.d.repo.countInState('submitted'));
      const rows = room > 0 ? await this.nextRows(room) : [];
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.closed) return;
        if (!(await this.submit(row))) return this.retryLater();
      }
    }
  }

  /** Rules take turns: a 10,000-file dump in one folder does not hold up a single file dropped in another. */
  private async nextRows(room: number): Promise<WatchFileRecord[]> {
    const ids = [...this.d.rules().keys()];
    const first = this.turn++ % Math.max(ids.length, 1);
    const perRule = await Promise.all(
      [...ids.slice(first), ...ids.slice(0, first)].map((id) => this.d.repo.pending(room, [id])),
    );
    const rows: WatchFileRecord[] = [];
    const longest = Math.max(0, ...perRule.map((r) => r.length));
    for (let i = 0; i < longest; i++) for (const r of perRule) if (r[i]) rows.push(r[i]!);
    return rows.slice(0, room);
  }

  private retryLater(): void {
    this.retry ??= setTimeout(() => ((this.retry = null), this.kick()), RETRY_MS).unref();
  }

  /** false: a passing refusal (queue full); the row stays pending and feeding pauses. */
  private async submit(row: WatchFileRecord): Promise<boolean> {
    const rule = this.d.rules().get(row.ruleId);
    if (!rule) return true; // removed meanwhile (its rows went with it)
    const abs = path.join(rule.root, ...row.path.split('/'));
    const kind = kindOf(abs)!;
    let input: Awaited<ReturnType<typeof jobFor>>;
    try {
      // Read again, through the same checks: what the path is now matters, not what it was when it was recorded.
      const sha = await contentSha(rule.root, abs, kind, this.d.limits);
      // Changed since it was recorded: the new content is recorded (pending, fresh key) and taken next pass.
      if (sha !== row.sha256) return (await observe(this.d.repo, row.ruleId, row.path, sha), true);
      input = await jobFor(this.d.daemon, rule, row.path, kind, await readInput(rule.root, abs, kind, this.d.limits));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return (await this.d.repo.forget(row.ruleId, row.path), true);
      await this.fail(
        rule,
        row,
        err instanceof InputError ? `${path.basename(abs)}: ${err.message}` : messageOf(err),
        null,
      );
      return true;
    }
    try {
      // The key was stored with the row: a submit repeated after a crash finds the job made the first time.
      const { job, created } = await this.d.daemon.submit(input, {
        idempotencyKey: `watch-${row.submitKey}`,
        caller: input.client,
        viewer: INTERNAL,
        owner: rule.owner,
      });
      await this.submitted(rule, row, job.id, !created);
    } catch (err) {
      if (err instanceof GatewayError && TRANSIENT.has(err.code)) return false;
      const earlier =
        err instanceof GatewayError && err.code === 'idempotency_mismatch'
          ? (err.details as { jobId?: string }).jobId
          : undefined;
      if (earlier)
        await this.submitted(rule, row, earlier, true); // the rule changed since a crash; keep the job that exists
      else await this.fail(rule, row, messageOf(err), null);
    }
    return true;
  }

  /** `earlier`: the job was made before a crash (same key), and may have finished while nobody listened. */
  private async submitted(rule: ActiveRule, row: WatchFileRecord, jobId: string, earlier: boolean): Promise<void> {
    if (!(await this.d.repo.markSubmitted(row.ruleId, row.path, row.submitKey!, jobId))) {
      await this.d.daemon.cancel(jobId, INTERNAL).catch(() => {}); // the content changed meanwhile: this result would be stale
      return;
    }
    const job = earlier ? await this.d.daemon.store.jobs.get(jobId) : null;
    if (job && isTerminal(job.state)) void this.finished(jobId);
    this.d.log.debug({ rule: rule.spec.id, path: row.path, jobId }, 'watch: job submitted');
  }

  private async finish(jobId: string, orphan?: WatchFileRecord): Promise<void> {
    const row = orphan ?? (await this.d.repo.byJob(jobId));
    const rule = row ? this.d.rules().get(row.ruleId) : undefined;
    if (!row || !rule) return;
    const job = jobId ? await this.d.daemon.get(jobId, INTERNAL).catch(() => null) : null;
    if (!job) await this.fail(rule, row, 'the job was deleted before its outputs were written', jobId || null);
    else if (job.state === 'succeeded') await this.succeeded(rule, row, job);
    else if (isTerminal(job.state))
      await this.fail(
        rule,
        row,
        job.error ? `${job.error.code}: ${job.error.message}` : `the job was ${job.state}`,
        jobId,
      );
    this.kick();
  }

  private async succeeded(
    rule: ActiveRule,
    row: WatchFileRecord,
    job: Awaited<ReturnType<Daemon['get']>>,
  ): Promise<void> {
    try {
      const spec = ((await this.d.daemon.store.jobs.get(job.id))?.postprocess ?? null) as PostprocessSpec | null;
      const outputs = await writeOutputs({ rule, row, job, spec, files: this.d.daemon.files });
      await this.d.repo.finish(row.ruleId, row.path, row.sha256, { state: 'done', error: null, outputs });
    } catch (err) {
      await this.fail(rule, row, `could not write the outputs: ${messageOf(err)}`, job.id);
    }
  }

  private async fail(rule: ActiveRule, row: WatchFileRecord, message: string, jobId: string | null): Promise<void> {
    if (!(await this.d.repo.finish(row.ruleId, row.path, row.sha256, { state: 'failed', error: message }))) return; // newer content since
    await writeError(rule, row, message, jobId).catch((err) =>
      this.d.log.warn({ err, path: row.path }, 'watch: could not write the error file'),
    );
    this.d.log.info({ rule: rule.spec.id, path: row.path, error: message }, 'watch: input failed');
  }
}
