/**
 * Named timers multiplexed onto a Durable Object's single alarm (the pattern of
 * tldraw's AlarmScheduler). A job needs several at once — the heartbeat
 * deadline, a dispatch retry after a busy backend, and the next poll of a backend
 * that reports by polling — and the platform gives one alarm, so the timers live
 * in a table and the alarm is always set to the earliest of them.
 */
export const TIMER_NAMES = ["heartbeat", "dispatch", "poll", "webhook", "billing", "notify", "index"] as const;
export type TimerName = (typeof TIMER_NAMES)[number];
export type Timers = Partial<Record<TimerName, number>>;

/** Timers whose time has come, earliest first. */
export function dueTimers(timers: Timers, now: number): TimerName[] {
  return TIMER_NAMES.filter((name) => timers[name] !== undefined && timers[name] <= now).sort(
    (a, b) => timers[a]! - timers[b]!,
  );
}

/** When the alarm should next ring, or null when no timer is set. */
export function nextAlarmAt(timers: Timers): number | null {
  const times = TIMER_NAMES.map((name) => timers[name]).filter((at): at is number => at !== undefined);
  return times.length === 0 ? null : Math.min(...times);
}

/** The timer table of one object, keeping the platform alarm on its earliest entry. */
export class AlarmTimers {
  constructor(private readonly storage: DurableObjectStorage) {
    storage.sql.exec("CREATE TABLE IF NOT EXISTS timers (name TEXT PRIMARY KEY, at INTEGER NOT NULL)");
  }

  all(): Timers {
    const timers: Timers = {};
    for (const row of this.storage.sql.exec<{ name: TimerName; at: number }>("SELECT name, at FROM timers")) {
      timers[row.name] = row.at;
    }
    return timers;
  }

  async set(name: TimerName, at: number): Promise<void> {
    this.put(name, at);
    await this.sync();
  }

  /**
   * Writes the timer without moving the platform alarm, so it can go into the same synchronous write as
   * the state it serves; the caller's next `set`, `clear` or `sync` points the alarm at it.
   */
  put(name: TimerName, at: number): void {
    this.storage.sql.exec("INSERT OR REPLACE INTO timers (name, at) VALUES (?, ?)", name, at);
  }

  async clear(...names: TimerName[]): Promise<void> {
    for (const name of names) this.storage.sql.exec("DELETE FROM timers WHERE name = ?", name);
    await this.sync();
  }

  /** Removes the due timers from the table and returns their names; the caller runs them. */
  async takeDue(now: number): Promise<TimerName[]> {
    const due = dueTimers(this.all(), now);
    for (const name of due) this.storage.sql.exec("DELETE FROM timers WHERE name = ?", name);
    await this.sync();
    return due;
  }

  /**
   * Points the platform alarm at the earliest timer. Called after every change and
   * at the end of each alarm run, since a run consumes the platform alarm even when
   * it found nothing due (an early or forced run).
   */
  async sync(): Promise<void> {
    const at = nextAlarmAt(this.all());
    if (at === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(at);
  }
}
