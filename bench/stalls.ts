/**
 * Which migration file each write stall fell in: the writers record every gap
 * between two consecutive commits, the run records when each migration file
 * started, and each file is charged with the longest part of any gap that
 * overlaps the time it was being applied. A gap that spans two files is split
 * at the boundary: the later file's "applying" line is logged only after the
 * earlier file committed, so the part after it cannot be the earlier file's lock.
 */

/** Which of the two writers (bench/writer.ts) saw a gap. */
export type WriterName = "events" | "progress";

/** Time between two consecutive commits of one writer (performance.now() ms). */
export interface WriteGap {
  readonly writer: WriterName;
  readonly start: number;
  readonly end: number;
}

/** When one attempt at one migration file ran (performance.now() ms). */
export interface MigrationWindow {
  readonly migration: string;
  readonly start: number;
  readonly end: number;
}

/** The worst stall charged to one migration file. */
export interface MigrationStall {
  readonly migration: string;
  /** Longest part of a writer's gap between commits inside this file's run (ms); 0 if no writer committed around it. */
  readonly maxWriteStallMs: number;
  /** The writer that saw it; null when no gap overlapped the file's run. */
  readonly writer: WriterName | null;
}

/**
 * Windows from the engine's "applying <file>" moments, in order, and the moment
 * the apply returned: each attempt runs until the next one starts.
 */
export function migrationWindows(started: readonly (readonly [number, string])[], end: number): MigrationWindow[] {
  return started.map(([start, migration], i) => ({ migration, start, end: i + 1 < started.length ? started[i + 1][0] : end }));
}

/**
 * The longest overlap of any gap with each file's windows (a file retried by the
 * engine has several), one row per file in the order the files first started.
 * `measure` says how long an overlap counts for: its length, or less (the part
 * during which the machine ran, bench/host.ts PauseMeter).
 */
export function stallsByMigration(
  gaps: readonly WriteGap[],
  windows: readonly MigrationWindow[],
  measure: (start: number, end: number) => number = (start, end) => end - start,
): MigrationStall[] {
  const worst = new Map<string, { ms: number; writer: WriterName | null }>();
  for (const w of windows) {
    const row = worst.get(w.migration) ?? { ms: 0, writer: null };
    for (const g of gaps) {
      const start = Math.max(g.start, w.start);
      const end = Math.min(g.end, w.end);
      if (end <= start) continue;
      const overlap = measure(start, end);
      if (overlap > row.ms) {
        row.ms = overlap;
        row.writer = g.writer;
      }
    }
    worst.set(w.migration, row);
  }
  return [...worst].map(([migration, r]) => ({ migration, maxWriteStallMs: r.ms, writer: r.writer }));
}
