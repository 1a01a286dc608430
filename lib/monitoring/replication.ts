/**
 * Signal family — Replication: whether each replica replicates at all, and how
 * far it is behind its primary, in time (on the replica) and in WAL bytes (on
 * the primary, per replica). Read pools are replicas here too.
 *
 * `replica_lag` alone cannot see replication that stops: it "goes negative
 * when replication is inactive" and measures apply lag only. The state metric
 * and the byte lag cover that. Source for all three metrics (kind, labels,
 * values): https://cloud.google.com/sql/docs/postgres/admin-api/metrics
 * (= https://cloud.google.com/monitoring/api/metrics_gcp_c, section cloudsql).
 */
import { M, SAMPLE_PERIOD_SECONDS, SUSTAINED_SECONDS, levels, series, type Signal } from "./signal";

/** Replication lag, seconds. Source: the platform team's write-up, "Alert Conditions" ("> 10s warning / > 30s critical"). */
export const REPLICATION_LAG_WARNING_S = 10;
export const REPLICATION_LAG_CRITICAL_S = 30;
/**
 * Replication not running: warning after two samples (a replica restart or
 * maintenance stops it for about a minute), critical after ten minutes (longer
 * than a maintenance restart; the replica's data is aging and, for the DR
 * replica, the recovery point with it).
 */
export const REPLICATION_STOPPED_WARNING_S = 2 * SAMPLE_PERIOD_SECONDS;
export const REPLICATION_STOPPED_CRITICAL_S = 10 * SAMPLE_PERIOD_SECONDS;
/**
 * WAL the primary has generated that a replica has not replayed, bytes. The
 * team's levels, not Google's (Google publishes none): 512 MiB is 32 WAL
 * segments of 16 MiB, more than a healthy replica lags even under a bulk
 * load; 4 GiB is minutes of writes at the primary's peak rate, and WAL the
 * primary's disk keeps for the replica.
 */
export const REPLICA_BYTE_LAG_WARNING = 512 * 1024 ** 2;
export const REPLICA_BYTE_LAG_CRITICAL = 4 * 1024 ** 3;

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
    id: "replication-state",
    title: "Replication not running",
    row: "replication",
    roles: ["replica"],
    metrics: [M.replicationState],
    unit: "1",
    // 1 while replication is not running, 0 while it runs. The state label is
    // "Running", "Stopped" or "Error" (metrics list). Whether Cloud SQL writes
    // one series per state (like instance_state) or only the current one is
    // not documented, so both shapes are read: a true Stopped/Error series, or
    // a Running series that is false. PromQL reads BOOL as 1 / 0.
    expr: (c) =>
      `max(${series(M.replicationState, c, { state: { re: "Stopped|Error" } })}) or (1 - max(${series(M.replicationState, c, { state: "Running" })}))`,
    direction: "above",
    levels: levels(0, 0, REPLICATION_STOPPED_WARNING_S, REPLICATION_STOPPED_CRITICAL_S),
    meaning: "Replication on this replica is Stopped or in Error: it serves reads from a frozen copy, and replica_lag no longer measures anything.",
    action: "Take the replica out of read rotation (weight 0); check its Operations tab and the primary's disk (WAL kept for it); restart replication or recreate the replica.",
    anchor: "replication-stopped",
    runbook: "promote-a-replica",
  },
  {
    id: "replica-byte-lag",
    title: "Replication lag (bytes, from the primary, per replica)",
    row: "replication",
    roles: ["primary"],
    metrics: [M.byteLag],
    unit: "By",
    // Reported by the primary per replica (read pool nodes included); replay_location is the full lag, sent to replayed.
    expr: (c) => `max by (replica_name) (${series(M.byteLag, c, { replica_lag_type: "replay_location" })})`,
    direction: "above",
    levels: levels(REPLICA_BYTE_LAG_WARNING, REPLICA_BYTE_LAG_CRITICAL, SUSTAINED_SECONDS),
    meaning: "A replica (named in the incident's replica_name label) has not replayed this much of the primary's WAL: it is stalled or far behind, even where its replica_lag reads 0 or negative.",
    action: "Find the replica by replica_name; check its replication state, CPU and disk; take it out of read rotation (weight 0) until it catches up.",
    anchor: "replication-stopped",
  },
] satisfies Signal[]);
