import type { WatchCounts, WatchFileState } from '@comfygate/shared';

/** A rule as stored: API-added ones survive restarts; config ones are mirrored so that every rule is listed. */
export interface WatchRuleRecord {
  id: string;
  spec: unknown;
  fromConfig: boolean;
  /** The token that added the rule (config-file rules: the admin); its jobs belong to it. */
  owner: string;
  createdAt: number;
}

/** The outputs written for one content of an input, and older ones kept aside (`keepOld`). Absolute paths. */
export interface WatchOutputs {
  sha256: string;
  paths: string[];
  kept: string[];
}

/** One input file of a rule: the ledger that makes processing idempotent across restarts. */
export interface WatchFileRecord {
  ruleId: string;
  /** Relative to the rule's folder, `/`-separated. */
  path: string;
  sha256: string;
  state: WatchFileState;
  jobId: string | null;
  error: string | null;
  /** Idempotency key of the job for this content: a submit repeated after a crash finds the same job. */
  submitKey: string | null;
  outputs: WatchOutputs | null;
  updatedAt: number;
}

export interface WatchRepo {
  rules(): Promise<WatchRuleRecord[]>;
  putRule(r: WatchRuleRecord): Promise<void>;
  /** Deletes the rule and, unless kept (a rule gone from the config may come back), its ledger rows. */
  deleteRule(id: string, keepFiles?: boolean): Promise<boolean>;
  /**
   * Records the content seen at a path. A new path or a different sha256 becomes `pending` with a fresh submit
   * key (outputs of earlier content stay recorded, to be replaced); the same sha256 changes nothing.
   * Returns whether work was created, and the job of the content it replaced (to cancel it).
   */
  observe(
    ruleId: string,
    path: string,
    sha256: string,
    submitKey: string,
  ): Promise<{ changed: boolean; replacedJobId: string | null }>;
  get(ruleId: string, path: string): Promise<WatchFileRecord | null>;
  /** Oldest pending rows of these rules first (rows of rules not active now wait). */
  pending(limit: number, ruleIds: readonly string[]): Promise<WatchFileRecord[]>;
  inState(state: WatchFileState, limit: number): Promise<WatchFileRecord[]>;
  countInState(state: WatchFileState): Promise<number>;
  /** pending -> submitted, only if the row still holds this submit key (content unchanged since). */
  markSubmitted(ruleId: string, path: string, submitKey: string, jobId: string): Promise<boolean>;
  /** Final state for the content `sha256`; false when the row moved on to newer content. */
  finish(
    ruleId: string,
    path: string,
    sha256: string,
    f: { state: 'done' | 'failed'; error: string | null; outputs?: WatchOutputs | null },
  ): Promise<boolean>;
  /** Back to pending (a submit refused for a passing reason, e.g. the queue is full). */
  release(ruleId: string, path: string, submitKey: string): Promise<void>;
  byJob(jobId: string): Promise<WatchFileRecord | null>;
  files(ruleId: string, q: { state?: WatchFileState; limit: number; after?: string }): Promise<WatchFileRecord[]>;
  counts(ruleId: string): Promise<WatchCounts>;
  /** Every output path recorded for the rule (its watcher ignores them). */
  outputPaths(ruleId: string): Promise<string[]>;
  /** A pending row whose file vanished before it was submitted. */
  forget(ruleId: string, path: string): Promise<void>;
}
