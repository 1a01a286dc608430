/**
 * How long the writers waited on a lock, as opposed to waiting for the machine.
 * A write stall (bench/writer.ts) is the time between two commits; on 2 shared
 * cores part of it is CPU and WAL flushes queued behind an index build, which
 * no lock timeout changes. This sampler polls pg_stat_activity for the
 * writers' backends and records each stretch in which one waited on a
 * heavyweight lock (`wait_event_type = 'Lock'`,
 * https://www.postgresql.org/docs/current/monitoring-stats.html#WAIT-EVENT-LOCK-TABLE),
 * with the sessions that blocked it (`pg_blocking_pids`). The part of a stall
 * a migration's lock is answerable for is its lock wait.
 */
import type { ClientBase } from "pg";
import type { WriterName } from "./stalls";

/** Pause between two polls; a wait is known to within this plus one poll's round trip. */
export const SAMPLE_INTERVAL_MS = 5;

/** One stretch of a writer waiting on a lock (performance.now() ms). */
export interface LockWait {
  readonly writer: WriterName;
  /** The last poll that saw the writer not waiting, so the wait is never under-stated. */
  readonly start: number;
  /** The first poll that saw it waiting no longer. */
  readonly end: number;
  /** The lock it waited for (`wait_event`: relation, transactionid, …). */
  readonly lock: string;
  /** What the blocking sessions were running when first seen: `pid application_name: query`. */
  readonly blockedBy: string;
}

interface Sample {
  readonly pid: number;
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
    const open = new Map<number, { start: number; lock: string; blockedBy: string }>();
    let previous = performance.now();
    while (!this.stopped) {
      const r = await this.client.query<Sample>(
        `SELECT a.pid, a.wait_event AS lock,
                (SELECT string_agg(format('%s %s: %s', b.pid, nullif(b.application_name, ''), left(b.query, 120)), '; ')
                   FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))) AS blocked_by
           FROM pg_stat_activity a
          WHERE a.pid = ANY ($1::int[]) AND a.wait_event_type = 'Lock'`,
        [pids],
      );
      const now = performance.now();
      const waiting = new Map(r.rows.map((s) => [s.pid, s]));
      for (const pid of pids) {
        const s = waiting.get(pid);
        const w = open.get(pid);
        if (s && !w) open.set(pid, { start: previous, lock: s.lock, blockedBy: s.blocked_by ?? "unknown (released before it was read)" });
        if (!s && w) {
          waits.push({ writer: names.get(pid)!, start: w.start, end: now, lock: w.lock, blockedBy: w.blockedBy });
          open.delete(pid);
        }
      }
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
    for (const [pid, w] of open) waits.push({ writer: names.get(pid)!, start: w.start, end: previous, lock: w.lock, blockedBy: w.blockedBy });
    return waits.sort((a, b) => a.start - b.start);
  }
}

/** The longest of `waits`, or undefined when no writer ever waited on a lock. */
export function longestLockWait(waits: readonly LockWait[]): LockWait | undefined {
  return waits.reduce<LockWait | undefined>((m, w) => (!m || w.end - w.start > m.end - m.start ? w : m), undefined);
}
