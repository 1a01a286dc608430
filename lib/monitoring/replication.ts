/** Signal family — Replication: how far each replica is behind its primary. */
import { M, SAMPLE_PERIOD_SECONDS, levels, series, type Signal } from "./signal";

/** Replication lag, seconds. Source: issue 7 and the write-up ("> 10s warning / > 30s critical"). */
export const REPLICATION_LAG_WARNING_S = 10;
export const REPLICATION_LAG_CRITICAL_S = 30;

/** This family's signals, in dashboard order. */
export const REPLICATION_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "replication-lag",
    title: "Replication lag (s)",
    row: "replication",
    roles: ["replica"],
    metrics: [M.lag],
    unit: "s",
    expr: (c) => `max(${series(M.lag, c)})`,
    direction: "above",
    levels: levels(REPLICATION_LAG_WARNING_S, REPLICATION_LAG_CRITICAL_S, 2 * SAMPLE_PERIOD_SECONDS),
    meaning: "This replica is behind its primary by more than the level; reads from it are stale.",
    action: "Check the primary's write rate and the replica's CPU and disk; take the replica out of read rotation (weight 0) if it keeps falling behind.",
    anchor: "replication-lag",
    runbook: "promote-a-replica",
  },
  {
    id: "replica-byte-lag",
    title: "Replication lag (bytes, from the primary)",
    row: "replication",
    roles: ["primary"],
    metrics: [M.byteLag],
    unit: "By",
    expr: (c) => `max by (replica_name) (${series(M.byteLag, c, { replica_lag_type: "replay_location" })})`,
    direction: "above",
  },
] satisfies Signal[]);
