/**
 * What the writers waited for during a write stall: a migration's lock, or the
 * machine. A write stall (bench/writer.ts) is the time between two commits; on
 * 2 shared cores part of it can be CPU, or a commit's WAL flush queued behind
 * an index build's or a backfill's WAL, which no lock timeout changes. This
 * sampler polls pg_stat_activity for the writers' active backends and records
 * each stretch of one wait event (wait_event_type Lock for a heavyweight lock,
 * with the blocking sessions from pg_blocking_pids; LWLock, IO, … otherwise;
 * https://www.postgresql.org/docs/current/monitoring-stats.html#WAIT-EVENT-TABLE).
 * The part of a stall a migration's lock is answerable for is its Lock wait.
 */
import type { ClientBase } from "pg";
import { stallsByMigration, type MigrationWindow, type WriterName } from "./stalls";
import type { WriterReport } from "./writer";

/** Pause between two polls; a wait is known to within this plus one poll's round trip. */
export const SAMPLE_INTERVAL_MS = 5;

/** One stretch of a writer waiting on something (performance.now() ms). */
export interface LockWait {
  readonly writer: WriterName;
  /** `wait_event_type`: Lock for a heavyweight lock; LWLock, IO, IPC, … for the machine's own queues. */
  readonly type: string;
  /** The last poll that saw the writer not waiting, so the wait is never under-stated. */
  readonly start: number;
  /** The first poll that saw it waiting no longer. */
  readonly end: number;
  /** What it waited for (`wait_event`: relation, transactionid, WalSync, …). */
  readonly lock: string;
  /** For a Lock wait, what the blocking sessions were running when first seen: `pid application_name: query`; "" otherwise. */
  readonly blockedBy: string;
}

interface Sample {
  readonly pid: number;
  readonly type: string;
  readonly lock: string;
  readonly blocked_by: string | null;
}

/**
 * Polls on its own session until stopped. `writers` maps each writer to its
 * backend pid (`SELECT pg_backend_pid()` on the writer's connection).
 */
export class LockWaitSampler {
  private stopped = false;
  private done: Promise<LockWait[]> = Promise.resolve([]);

  constructor(
    private readonly client: ClientBase,
    private readonly writers: Readonly<Record<WriterName, number>>,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<LockWait[]> {
    this.stopped = true;
    return this.done;
  }

  private async run(): Promise<LockWait[]> {
    const names = new Map(Object.entries(this.writers).map(([name, pid]) => [pid, name as WriterName]));
    const pids = [...names.keys()];
    const waits: LockWait[] = [];
    const open = new Map<number, { start: number; type: string; lock: string; blockedBy: string }>();
    let previous = performance.now();
    while (!this.stopped) {
      const r = await this.client.query<Sample>(
        `SELECT a.pid, a.wait_event_type AS type, a.wait_event AS lock,
                CASE WHEN a.wait_event_type = 'Lock' THEN
                  (SELECT string_agg(format('%s %s: %s', b.pid, nullif(b.application_name, ''), left(b.query, 120)), '; ')
                     FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))) END AS blocked_by
           FROM pg_stat_activity a
          WHERE a.pid = ANY ($1::int[]) AND a.state = 'active' AND a.wait_event_type IS NOT NULL`,
        [pids],
      );
      const now = performance.now();
      const waiting = new Map(r.rows.map((s) => [s.pid, s]));
      for (const pid of pids) {
        const s = waiting.get(pid);
        const w = open.get(pid);
        // A stretch ends when the writer stops waiting or starts waiting for something else.
        if (w && (!s || s.type !== w.type || s.lock !== w.lock)) {
          waits.push({ writer: names.get(pid)!, start: w.start, end: now, type: w.type, lock: w.lock, blockedBy: w.blockedBy });
          open.delete(pid);
        }
        if (s && !open.has(pid)) {
          const blockedBy = s.type === "Lock" ? (s.blocked_by ?? "unknown (released before it was read)") : "";
          open.set(pid, { start: previous, type: s.type, lock: s.lock, blockedBy });
        }
      }
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
    for (const [pid, w] of open) waits.push({ writer: names.get(pid)!, start: w.start, end: previous, type: w.type, lock: w.lock, blockedBy: w.blockedBy });
    return waits.sort((a, b) => a.start - b.start);
  }
}

/** The heavyweight-lock waits among `waits`: what a migration's lock timeouts bound. */
export function lockWaitsOnly(waits: readonly LockWait[]): LockWait[] {
  return waits.filter((w) => w.type === "Lock");
}

/** The longest of `waits`, or undefined when there are none. */
export function longestLockWait(waits: readonly LockWait[]): LockWait | undefined {
  return waits.reduce<LockWait | undefined>((m, w) => (!m || w.end - w.start > m.end - m.start ? w : m), undefined);
}

/** What a writer waited for inside [start, end]: milliseconds per `type:event`, longest first. */
export function waitsDuring(waits: readonly LockWait[], writer: WriterName, start: number, end: number): [string, number][] {
  const total = new Map<string, number>();
  for (const w of waits) {
    const overlap = Math.min(w.end, end) - Math.max(w.start, start);
    if (w.writer === writer && overlap > 0) total.set(`${w.type}:${w.lock}`, (total.get(`${w.type}:${w.lock}`) ?? 0) + overlap);
  }
  return [...total].sort((a, b) => b[1] - a[1]);
}

/** The longest lock wait of a run, with the migration file it fell in. */
export interface LongestLockWait {
  readonly ms: number;
  readonly writer: WriterName;
  readonly lock: string;
  readonly blockedBy: string;
  readonly migration: string;
}

/**
 * What the migration phase reports of the sampled waits: the longest lock wait
 * per migration file and overall, and what the writer behind the longest write
 * stall waited on during it.
 */
export function summariseWaits(
  waits: readonly LockWait[],
  windows: readonly MigrationWindow[],
  report: Pick<WriterReport, "maxWriteStallMs" | "maxWriteStallEndedAt" | "maxWriteStallWriter">,
): { lockWaitByFile: Map<string, number>; longestLockWait?: LongestLockWait; longestStallWaits: string } {
  const locks = lockWaitsOnly(waits);
  const lockWaitByFile = new Map(stallsByMigration(locks, windows).map((w) => [w.migration, w.maxWriteStallMs]));
  const lw = longestLockWait(locks);
  const longest = lw && {
    ms: lw.end - lw.start,
    writer: lw.writer,
    lock: lw.lock,
    blockedBy: lw.blockedBy,
    migration: stallsByMigration([lw], windows).find((w) => w.writer !== null)?.migration ?? "none",
  };
  const spent = waitsDuring(waits, report.maxWriteStallWriter, report.maxWriteStallEndedAt - report.maxWriteStallMs, report.maxWriteStallEndedAt);
  const longestStallWaits = spent.length ? spent.map(([e, ms]) => `${e} ${ms.toFixed(0)} ms`).join(", ") : "nothing sampled (running on CPU)";
  return { lockWaitByFile, ...(longest ? { longestLockWait: longest } : {}), longestStallWaits };
}
