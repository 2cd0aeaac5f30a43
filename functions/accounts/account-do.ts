/**
 * One SQLite-backed Durable Object per account: its subjects (with the photo
 * manifest `finalize` accepted) and an index of its trainings and generations.
 * Every id a client names is looked up here, inside the caller's own account, so
 * tenant isolation is structural: another account's id is simply absent (404).
 * Subjects and jobs also carry the mode of the key that made them (Stripe's model):
 * listings here take the mode, and lookups compare it, so a test key never sees a
 * live object and a live key never sees a test one.
 * The job objects own job state; this index only records which jobs exist, their
 * subject/training, and their last known status for listings.
 *
 * Billing lives here too, because everything it guards is per account and must be
 * decided atomically: the key list with each key's rate-limit bucket, the credits
 * ledger with its reservations, idempotency keys, and the account's settings (plan,
 * default webhook). One object per account means one thread deciding each of these,
 * with no cross-object transaction ever needed.
 */
import { DurableObject } from "cloudflare:workers";
import { isTerminal, type JobStatus } from "../../shared/index.js";
import { AccountSettings, type Settings } from "../billing/account-settings.js";
import { IdempotencyStore, type IdempotencyBegin, type StoredResponse } from "../billing/idempotency-store.js";
import { Ledger, type LedgerEntry, type Reservation, type ReserveOutcome } from "../billing/ledger.js";
import type { PlanName } from "../billing/plans.js";
import { cursorSeq, page, type Page } from "../pagination.js";
import type { PageQuery, Photo, Subject } from "../subjects/schemas.js";
import type { KeyMode } from "./api-keys.js";
import { KeyRegistry, type Admission, type KeyInfo } from "./key-registry.js";
import { addColumnIfMissing } from "../storage/sql-columns.js";

export interface TrainingEntry {
  id: string;
  mode: KeyMode;
  subject_id: string;
  status: JobStatus;
  created_at: number;
}

export interface GenerationEntry {
  id: string;
  mode: KeyMode;
  training_id: string;
  status: JobStatus;
  created_at: number;
}

type SubjectRow = {
  seq: number;
  id: string;
  name: string;
  class_noun: string;
  identifier: string;
  status: Subject["status"];
  mode: KeyMode;
  photos: string;
  created_at: number;
  finalized_at: number | null;
};

type JobRow = { seq: number; id: string; kind: string; mode: KeyMode; parent_id: string; status: JobStatus; created_at: number };

function toSubject(row: SubjectRow): Subject {
  const { seq: _seq, photos, ...fields } = row;
  return { ...fields, photos: JSON.parse(photos) as Photo[] };
}

export interface Usage {
  balance: number;
  reserved: number;
  reservations: Reservation[];
  ledger: Page<LedgerEntry>;
}

export class AccountDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly keys: KeyRegistry;
  private readonly ledger: Ledger;
  private readonly idempotency: IdempotencyStore;
  private readonly settings: AccountSettings;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // `seq` (the rowid) orders listings by creation and makes a stable pagination cursor.
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS subjects (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
        class_noun TEXT NOT NULL, identifier TEXT NOT NULL, status TEXT NOT NULL,
        photos TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL, finalized_at INTEGER);
      CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
        parent_id TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs (kind, parent_id);
    `);
    // Objects made before modes were recorded were all made by live keys.
    for (const table of ["subjects", "jobs"]) addColumnIfMissing(this.sql, table, "mode", "TEXT NOT NULL DEFAULT 'live'");
    // The job object's count of its status changes (0: the status it was recorded with), so an update that
    // arrives late never overwrites a newer one.
    addColumnIfMissing(this.sql, "jobs", "status_version", "INTEGER NOT NULL DEFAULT 0");
    // A job starts before the account records it (start-job.ts), so its first status change can arrive first.
    this.sql.exec("CREATE TABLE IF NOT EXISTS early_job_status (id TEXT PRIMARY KEY, status TEXT NOT NULL, status_version INTEGER NOT NULL)");
    this.keys = new KeyRegistry(this.sql);
    this.ledger = new Ledger(ctx.storage);
    this.idempotency = new IdempotencyStore(this.sql);
    this.settings = new AccountSettings(this.sql);
  }

  accountSettings(): Settings {
    return this.settings.get();
  }

  updateSettings(changes: { plan?: PlanName; webhook_url?: string | null }): Settings {
    return this.settings.update(changes);
  }

  addKey(entry: { id: string; hash: string; name: string; mode: KeyMode; key: string }): KeyInfo {
    return this.keys.add(entry, Date.now());
  }

  listKeys(): KeyInfo[] {
    return this.keys.list();
  }

  revokeKey(id: string): string | null {
    return this.keys.revoke(id, Date.now());
  }

  /** Auth's second half: the key is not revoked and its bucket has a token. */
  admit(keyHash: string): Admission {
    return this.keys.admit(keyHash, this.settings.plan(), Date.now());
  }

  grantCredits(amount: number, note: string | null): number {
    return this.ledger.grant(amount, note, Date.now());
  }

  reserve(job: { id: string; kind: string }, price: number): ReserveOutcome & { webhook_url: string | null } {
    const outcome = this.ledger.reserve(job, price, this.settings.plan().concurrent_jobs, Date.now());
    return { ...outcome, webhook_url: this.settings.get().webhook_url };
  }

  finishJob(jobId: string, outcome: "settle" | "release"): Reservation | null {
    return this.ledger.finish(jobId, outcome, Date.now());
  }

  usage(query: PageQuery): Usage {
    const reservations = this.ledger.activeReservations();
    return {
      balance: this.ledger.balance(),
      reserved: reservations.reduce((sum, reservation) => sum + reservation.amount, 0),
      reservations,
      ledger: this.ledger.entries(query.limit, query.cursor),
    };
  }

  beginIdempotent(key: string, fingerprint: string): IdempotencyBegin {
    return this.idempotency.begin(key, fingerprint, Date.now());
  }

  completeIdempotent(key: string, response: StoredResponse): void {
    this.idempotency.complete(key, response);
  }

  abandonIdempotent(key: string): void {
    this.idempotency.abandon(key);
  }

  createSubject(subject: Pick<Subject, "id" | "name" | "class_noun" | "identifier" | "mode" | "created_at">): Subject {
    this.sql.exec(
      "INSERT INTO subjects (id, name, class_noun, identifier, status, mode, created_at) VALUES (?, ?, ?, ?, 'draft', ?, ?)",
      subject.id,
      subject.name,
      subject.class_noun,
      subject.identifier,
      subject.mode,
      subject.created_at,
    );
    return this.getSubject(subject.id)!;
  }

  getSubject(id: string): Subject | null {
    const row = this.sql.exec<SubjectRow>("SELECT * FROM subjects WHERE id = ?", id).toArray()[0];
    return row ? toSubject(row) : null;
  }

  listSubjects(query: PageQuery & { mode: KeyMode }): Page<Subject> {
    const rows = this.sql
      .exec<SubjectRow>(
        "SELECT * FROM subjects WHERE mode = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        query.mode,
        cursorSeq(query.cursor),
        query.limit + 1,
      )
      .toArray();
    return page(rows, query.limit, toSubject);
  }

  /** Records the accepted photo set; the subject becomes `ready` for training. */
  finalizeSubject(id: string, photos: Photo[], now: number): Subject | null {
    this.sql.exec(
      "UPDATE subjects SET status = 'ready', photos = ?, finalized_at = ? WHERE id = ?",
      JSON.stringify(photos),
      now,
      id,
    );
    return this.getSubject(id);
  }

  /**
   * Forgets the subject and every job made from it, returning their ids so the
   * caller can stop the live ones and delete their R2 objects. Generations hang
   * off trainings, so they go too.
   */
  deleteSubject(id: string): { trainings: string[]; generations: string[]; live: string[] } | null {
    if (!this.getSubject(id)) return null;
    const trainings = this.sql
      .exec<JobRow>("SELECT * FROM jobs WHERE kind = 'training' AND parent_id = ?", id)
      .toArray();
    const generations = trainings.flatMap((training) =>
      this.sql.exec<JobRow>("SELECT * FROM jobs WHERE kind = 'generation' AND parent_id = ?", training.id).toArray(),
    );
    const jobs = [...trainings, ...generations];
    this.ctx.storage.transactionSync(() => {
      for (const job of jobs) this.sql.exec("DELETE FROM jobs WHERE id = ?", job.id);
      this.sql.exec("DELETE FROM subjects WHERE id = ?", id);
    });
    return {
      trainings: trainings.map((job) => job.id),
      generations: generations.map((job) => job.id),
      live: jobs.filter((job) => !isTerminal(job.status)).map((job) => job.id),
    };
  }

  recordTraining(entry: TrainingEntry): void {
    this.recordJob("training", entry, entry.subject_id);
  }

  recordGeneration(entry: GenerationEntry): void {
    this.recordJob("generation", entry, entry.training_id);
  }

  /**
   * Keeps the listing's status current; the job object remains the source of truth. `version` is the job's
   * count of status changes: an update older than the one stored (delivered late, or retried after a newer
   * one) is ignored.
   */
  updateJobStatus(id: string, status: JobStatus, version: number): void {
    if (this.sql.exec("SELECT 1 FROM jobs WHERE id = ?", id).toArray().length === 0) {
      // Not recorded yet: kept until `recordJob` (or dropped with nothing to apply to, if it never comes).
      this.sql.exec(
        "INSERT INTO early_job_status (id, status, status_version) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, status_version = excluded.status_version WHERE excluded.status_version > early_job_status.status_version",
        id,
        status,
        version,
      );
      return;
    }
    this.applyJobStatus(id, status, version);
  }

  /** Moves a recorded job's status, unless the stored one is as new or newer. */
  private applyJobStatus(id: string, status: JobStatus, version: number): void {
    this.sql.exec("UPDATE jobs SET status = ?, status_version = ? WHERE id = ? AND status_version < ?", status, version, id, version);
  }

  getTraining(id: string): TrainingEntry | null {
    const row = this.jobRow("training", id);
    return row ? trainingEntry(row) : null;
  }

  getGeneration(id: string): GenerationEntry | null {
    const row = this.jobRow("generation", id);
    return row ? generationEntry(row) : null;
  }

  /** One mode's trainings newest first, optionally of one subject and in one status. */
  listTrainings(query: PageQuery & { mode: KeyMode; subject_id?: string; status?: JobStatus }): Page<TrainingEntry> {
    const rows = this.jobRows("training", query, { mode: query.mode, parent: query.subject_id, status: query.status });
    return page(rows, query.limit, trainingEntry);
  }

  /** One mode's generations newest first, optionally of one training or of any training of one subject, and in one status. */
  listGenerations(query: PageQuery & { mode: KeyMode; training_id?: string; subject_id?: string; status?: JobStatus }): Page<GenerationEntry> {
    const rows = this.jobRows("generation", query, { mode: query.mode, parent: query.training_id, grandparent: query.subject_id, status: query.status });
    return page(rows, query.limit, generationEntry);
  }

  private recordJob(kind: string, entry: { id: string; mode: KeyMode; status: JobStatus; created_at: number }, parentId: string): void {
    // Idempotent, so a retried create never indexes a job twice; the status moves only by `updateJobStatus`.
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        "INSERT INTO jobs (id, kind, mode, parent_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        entry.id,
        kind,
        entry.mode,
        parentId,
        entry.status,
        entry.created_at,
      );
      const early = this.sql.exec<{ status: JobStatus; status_version: number }>("DELETE FROM early_job_status WHERE id = ? RETURNING status, status_version", entry.id).toArray()[0];
      if (early) this.applyJobStatus(entry.id, early.status, early.status_version);
    });
  }

  private jobRow(kind: string, id: string): JobRow | undefined {
    return this.sql.exec<JobRow>("SELECT * FROM jobs WHERE kind = ? AND id = ?", kind, id).toArray()[0];
  }

  /** One page of the job index; `grandparent` filters generations by their training's subject. */
  private jobRows(kind: string, query: PageQuery, filter: { mode: KeyMode; parent?: string; grandparent?: string; status?: JobStatus }): JobRow[] {
    const conditions = ["job.kind = ?", "job.mode = ?", "job.seq < ?"];
    const bindings: (string | number)[] = [kind, filter.mode, cursorSeq(query.cursor)];
    if (filter.parent !== undefined) {
      conditions.push("job.parent_id = ?");
      bindings.push(filter.parent);
    }
    if (filter.grandparent !== undefined) {
      conditions.push("job.parent_id IN (SELECT id FROM jobs WHERE kind = 'training' AND parent_id = ?)");
      bindings.push(filter.grandparent);
    }
    if (filter.status !== undefined) {
      conditions.push("job.status = ?");
      bindings.push(filter.status);
    }
    const sql = `SELECT job.* FROM jobs AS job WHERE ${conditions.join(" AND ")} ORDER BY job.seq DESC LIMIT ?`;
    return this.sql.exec<JobRow>(sql, ...bindings, query.limit + 1).toArray();
  }
}

function trainingEntry(row: JobRow): TrainingEntry {
  return { id: row.id, mode: row.mode, subject_id: row.parent_id, status: row.status, created_at: row.created_at };
}

function generationEntry(row: JobRow): GenerationEntry {
  return { id: row.id, mode: row.mode, training_id: row.parent_id, status: row.status, created_at: row.created_at };
}

export function accountStore(env: Env, accountId: string): DurableObjectStub<AccountDO> {
  return env.ACCOUNTS.get(env.ACCOUNTS.idFromName(accountId));
}
