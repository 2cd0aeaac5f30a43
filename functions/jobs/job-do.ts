/**
 * One SQLite-backed Durable Object per training and per generation (addressed by
 * `idFromName(jobId)`): the job record, its append-only event log, the live-event
 * fan-out, and one alarm multiplexing the heartbeat, dispatch retries and polls.
 * The rules live in `transitions.ts`; this class only loads, persists, schedules,
 * talks to the backend and broadcasts.
 *
 * Persist first, then broadcast: a client is only ever told about a state that is
 * already durable, so no one sees a change that a crash could undo. If the object
 * dies between the write and the broadcast, nothing is lost either — a redelivered
 * backend event is recognised as a duplicate by the log, and every client that
 * reconnects starts from the stored state.
 *
 * A status change also owes the customer a webhook and the account its listing's
 * copy of the status. Both are written with the record, in the same write (`save`):
 * the webhook into the outbox, the listing update as the "index" timer, which stays
 * until the account has taken the change and is retried on the alarm otherwise.
 */
import { DurableObject } from "cloudflare:workers";
import { isTerminal, r2Keys, type BackendEvent, type JobMessage } from "../../shared/index.js";
import { accountStore } from "../accounts/account-do.js";
import { finishCharge } from "../billing/charges.js";
import { allowsPrivateWebhooks } from "../billing/webhook-url.js";
import { deliverJobEndNotice } from "./notices.js";
import { createBackend, isBackendName, secondsVar } from "../backends/index.js";
import type { GpuBackend } from "../backends/types.js";
import type { Secrets } from "../secrets.js";
import { signObjectUrl } from "../storage/signed-urls.js";
import { addColumnIfMissing } from "../storage/sql-columns.js";
import { r2ArtifactStore } from "./artifact-store.js";
import { EventLog, type LogEntry } from "./event-log.js";
import { LiveEvents } from "./live-events.js";
import { buildJobMessage } from "./message.js";
import { newJobRecord, type JobRecord, type NewJobRecord } from "./record.js";
import { AlarmTimers } from "./timers.js";
import { onDispatchResult, type DispatchBudgets, type DispatchResult } from "./dispatch-policy.js";
import {
  applyBackendEvent,
  cancel,
  claim,
  onSilence,
  redispatch,
  type CancelOutcome,
  type ClaimOutcome,
  type IgnoreReason,
  type Limits,
  type Retry,
} from "./transitions.js";
import { jobView } from "./views.js";
import { WebhookOutbox } from "./webhook-outbox.js";
import { sendWebhook, webhookEventType, webhookPayload, webhookRetryDelay } from "./webhooks.js";

type JobEnv = Env & Secrets;

export type IngestResult =
  | { result: "applied"; status: JobRecord["status"] }
  | { result: "duplicate" }
  | { result: "ignored"; reason: IgnoreReason }
  | { result: "unknown_job" };

/** Lifetime of the input URLs in a job message: enough to wait in a queue and start, not to linger. */
const INPUT_URL_TTL_S = 3600;
/** Wait before the account listing's update is tried again, after a failure (or a restart between the save and the push). */
const INDEX_RETRY_MS = 10_000;
/** Longest a best-effort cancel to an old attempt's host may run in the background. */
const CANCEL_TIMEOUT_MS = 5000;

export class JobDO extends DurableObject<JobEnv> {
  private readonly sql: SqlStorage;
  private readonly timers: AlarmTimers;
  private readonly log: EventLog;
  private readonly live: LiveEvents;
  private readonly outbox: WebhookOutbox;

  constructor(ctx: DurableObjectState, env: JobEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // One row: the record, the origin its URLs are made on, and the message of the current attempt.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS job (
      one INTEGER PRIMARY KEY CHECK (one = 1), record TEXT NOT NULL, origin TEXT NOT NULL, message TEXT)`);
    // How many times the status has changed: orders the account listing's updates.
    addColumnIfMissing(this.sql, "job", "status_version", "INTEGER NOT NULL DEFAULT 0");
    this.timers = new AlarmTimers(ctx.storage);
    this.log = new EventLog(this.sql);
    this.live = new LiveEvents(ctx);
    this.outbox = new WebhookOutbox(this.sql);
  }

  /** Creates the job (idempotent: a second call returns the first record) and schedules its dispatch. */
  async create(init: NewJobRecord, origin: string): Promise<JobRecord> {
    const existing = this.load();
    if (existing) return existing;
    const now = Date.now();
    const record = newJobRecord(init, now);
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO job (one, record, origin) VALUES (1, ?, ?)", JSON.stringify(record), origin);
      this.log.appendWorker(record.attempt, "created", { backend: record.backend }, now);
    });
    await this.timers.set("dispatch", now);
    return record;
  }

  /** The record, with its webhook delivery log attached for the GET routes. */
  get(): JobRecord | null {
    const record = this.load();
    return record && { ...record, webhook_deliveries: this.outbox.list() };
  }

  history(): LogEntry[] {
    return this.log.list();
  }

  /** Applies one backend event, exactly once per (attempt, seq). */
  async ingest(event: BackendEvent): Promise<IngestResult> {
    const record = this.load();
    if (!record) return { result: "unknown_job" };
    const now = Date.now();
    const outcome = applyBackendEvent(record, event, this.limits(), now);
    const seen = this.log.has(event.attempt, event.seq);
    // Refusals come before "duplicate", so a stale attempt that retries is still told to stop.
    if (outcome.kind === "ignored") {
      if (!seen) this.log.appendBackend(event, outcome.reason, now);
      return { result: "ignored", reason: outcome.reason };
    }
    if (seen) return { result: "duplicate" };
    this.ctx.storage.transactionSync(() => {
      this.log.appendBackend(event, outcome.retry ? "redispatch" : "applied", now);
      this.save(outcome.record);
    });
    if (event.type === "artifact" && event.name === "class-images") await this.recordClassImages(outcome.record, event);
    if (outcome.retry) {
      await this.startNextAttempt(outcome.record, outcome.retry, false);
    } else if (isTerminal(outcome.record.status)) {
      await this.ended();
    } else {
      await this.timers.set("heartbeat", now + this.heartbeatMs());
    }
    const current = this.load()!;
    this.publish(current, event.type, event, `${event.attempt}-${event.seq}`);
    await this.indexStatus();
    return { result: "applied", status: current.status };
  }

  async cancel(): Promise<CancelOutcome> {
    const record = this.load();
    if (!record) throw new Error("cancel of a job that does not exist");
    const outcome = cancel(record, Date.now());
    if (outcome.kind === "already_terminal") return outcome;
    this.ctx.storage.transactionSync(() => {
      this.save(outcome.record);
      this.log.appendWorker(record.attempt, "canceled", { by: "client" }, Date.now());
    });
    await this.ended();
    this.publish(outcome.record, "canceled", null);
    await this.indexStatus();
    this.cancelInBackground(record);
    return outcome;
  }

  /**
   * Queue dispatch: a GPU host that pulled this job's message asks to run the attempt.
   * Only one host gets it; from then on the heartbeat watches that host.
   */
  async claim(attempt: number, host: string): Promise<ClaimOutcome | { kind: "unknown_job" }> {
    const record = this.load();
    if (!record) return { kind: "unknown_job" };
    const now = Date.now();
    const outcome = claim(record, attempt, host, now);
    const already = outcome.kind === "claimed" && record.claimed_by === host;
    if (!already) this.log.appendWorker(attempt, outcome.kind === "claimed" ? "claimed" : "claim_refused", { host, outcome }, now);
    if (outcome.kind !== "claimed") return outcome;
    this.save(outcome.record);
    await this.timers.set("heartbeat", now + this.heartbeatMs());
    if (!already) this.publish(outcome.record, "claimed", { host, attempt });
    return outcome;
  }

  /** `GET …/events`: Server-Sent Events or a hibernating WebSocket, current state first. */
  override async fetch(request: Request): Promise<Response> {
    const record = this.load();
    if (!record) return new Response("no such job", { status: 404 });
    const state = { event: "state", data: { job: jobView(record, this.origin()) } };
    return this.live.open(request, state, isTerminal(record.status));
  }

  /** Watchers only listen; whatever they send is ignored, and a closing socket is closed back. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      // The runtime already answered the close.
    }
  }

  override async alarm(): Promise<void> {
    for (const timer of await this.timers.takeDue(Date.now())) {
      // Each timer on its own: one that throws must not swallow the others already taken off the table.
      try {
        if (timer === "dispatch") await this.dispatch();
        else if (timer === "poll") await this.poll();
        else if (timer === "webhook") await this.deliverWebhooks();
        else if (timer === "billing") await this.settleCharge();
        else if (timer === "notify") await this.deliverChatNotice();
        else if (timer === "index") await this.pushListing();
        else await this.heartbeatExpired();
      } catch (error) {
        const record = this.load();
        const reason = error instanceof Error ? error.message : String(error);
        if (record) this.log.appendWorker(record.attempt, `${timer}_error`, { error: reason }, Date.now());
        console.error(`job timer ${timer} failed`, error);
      }
    }
    await this.timers.sync();
  }

  private async dispatch(): Promise<void> {
    const record = this.load();
    if (!record || isTerminal(record.status)) return;
    const backend = this.backendOf(record);
    let message: JobMessage | null = null;
    let result: DispatchResult;
    try {
      message = await this.buildMessage(record);
      result = await backend.dispatch(message);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      result = message
        ? { outcome: "unreachable", reason }
        : { outcome: "rejected", code: "dispatch_failed", message: `Could not build the job message: ${reason}` };
    }
    // Reload: while the backend was answering, its first events may already have been applied.
    const current = this.load()!;
    if (current.attempt !== record.attempt || isTerminal(current.status)) return;
    const now = Date.now();
    const { record: next, retryInMs } = onDispatchResult(current, result, this.budgets(), now);
    this.ctx.storage.transactionSync(() => {
      this.save(next);
      if (message) this.sql.exec("UPDATE job SET message = ? WHERE one = 1", JSON.stringify(message));
      this.log.appendWorker(next.attempt, `dispatch_${result.outcome}`, result, now);
    });
    if (isTerminal(next.status)) {
      await this.ended();
    } else if (result.outcome === "accepted") {
      // Queued: the heartbeat first bounds the wait for a host to claim it, then (from the claim) the host's silence.
      const silenceMs = next.awaiting_claim ? secondsVar(this.env.QUEUE_WAIT_TIMEOUT_S, 3600) : this.heartbeatMs();
      await this.timers.set("heartbeat", now + silenceMs);
      if (backend.poll) await this.timers.set("poll", now + (backend.pollIntervalMs ?? 5000));
    } else if (retryInMs !== null) {
      await this.timers.set("dispatch", now + retryInMs);
    }
    this.publish(next, `dispatch_${result.outcome}`, result);
    await this.indexStatus();
  }

  private async poll(): Promise<void> {
    const record = this.load();
    const message = this.currentMessage();
    if (!record || !message || isTerminal(record.status) || message.attempt !== record.attempt) return;
    const backend = this.backendOf(record);
    if (!backend.poll) return;
    try {
      const events = await backend.poll({
        message,
        ref: record.backend_ref,
        lastSeq: this.log.lastSeq(record.attempt),
        store: r2ArtifactStore(this.env.BUCKET, record),
      });
      for (const event of events) await this.ingest(event);
    } finally {
      // A failed poll is simply tried again; lasting silence is the heartbeat's business.
      const after = this.load()!;
      if (!isTerminal(after.status) && after.attempt === record.attempt) {
        await this.timers.set("poll", Date.now() + (backend.pollIntervalMs ?? 5000));
      }
    }
  }

  private async heartbeatExpired(): Promise<void> {
    const record = this.load();
    if (!record) return;
    const outcome = onSilence(record, this.limits(), Date.now());
    if (outcome.kind === "ignored") return;
    if (outcome.retry) {
      await this.startNextAttempt(outcome.record, outcome.retry, true);
      return;
    }
    this.ctx.storage.transactionSync(() => {
      this.save(outcome.record);
      this.log.appendWorker(record.attempt, "heartbeat_timeout", { final: true }, Date.now());
    });
    await this.ended();
    this.publish(outcome.record, "failed", outcome.record.error);
    await this.indexStatus();
  }

  /** A job that ended needs no more heartbeat, dispatch or poll; its reservation is settled or released and the chat it came from is told. */
  private async ended(): Promise<void> {
    await this.timers.clear("heartbeat", "dispatch", "poll");
    await this.settleCharge();
    if (this.load()?.notify) await this.timers.set("notify", Date.now());
  }

  /** Tells the Discord or Slack channel the job was started from that it ended; retried like a webhook. */
  private async deliverChatNotice(): Promise<void> {
    const record = this.load();
    if (!record?.notify) return;
    let outcome: string;
    try {
      await deliverJobEndNotice(this.env, record);
      outcome = "delivered";
    } catch (error) {
      outcome = error instanceof Error ? error.message : String(error);
    }
    const delivered = outcome === "delivered";
    this.log.appendWorker(record.attempt, delivered ? "notify_delivered" : "notify_failed", { outcome }, Date.now());
    if (delivered) return;
    const delay = webhookRetryDelay(this.log.count("notify_failed"));
    if (delay !== null) await this.timers.set("notify", Date.now() + delay);
  }

  /** Exactly once per job however often it runs: the account's ledger only moves a reservation still held. */
  private async settleCharge(): Promise<void> {
    const record = this.load();
    if (!record || !isTerminal(record.status)) return;
    try {
      await finishCharge(this.env, record);
    } catch (error) {
      console.warn("settling the job's charge failed; retrying on the alarm", error);
      await this.timers.set("billing", Date.now() + 10_000);
    }
  }

  private async deliverWebhooks(): Promise<void> {
    const record = this.load();
    if (!record?.webhook_url) return;
    const { webhook_secret } = await accountStore(this.env, record.account_id).accountSettings();
    for (const message of this.outbox.due(Date.now())) {
      const { delivered, outcome } = await sendWebhook(record.webhook_url, message, webhook_secret, allowsPrivateWebhooks(this.env));
      const state = this.outbox.record(message.id, delivered, outcome, Date.now());
      const event = delivered ? "webhook_delivered" : state === "failed" ? "webhook_gave_up" : "webhook_failed";
      this.log.appendWorker(record.attempt, event, { id: message.id, type: message.type, outcome }, Date.now());
    }
    const next = this.outbox.nextAttemptAt();
    if (next !== null) await this.timers.set("webhook", next);
  }

  /**
   * The one backwards move: attempt+1 at `dispatched`, sent out again by the dispatch
   * timer. The silent attempt's host is asked to stop in the background: it may be
   * dead or frozen, and the next dispatch must not wait on it.
   */
  private async startNextAttempt(record: JobRecord, retry: Retry, cancelPrevious: boolean): Promise<void> {
    const next = redispatch(record, retry.counted, Date.now());
    const detail = { reason: retry.reason, counted: retry.counted, previous_attempt: record.attempt, attempts_used: next.attempts_used };
    this.ctx.storage.transactionSync(() => {
      this.save(next);
      this.log.appendWorker(next.attempt, "redispatch", detail, Date.now());
    });
    await this.timers.clear("heartbeat", "poll");
    await this.timers.set("dispatch", Date.now());
    this.publish(next, "redispatch", { ...detail, attempt: next.attempt });
    await this.indexStatus();
    if (cancelPrevious) this.cancelInBackground(record);
  }

  /** Best effort, never awaited by the job's own work; the backend bounds it with its request timeout. */
  private cancelInBackground(record: JobRecord): void {
    const request = this.backendOf(record).cancel({ job_id: record.id, attempt: record.attempt, ref: record.backend_ref });
    const bounded = Promise.race([request, new Promise((resolve) => setTimeout(resolve, CANCEL_TIMEOUT_MS))]);
    this.ctx.waitUntil(bounded.catch(() => undefined));
  }

  private async buildMessage(record: JobRecord): Promise<JobMessage> {
    const origin = this.origin();
    const signGet = async (key: string) =>
      (await signObjectUrl(this.env, origin, { method: "GET", key, expiresInS: INPUT_URL_TTL_S })).url;
    let cachedClassImages: { url: string; sha256: string } | undefined;
    if (record.kind === "train" && record.class_images_cache_key) {
      const key = r2Keys.classImages(record.base_model, record.class_images_cache_key);
      const manifest = await this.env.BUCKET.get(r2Keys.classImagesManifest(record.base_model, record.class_images_cache_key));
      if (manifest) {
        const { sha256 } = await manifest.json<{ sha256: string }>();
        cachedClassImages = { url: await signGet(key), sha256 };
      }
    }
    return buildJobMessage(record, {
      callbackUrl: `${origin}/internal/jobs/${record.id}/events`,
      now: Date.now(),
      signGet,
      cachedClassImages,
    });
  }

  /**
   * A finished class-image bundle is recorded next to the shared object, so the
   * next training with the same cache key gets its URL instead of making it again.
   */
  private async recordClassImages(record: JobRecord, event: Extract<BackendEvent, { type: "artifact" }>) {
    if (record.kind !== "train" || !record.class_images_cache_key) return;
    const manifest = { sha256: event.sha256, size: event.size, content_type: event.content_type, job_id: record.id };
    await this.env.BUCKET.put(
      r2Keys.classImagesManifest(record.base_model, record.class_images_cache_key),
      JSON.stringify(manifest),
      { httpMetadata: { contentType: "application/json" } },
    );
  }

  private publish(record: JobRecord, event: string, detail: unknown, id?: string): void {
    this.live.broadcast({ event, data: { job: jobView(record, this.origin()), detail }, id });
    if (isTerminal(record.status)) this.live.closeAll();
  }

  /** After a save that may have changed the status: the webhook and listing update it queued go out (see `save`). */
  private async indexStatus(): Promise<void> {
    if (this.timers.all().index === undefined) return;
    await this.timers.sync();
    await this.pushListing();
  }

  /**
   * Brings the account's listing to the stored status. The account ignores a version older than its own, so
   * a late or repeated push is harmless; the "index" timer goes only once the pushed version is still the
   * latest, and stays for the alarm to retry when the account could not be reached.
   */
  private async pushListing(): Promise<void> {
    const stored = this.loadVersioned();
    if (!stored) return;
    const { record, version } = stored;
    try {
      await accountStore(this.env, record.account_id).updateJobStatus(record.id, record.status, version);
    } catch (error) {
      console.warn("account listing update failed; retrying on the alarm", error);
      await this.timers.set("index", Date.now() + INDEX_RETRY_MS);
      return;
    }
    if (this.loadVersioned()?.version === version) await this.timers.clear("index");
  }

  private backendOf(record: JobRecord): GpuBackend {
    if (!isBackendName(record.backend)) {
      return { name: record.backend, dispatch: async () => unknownBackend(record.backend), cancel: async () => {} };
    }
    return createBackend(record.backend, this.env);
  }

  private limits(): Limits {
    return { maxAttempts: Number(this.env.MAX_ATTEMPTS) || 3, heartbeatS: this.heartbeatMs() / 1000 };
  }

  private budgets(): DispatchBudgets {
    return { busyMs: secondsVar(this.env.BUSY_TIMEOUT_S, 3600), unreachableMs: secondsVar(this.env.UNREACHABLE_TIMEOUT_S, 300) };
  }

  private heartbeatMs(): number {
    return secondsVar(this.env.HEARTBEAT_TIMEOUT_S, 600);
  }

  private load(): JobRecord | null {
    return this.loadVersioned()?.record ?? null;
  }

  /**
   * Stores the record. A changed status is counted, queues its webhook and the account listing's update in
   * the same write, so neither can be lost to a restart between them; `indexStatus` sends them.
   */
  private save(record: JobRecord): void {
    const stored = this.sql.exec<{ status: string }>("SELECT json_extract(record, '$.status') AS status FROM job WHERE one = 1").one().status;
    const changed = stored !== record.status;
    this.sql.exec("UPDATE job SET record = ?, status_version = status_version + ? WHERE one = 1", JSON.stringify(record), changed ? 1 : 0);
    if (!changed) return;
    const now = Date.now();
    if (record.webhook_url) {
      const type = webhookEventType(record);
      this.outbox.enqueue(type, webhookPayload(type, jobView(record, this.origin()), now), now);
      this.timers.put("webhook", now);
    }
    this.timers.put("index", now + INDEX_RETRY_MS);
  }

  private loadVersioned(): { record: JobRecord; version: number } | null {
    const row = this.sql.exec<{ record: string; status_version: number }>("SELECT record, status_version FROM job WHERE one = 1").toArray()[0];
    return row ? { record: JSON.parse(row.record) as JobRecord, version: row.status_version } : null;
  }

  private origin(): string {
    return this.sql.exec<{ origin: string }>("SELECT origin FROM job WHERE one = 1").one().origin;
  }

  private currentMessage(): JobMessage | null {
    const row = this.sql.exec<{ message: string | null }>("SELECT message FROM job WHERE one = 1").toArray()[0];
    return row?.message ? (JSON.parse(row.message) as JobMessage) : null;
  }
}

function unknownBackend(name: string): DispatchResult {
  return { outcome: "rejected", code: "unknown_backend", message: `No backend named ${name}` };
}

export function jobStore(env: Env, jobId: string): DurableObjectStub<JobDO> {
  return env.JOBS.get(env.JOBS.idFromName(jobId));
}
