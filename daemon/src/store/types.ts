import type { QuotaClaim } from './quota.js';
import type { RetentionRepo } from './retention.js';
import type { WatchRepo } from './watch.js';
import type {
  ErrorDetail,
  JobEventType,
  JobState,
  GatewayEvent,
  TextOutput,
  WebhookEventType,
} from '@comfygate/shared';

/**
 * The storage seam. Every method is async and every state change is one atomic operation, so a
 * PostgreSQL store (claims with FOR UPDATE SKIP LOCKED) can implement the same contract later.
 * No SQL type leaks out of this file's types.
 */
export type { TextOutput } from '@comfygate/shared';

export interface JobRecord {
  id: string;
  seq: number;
  state: JobState;
  priority: number;
  client: string;
  /** The token that made the job (a chain step: its first step's; a watched folder's: the rule's). */
  owner: string;
  backendPin: string | null;
  /** The API-format graph as JSON text, kept verbatim so seeds above 2^53 survive. */
  graphJson: string;
  metadata: Record<string, unknown>;
  /** The job's post-processing spec (validated at submit), or null for the default (a thumbnail). */
  postprocess: unknown;
  batchId: string | null;
  parentJobId: string | null;
  /** Chain steps still to run after this job (JSON-compatible values). */
  then: unknown[];
  attempts: number;
  maxAttempts: number;
  notBefore: number;
  avoidBackend: string | null;
  lastBackend: string | null;
  error: ErrorDetail | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  cancelRequested: boolean;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Text outputs (ComfyUI `text` lists, e.g. PreviewAny), set when the job's outputs are harvested. */
  texts: TextOutput[];
}

/**
 * posting: committed before POST /prompt (the prompt_id is ours), and kept while the prompt waits in the
 * backend's queue; running: execution_start seen; done/failed: finished; abandoned: given up on while its
 * backend was unreachable, to be deleted from that backend's queue when it returns (cleanedUp then).
 * accepted is no longer written (recovery asks the backend about a posting and an accepted attempt alike,
 * so it cost a commit per job for nothing); rows from earlier versions are still read as open.
 */
export type AttemptState = 'posting' | 'accepted' | 'running' | 'done' | 'failed' | 'abandoned';

export interface AttemptRecord {
  id: string;
  jobId: string;
  backend: string;
  number: number;
  state: AttemptState;
  error: ErrorDetail | null;
  cleanedUp: boolean;
  createdAt: number;
  endedAt: number | null;
}

export interface OutputRecord {
  id: string;
  jobId: string;
  attemptId: string;
  nodeId: string;
  index: number;
  filename: string;
  kind: 'output' | 'temp';
  sha256: string;
  bytes: number;
  contentType: string;
  /** Pixel size for images (read from the file header), null otherwise. */
  width: number | null;
  height: number | null;
  /** ComfyUI flagged the node's files as animated (animated WEBP/PNG, video). */
  animated: boolean;
  createdAt: number;
}

/** One post-processed rendition of an output (a named variant, e.g. `thumb`, `web@2x`). */
export interface OutputVariantRecord {
  id: string;
  outputId: string;
  jobId: string;
  variant: string;
  sha256: string;
  bytes: number;
  contentType: string;
  width: number;
  height: number;
  createdAt: number;
}

export interface AssetRecord {
  sha256: string;
  bytes: number;
  contentType: string;
  width: number | null;
  height: number | null;
  createdAt: number;
}

export interface BackendRecord {
  name: string;
  url: string;
  /** Last known /object_info-derived capabilities, so routing survives a restart while a backend is down. */
  capabilities: unknown;
  updatedAt: number;
}

export interface NewJob {
  id: string;
  priority: number;
  client: string;
  /** The token it belongs to; none: the admin's (a daemon-internal or pre-ownership row). */
  owner?: string;
  backendPin: string | null;
  graphJson: string;
  metadata: Record<string, unknown>;
  postprocess: unknown;
  batchId?: string | null;
  /** Makes the job that chain step's next step: the parent records it in the insert's transaction (see `create`). */
  parentJobId?: string | null;
  then?: unknown[];
  maxAttempts: number;
  idempotencyKey: string | null;
  requestHash: string | null;
}

export type JobPatch = Partial<
  Pick<
    JobRecord,
    | 'attempts'
    | 'notBefore'
    | 'avoidBackend'
    | 'lastBackend'
    | 'error'
    | 'startedAt'
    | 'finishedAt'
    | 'cancelRequested'
    | 'texts'
  >
>;

export interface Transition {
  jobId: string;
  from: readonly JobState[];
  to: JobState;
  event: { type: JobEventType; data?: Record<string, unknown> };
  patch?: JobPatch;
  newAttempt?: Omit<AttemptRecord, 'createdAt' | 'endedAt' | 'cleanedUp' | 'error'>;
  attemptUpdate?: { id: string; state: AttemptState; error?: ErrorDetail | null };
  /** Rows of the blobs `outputs` name (upserted first): committed with them, not one commit each. */
  assets?: AssetRecord[];
  outputs?: OutputRecord[];
}

export interface JobsQuery {
  state?: JobState;
  client?: string;
  /** Only this token's jobs. */
  owner?: string;
  limit: number;
  beforeSeq?: number;
}

export type CreateResult =
  { kind: 'created'; job: JobRecord } | { kind: 'existing'; job: JobRecord } | { kind: 'key_conflict'; job: JobRecord };

export interface JobsRepo {
  /**
   * Inserts the job and its `job:queued` event; an Idempotency-Key already used returns the first job.
   * With a quota, one job is taken from it in the same transaction (a replay takes none); when it does not
   * fit nothing is written and `rate_limited` is thrown. A job with `parentJobId` is that job's next chain step:
   * the parent records it in the same transaction, only if no step was made and the chain was not stopped;
   * otherwise nothing is written and `conflict` is thrown (a second process or pass making the same step).
   */
  create(job: NewJob, quota?: QuotaClaim): Promise<CreateResult>;
  get(id: string): Promise<JobRecord | null>;
  list(q: JobsQuery): Promise<JobRecord[]>;
  /** For each client with runnable queued jobs, its next ones by priority then FIFO (the fairness input). */
  queueHeads(now: number, perClient: number): Promise<JobRecord[]>;
  /** Earliest future notBefore among queued jobs, to wake the scheduler for retries. */
  nextWakeAt(now: number): Promise<number | null>;
  inStates(states: readonly JobState[]): Promise<JobRecord[]>;
  countByState(): Promise<Record<JobState, number>>;
  /** The next steps of a chain (jobs created from this one). */
  children(parentId: string): Promise<JobRecord[]>;
  /** Jobs in one state, from the index (cheap enough for every submit). */
  countInState(state: JobState): Promise<number>;
  /** Compare-and-set on state, with its event, attempt and outputs, in one transaction. Null if `from` no longer holds. */
  transition(t: Transition): Promise<JobRecord | null>;
  /**
   * Puts a failed or canceled job back in the queue with a fresh attempt budget (`job:queued` with `retry: true`),
   * taking one job from `quota` and reviving the job's retired webhooks in the same transaction. Null if the job is
   * not failed or canceled; `rate_limited` with nothing written when the quota has no room.
   */
  retry(jobId: string, quota?: QuotaClaim): Promise<JobRecord | null>;
  /** Deletes a finished job with its attempts and outputs (assets stay for the retention sweeper); its `job:deleted` revives its webhooks that want it. */
  delete(id: string): Promise<boolean>;
  /** Flags a cancel request without a state change (the engine finishes it once the backend answers). */
  requestCancel(id: string): Promise<JobRecord | null>;
  /** 1-based rank of a queued job among all queued jobs (priority desc, then FIFO); null when not queued. */
  queuePosition(id: string): Promise<number | null>;
  /** Moves a queued job in the queue by its priority (not a state change); null when the job is not queued. */
  setPriority(id: string, priority: number): Promise<JobRecord | null>;
}

export interface BatchRecord {
  id: string;
  name: string | null;
  client: string;
  owner: string;
  jobCount: number;
  createdAt: number;
  canceledAt: number | null;
}

export interface BatchesQuery {
  /** Only this token's batches. */
  owner?: string;
  /** active: some job not finished; done: none unfinished (a batch whose jobs were all deleted counts as done). */
  state?: 'active' | 'done';
  limit: number;
  /** Keyset cursor: only batches made before this one (by id; an unknown id lists none). */
  before?: string;
}

export interface BatchTally {
  counts: Record<JobState, number>;
  /** Mean finishedAt - startedAt of the succeeded jobs; null when none succeeded or none is left unfinished. */
  meanRunMs: number | null;
}

export interface BatchesRepo {
  /** The batch and all its jobs (each with its queued event) in one transaction: all or nothing, the quota's share included. */
  create(
    batch: Omit<BatchRecord, 'createdAt' | 'canceledAt' | 'jobCount' | 'owner'> & { owner?: string },
    jobs: NewJob[],
    quota?: QuotaClaim,
  ): Promise<BatchRecord>;
  get(id: string): Promise<BatchRecord | null>;
  /** Newest first, in the order they were made (not by createdAt, which ties within a millisecond). */
  list(q: BatchesQuery): Promise<BatchRecord[]>;
  /**
   * The state counts of each batch's jobs and, for a batch with unfinished jobs, the mean run time of its succeeded
   * ones (the ETA's input), from aggregates: the jobs themselves are not loaded. A batch with no jobs left is absent.
   */
  tallies(ids: string[]): Promise<Map<string, BatchTally>>;
  jobs(id: string): Promise<JobRecord[]>;
  markCanceled(id: string): Promise<void>;
}

/** A stored template: an API graph (JSON text, verbatim) and its parameter map (JSON text; bounds may be big). */
export interface TemplateRecord {
  id: string;
  name: string;
  description: string | null;
  graphJson: string;
  paramsJson: string;
  builtin: boolean;
  createdAt: number;
  /** JSON array of conversion warnings (TemplateWarning), or null when nothing was converted. */
  warningsJson?: string | null;
}

export interface TemplatesRepo {
  /** Inserts; a name already taken returns null. */
  create(t: TemplateRecord): Promise<TemplateRecord | null>;
  /** Inserts or refreshes a built-in (by name); a user's template of the same name is left alone. */
  putBuiltin(t: Omit<TemplateRecord, 'builtin'>): Promise<void>;
  /** By id or by name. */
  find(idOrName: string): Promise<TemplateRecord | null>;
  list(): Promise<TemplateRecord[]>;
  delete(id: string): Promise<boolean>;
}

export interface PresetRecord {
  id: string;
  name: string;
  prefix: string;
  suffix: string;
  negative: string;
  createdAt: number;
}

export interface PresetsRepo {
  /** Inserts or replaces by name. */
  put(p: PresetRecord): Promise<PresetRecord>;
  find(idOrName: string): Promise<PresetRecord | null>;
  list(): Promise<PresetRecord[]>;
  delete(idOrName: string): Promise<boolean>;
}

/** Chains (a job's `then` steps) seen from the store: where one stopped, and where the next step is still to make. */
export interface ChainsRepo {
  /** Ends a succeeded job's chain before its next step, with why, and a `job:warning` (one transaction, reviving the job's webhooks); false if already ended or advanced. */
  stop(jobId: string, reason: string): Promise<boolean>;
  /** Why the chain stopped after this job, or null. */
  stoppedReason(jobId: string): Promise<string | null>;
  /** Succeeded jobs with steps still to run, no next step made and no stop: a restart came between the two. */
  unadvanced(): Promise<string[]>;
}

export interface AttemptsRepo {
  get(id: string): Promise<AttemptRecord | null>;
  forJob(jobId: string): Promise<AttemptRecord[]>;
  /** Attempts the backend may still hold: in flight, or abandoned and not yet cleaned up. */
  open(): Promise<AttemptRecord[]>;
  setState(id: string, state: AttemptState, error?: ErrorDetail | null): Promise<void>;
  markCleanedUp(id: string): Promise<void>;
}

export interface OutputsRepo {
  forJobs(jobIds: readonly string[]): Promise<Map<string, OutputRecord[]>>;
  get(id: string): Promise<OutputRecord | null>;
  /** Replaces a job's variants (post-processing may run again after a restart). */
  putVariants(jobId: string, variants: OutputVariantRecord[]): Promise<void>;
  variantsForJobs(jobIds: readonly string[]): Promise<Map<string, OutputVariantRecord[]>>;
  getVariant(id: string): Promise<OutputVariantRecord | null>;
}

/** A named handle on stored bytes (Comfy API v2 asset ids); several can share one blob. */
export interface AssetRefRecord {
  id: string;
  sha256: string;
  filePath: string;
  contentType: string;
  jobId: string | null;
  owner: string;
  createdAt: number;
}

/** What a `core/ASSET` reference in a graph points at, whichever kind of id it used. */
export interface ResolvedAsset {
  sha256: string;
  contentType: string;
  filePath: string;
}

export interface AssetsRepo {
  /** Stores the blob's row; with `owner`, records that token as one of its owners (an upload; outputs pass none). */
  upsert(a: AssetRecord, owner?: string): Promise<void>;
  get(sha256: string): Promise<AssetRecord | null>;
  /** Whether `owner` uploaded these bytes, or one of its jobs (or v2 refs) holds them. */
  ownedBy(sha256: string, owner: string): Promise<boolean>;
  /** No owner: the admin's. */
  createRef(r: Omit<AssetRefRecord, 'owner'> & { owner?: string }): Promise<void>;
  getRef(id: string): Promise<AssetRefRecord | null>;
  deleteRef(id: string): Promise<boolean>;
  /** The owner's oldest ref naming this blob under this file path, so a repeated upload maps to the same asset id. */
  findRef(sha256: string, filePath: string, owner?: string): Promise<AssetRefRecord | null>;
  /** An asset ref id, an output id, or a sha256 hex digest of an uploaded asset; with `owner`, only one it may use. */
  resolve(id: string, owner?: string): Promise<ResolvedAsset | null>;
}

export interface EventsRepo {
  append(type: JobEventType, jobId: string | null, data?: Record<string, unknown>): Promise<GatewayEvent>;
  /** With `owner`: only that token's jobs' events and those of no job (backends). */
  after(id: number, limit: number, owner?: string): Promise<GatewayEvent[]>;
  lastId(): Promise<number>;
}

export interface BackendsRepo {
  saveCapabilities(name: string, url: string, capabilities: unknown): Promise<void>;
  all(): Promise<BackendRecord[]>;
  /** Backends added at runtime over the API, re-added at the next start. */
  addRuntime(b: { name: string; url: string; weight: number; inflight: number }): Promise<void>;
  removeRuntime(name: string): Promise<void>;
  runtime(): Promise<{ name: string; url: string; weight: number; inflight: number }[]>;
}

export interface TokenRecord {
  id: string;
  name: string;
  scope: 'read' | 'submit' | 'admin';
  hash: string;
  dailyQuota: number | null;
  /** Reads every owner's objects (acts on its own only). */
  seeAll: boolean;
  createdAt: number;
  revokedAt: number | null;
}

export interface TokensRepo {
  /** Inserts, or replaces the hash of, the token with this id. */
  put(t: Omit<TokenRecord, 'seeAll'> & { seeAll?: boolean }): Promise<void>;
  byHash(hash: string): Promise<TokenRecord | null>;
  list(): Promise<TokenRecord[]>;
  revoke(id: string): Promise<boolean>;
  /** Jobs counted against the token's quota on the UTC day starting at `day` (0 for an earlier day's count). */
  quotaUsed(tokenId: string, day: number): Promise<number>;
}

export interface AuditRepo {
  record(e: { tokenId: string | null; action: string; target: string | null; status: number }): Promise<void>;
  countSince(tokenId: string, action: string, since: number): Promise<number>;
}

export interface WebhookRecord {
  id: string;
  url: string;
  /** The full `whsec_` secret: the daemon signs with it, so it is kept (the API shows it masked). */
  secret: string;
  eventTypes: WebhookEventType[];
  jobId: string | null;
  batchId: string | null;
  owner: string;
  /** Delivery cursor: every event up to here was acknowledged or did not match. */
  lastEventId: number;
  createdAt: number;
  disabledAt: number | null;
  /** A job-scoped subscription done with its job: off the work list, its history kept until retention. */
  retiredAt: number | null;
}

export interface WebhookDeliveryRecord {
  id: number;
  webhookId: string;
  eventId: number;
  attempt: number;
  status: number | null;
  error: string | null;
  delivered: boolean;
  at: number;
}

export type WebhookAttempt = Omit<WebhookDeliveryRecord, 'id' | 'at' | 'delivered'>;

export interface WebhooksRepo {
  /** Inserts a subscription whose cursor is the newest event at that instant (no backlog). */
  create(
    w: Pick<WebhookRecord, 'id' | 'url' | 'secret' | 'eventTypes' | 'jobId' | 'batchId'> & { owner?: string },
  ): Promise<WebhookRecord>;
  get(id: string): Promise<WebhookRecord | null>;
  /** With `owner`, only that token's subscriptions. */
  list(owner?: string): Promise<WebhookRecord[]>;
  /** Subscriptions neither disabled nor retired, the dispatcher's work list. */
  active(): Promise<WebhookRecord[]>;
  /**
   * Retires a job-scoped subscription if, in one statement, its job is finished (or deleted) and its cursor is
   * at the job's newest event: everything it could hear went out. False while anything may still come.
   */
  retireIfDone(id: string): Promise<boolean>;
  /** Un-retires a job's subscriptions (the job was retried: there is a new run to hear about); how many. */
  reviveForJob(jobId: string): Promise<number>;
  delete(id: string): Promise<boolean>;
  disable(id: string): Promise<void>;
  /** Records a 2xx and moves the cursor to its event in one transaction: never re-sent, never skipped. */
  delivered(a: WebhookAttempt): Promise<void>;
  /** Records a failed attempt; the cursor stays so the event is retried before any later one. */
  failed(a: WebhookAttempt): Promise<void>;
  /** Moves the cursor past events that did not match the subscription; never backwards. */
  advance(id: string, eventId: number): Promise<void>;
  /** The highest attempt number recorded for this event (0 if none), so numbering survives a restart. */
  lastAttempt(webhookId: string, eventId: number): Promise<number>;
  /** Newest first. */
  deliveries(webhookId: string, limit: number): Promise<WebhookDeliveryRecord[]>;
  /** One job's events after an id (by the events_job index): job-scoped subscriptions skip the global log. */
  jobEvents(jobId: string, afterId: number, limit: number): Promise<GatewayEvent[]>;
  /** The batch a job belongs to (null if none or the job is gone), for batch-scoped subscriptions. */
  batchOf(jobId: string): Promise<string | null>;
}

export interface Store {
  jobs: JobsRepo;
  batches: BatchesRepo;
  attempts: AttemptsRepo;
  outputs: OutputsRepo;
  assets: AssetsRepo;
  events: EventsRepo;
  backends: BackendsRepo;
  tokens: TokensRepo;
  audit: AuditRepo;
  webhooks: WebhooksRepo;
  retention: RetentionRepo;
  watch: WatchRepo;
  templates: TemplatesRepo;
  presets: PresetsRepo;
  chains: ChainsRepo;
  /** Called with every event row right after its transaction commits, with the owner of its job (null: no job). */
  onEvent(listener: (e: GatewayEvent, owner: string | null) => void): () => void;
  close(): Promise<void>;
}
