/** Signal family — Storage: disk, the buffer cache and temp files. */
import { BOTH, COUNT_WINDOW, M, RATE_WINDOW, SAMPLE_PERIOD_SECONDS, SUSTAINED_SECONDS, guardedRatio, levels, series, type Signal } from "./signal";

/** Disk utilisation. Source: the platform team's write-up, "Alert Conditions" ("> 80% warning / > 90% critical"). */
export const DISK_UTILISATION_WARNING = 0.8;
export const DISK_UTILISATION_CRITICAL = 0.9;
/** Buffer-cache hit ratio. Source: the platform team's write-up, "Alert Conditions" ("< 70% warning / < 50% critical"). */
export const CACHE_HIT_RATIO_WARNING = 0.7;
export const CACHE_HIT_RATIO_CRITICAL = 0.5;
/**
 * Block reads per second (buffer cache + disk) under which the buffer-cache
 * hit ratio is not judged. An idle instance (the DR replica, a quiet night)
 * reads a handful of blocks, and a ratio over those swings between 0 and 1;
 * at under 100 reads a second even an all-miss ratio costs fewer disk reads
 * than any query latency would show. The team's level, not Google's.
 */
export const MIN_BLOCK_READS_PER_SECOND = 100;

/** This family's signals, in dashboard order. */
export const STORAGE_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "disk",
    title: "Disk utilisation",
    row: "storage",
    roles: BOTH,
    metrics: [M.disk],
    unit: "10^2.%",
    expr: (c) => `max(${series(M.disk, c)})`,
    direction: "above",
    levels: levels(DISK_UTILISATION_WARNING, DISK_UTILISATION_CRITICAL, SAMPLE_PERIOD_SECONDS),
    meaning: "The data disk is filling up. Autoresize grows it up to lp-db:diskAutoresizeLimitGb, then writes stop.",
    action: "Check what grew (tables, WAL held by a slot, temp files); raise the autoresize limit or drop old partitions.",
    anchor: "disk",
  },
  {
    id: "cache-hit-ratio",
    title: "Buffer-cache hit ratio",
    row: "storage",
    roles: BOTH,
    metrics: [M.blocks],
    unit: "10^2.%",
    // Buffer-cache reads over all block reads (buffer cache + disk), only while there are enough reads to judge.
    expr: (c) =>
      guardedRatio(
        `sum(rate(${series(M.blocks, c, { source: "buffer_cache" })}[${RATE_WINDOW}]))`,
        `sum(rate(${series(M.blocks, c)}[${RATE_WINDOW}]))`,
        MIN_BLOCK_READS_PER_SECOND,
      ),
    direction: "below",
    levels: levels(CACHE_HIT_RATIO_WARNING, CACHE_HIT_RATIO_CRITICAL, SUSTAINED_SECONDS),
    meaning: `Fewer block reads than the level are served from shared buffers; queries go to disk. Judged only above ${MIN_BLOCK_READS_PER_SECOND} block reads a second, so an idle instance does not page.`,
    action: "Look for new sequential scans over large tables (missing index) or a working set that outgrew memory.",
    anchor: "cache-hit-ratio",
  },
  {
    id: "temp-bytes",
    title: "Temp file bytes written per second",
    row: "storage",
    roles: BOTH,
    metrics: [M.tempBytes],
    unit: "By/s",
    expr: (c) => `sum(rate(${series(M.tempBytes, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "temp-files-logged",
    title: `Large temp files logged per ${COUNT_WINDOW}`,
    row: "storage",
    roles: BOTH,
    metrics: [M.tempFileLog],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.tempFileLog, c, {}, "_count")}[${COUNT_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "disk-bytes",
    title: "Disk bytes used",
    row: "storage",
    roles: BOTH,
    metrics: [M.diskBytes],
    unit: "By",
    expr: (c) => `max(${series(M.diskBytes, c)})`,
    direction: "above",
  },
] satisfies Signal[]);
