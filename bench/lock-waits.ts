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
 * Beside the writers, each poll records which other backends were doing I/O
 * (the one flushing the WAL a commit waits for, a checkpoint, an index build)
 * and the kernel's dirty and under-writeback page cache (/proc/meminfo), so a
 * stall on the disk says whose I/O it queued behind; and the CPU time the
 * kernel has accounted (/proc/stat), so a stall during which nothing in the
 * machine ran at all says so (bench/host.ts, PauseMeter).
 */
import * as fs from "fs";
import type { ClientBase } from "pg";
import { MIN_PAUSE_MS, meminfoKb, parseCpuTicks, type CpuSample, type PauseMeter } from "./host";
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
  /** Who a non-writer backend is: its backend_type, or for a session `pid application_name: query`. */
  readonly who: string;
}

/** A stretch of another backend's I/O wait while the writers ran (performance.now() ms). */
export interface OtherIo {
  readonly who: string;
  /** `IO:<wait_event>`, e.g. IO:WalSync for the backend fsyncing the WAL. */
  readonly event: string;
  readonly start: number;
  readonly end: number;
}

/** The kernel's page cache at one poll, in kB (Linux /proc/meminfo Dirty and Writeback). */
export interface PageCacheSample {
  readonly at: number;
  readonly dirtyKb: number;
  readonly writebackKb: number;
}

/** Dirty and Writeback from /proc/meminfo text; undefined when either is missing. */
export function parseMeminfo(text: string, at: number): PageCacheSample | undefined {
  const dirtyKb = meminfoKb(text, "Dirty");
  const writebackKb = meminfoKb(text, "Writeback");
  return dirtyKb !== undefined && writebackKb !== undefined ? { at, dirtyKb, writebackKb } : undefined;
}

/** A /proc file's text; "" where there is none (not Linux), so no samples of it are kept. */
function readProc(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Where the sampler reads the kernel's counters; tests give their own. */
export interface ProcReaders {
  /** /proc/meminfo text. */
  readonly meminfo: () => string;
  /** /proc/stat text. */
  readonly stat: () => string;
}

const LINUX_PROC: ProcReaders = { meminfo: () => readProc("/proc/meminfo"), stat: () => readProc("/proc/stat") };

/**
 * Polls on its own session until stopped. `writers` maps each writer to its
 * backend pid (`SELECT pg_backend_pid()` on the writer's connection).
 */
export class LockWaitSampler {
  private stopped = false;
  private done: Promise<LockWait[]> = Promise.resolve([]);
  /** Other backends' I/O waits, complete once stop() has returned. */
  readonly otherIo: OtherIo[] = [];
  /** The page cache at each poll, complete once stop() has returned. */
  readonly pageCache: PageCacheSample[] = [];
  /** The CPU time accounted by each poll, complete once stop() has returned. */
  readonly cpu: CpuSample[] = [];

  constructor(
    private readonly client: ClientBase,
    private readonly writers: Readonly<Record<WriterName, number>>,
    private readonly proc: ProcReaders = LINUX_PROC,
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
    const writerWaits = new Stretches<{ type: string; lock: string; blockedBy: string }>((pid, w, end) =>
      waits.push({ writer: names.get(pid)!, start: w.start, end, ...w.info }),
    );
    const otherWaits = new Stretches<{ who: string; event: string }>((_pid, o, end) => this.otherIo.push({ start: o.start, end, ...o.info }));
    let previous = performance.now();
    while (!this.stopped) {
      const r = await this.client.query<Sample>(
        `SELECT a.pid, a.wait_event_type AS type, a.wait_event AS lock,
                CASE WHEN a.wait_event_type = 'Lock' THEN
                  (SELECT string_agg(format('%s %s: %s', b.pid, nullif(b.application_name, ''), left(b.query, 120)), '; ')
                     FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid))) END AS blocked_by,
                CASE WHEN a.backend_type = 'client backend' THEN format('%s %s: %s', a.pid, nullif(a.application_name, ''), left(a.query, 80))
                     ELSE a.backend_type END AS who
           FROM pg_stat_activity a
          WHERE a.wait_event_type IS NOT NULL
            AND ((a.pid = ANY ($1::int[]) AND a.state = 'active')
                 OR (a.wait_event_type = 'IO' AND a.pid <> pg_backend_pid() AND a.pid <> ALL ($1::int[])))`,
        [pids],
      );
      const now = performance.now();
      const cache = parseMeminfo(this.proc.meminfo(), now);
      if (cache) this.pageCache.push(cache);
      const ticks = parseCpuTicks(this.proc.stat());
      if (ticks !== undefined) this.cpu.push({ at: now, ticks });
      // A stretch ends when its backend stops waiting or starts waiting for something else.
      writerWaits.advance(
        r.rows.filter((s) => names.has(s.pid)).map((s) => ({
          pid: s.pid,
          key: `${s.type}:${s.lock}`,
          info: { type: s.type, lock: s.lock, blockedBy: s.type === "Lock" ? (s.blocked_by ?? "unknown (released before it was read)") : "" },
        })),
        previous,
        now,
      );
      otherWaits.advance(
        r.rows.filter((s) => !names.has(s.pid)).map((s) => ({ pid: s.pid, key: `IO:${s.lock}`, info: { who: s.who, event: `IO:${s.lock}` } })),
        previous,
        now,
      );
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
    writerWaits.advance([], previous, previous);
    otherWaits.advance([], previous, previous);
    this.otherIo.sort((a, b) => a.start - b.start);
    return waits.sort((a, b) => a.start - b.start);
  }
}

/**
 * The open waits of several backends, one per pid: each poll ends the ones
 * whose backend is no longer seen waiting on the same thing (`close` gets
 * them with the poll's time as their end) and opens one for each backend newly
 * seen waiting, from the previous poll, so a wait is never under-stated; what
 * a stretch records (`info`) is taken when it opens.
 */
class Stretches<T> {
  private readonly open = new Map<number, { readonly start: number; readonly key: string; readonly info: T }>();

  constructor(private readonly close: (pid: number, stretch: { readonly start: number; readonly info: T }, end: number) => void) {}

  advance(seen: readonly { readonly pid: number; readonly key: string; readonly info: T }[], previous: number, now: number): void {
    const byPid = new Map(seen.map((s) => [s.pid, s]));
    for (const [pid, w] of this.open) {
      if (byPid.get(pid)?.key !== w.key) {
        this.close(pid, w, now);
        this.open.delete(pid);
      }
    }
    for (const s of seen) if (!this.open.has(s.pid)) this.open.set(s.pid, { start: previous, key: s.key, info: s.info });
  }
}

/**
 * What else was happening during [start, end]: the other backends' I/O waits
 * (milliseconds per who and event, longest first), the most page cache seen
 * dirty and under writeback, and how much of it the machine itself was paused.
 */
export function meanwhile(others: readonly OtherIo[], cache: readonly PageCacheSample[], start: number, end: number, pauses?: PauseMeter): string {
  const io = timeInside(others, (o) => `${o.event} by ${o.who}`, start, end).map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`);
  const during = cache.filter((c) => c.at >= start && c.at <= end);
  const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;
  const pageCache = during.length
    ? `page cache up to ${mb(Math.max(...during.map((c) => c.dirtyKb)))} dirty, ${mb(Math.max(...during.map((c) => c.writebackKb)))} under writeback`
    : "page cache not sampled";
  const parts = [io.length ? `other backends' I/O: ${io.join(", ")}` : "no other backend seen in I/O", pageCache];
  if (pauses) parts.push(describePause(pauses.pausedMs(start, end), end - start));
  return parts.join("; ");
}

/** How much of a stretch of `ms` the machine was paused, in words. */
export function describePause(pausedMs: number, ms: number): string {
  if (pausedMs < MIN_PAUSE_MS) return "no pause of the machine seen";
  return (
    `the machine was paused for ${pausedMs.toFixed(0)} ms of it (${Math.round((100 * pausedMs) / ms)} %): its CPUs were accounted no time in /proc/stat, ` +
    `not even idle time, so nothing in it ran (bench/host.ts)`
  );
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
  return timeInside(waits.filter((w) => w.writer === writer), (w) => `${w.type}:${w.lock}`, start, end);
}

/** Milliseconds of the stretches inside [start, end], summed per key, longest first. */
function timeInside<T extends { readonly start: number; readonly end: number }>(stretches: readonly T[], key: (t: T) => string, start: number, end: number): [string, number][] {
  const total = new Map<string, number>();
  for (const t of stretches) {
    const overlap = Math.min(t.end, end) - Math.max(t.start, start);
    if (overlap > 0) total.set(key(t), (total.get(key(t)) ?? 0) + overlap);
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
 * per migration file and overall, what the writer behind the longest write
 * stall waited on during it, and what the other backends, the page cache and
 * the machine itself were doing meanwhile.
 */
export function summariseWaits(
  waits: readonly LockWait[],
  windows: readonly MigrationWindow[],
  report: Pick<WriterReport, "maxWriteStallMs" | "maxWriteStallEndedAt" | "maxWriteStallWriter">,
  context: { readonly otherIo: readonly OtherIo[]; readonly pageCache: readonly PageCacheSample[]; readonly pauses?: PauseMeter } = { otherIo: [], pageCache: [] },
): { lockWaitByFile: Map<string, number>; longestLockWait?: LongestLockWait; longestStallWaits: string; longestStallMeanwhile: string } {
  const locks = lockWaitsOnly(waits);
  const lockWaitByFile = new Map(stallsByMigration(locks, windows).map((w) => [w.migration, w.maxWriteStallMs]));
  const lw = longestLockWait(locks);
  const longest = lw && {
    ms: lw.end - lw.start,
    writer: lw.writer,
    lock: lw.lock,
    blockedBy: lw.blockedBy,
    // The file it overlaps most: a wait's start is the poll before it, so it may reach a few ms into the file before.
    migration: stallsByMigration([lw], windows).reduce((a, w) => (w.maxWriteStallMs > a.ms ? { ms: w.maxWriteStallMs, migration: w.migration } : a), { ms: 0, migration: "none" }).migration,
  };
  const stallStart = report.maxWriteStallEndedAt - report.maxWriteStallMs;
  const spent = waitsDuring(waits, report.maxWriteStallWriter, stallStart, report.maxWriteStallEndedAt);
  const longestStallWaits = spent.length ? spent.map(([e, ms]) => `${e} ${ms.toFixed(0)} ms`).join(", ") : "nothing sampled (running on CPU)";
  const longestStallMeanwhile = meanwhile(context.otherIo, context.pageCache, stallStart, report.maxWriteStallEndedAt, context.pauses);
  return { lockWaitByFile, ...(longest ? { longestLockWait: longest } : {}), longestStallWaits, longestStallMeanwhile };
}
