/** Signal family — Compute, memory, transaction IDs and locks. */
import { BOTH, COUNT_WINDOW, M, SAMPLE_PERIOD_SECONDS, SUSTAINED_SECONDS, levels, series, type Signal } from "./signal";

/**
 * CPU utilisation of the reserved cores. The team's choice, mirroring the disk
 * levels: at 80% a batch job or a replica's failover traffic has little room
 * left; 90% for five minutes means queries queue for CPU.
 */
export const CPU_UTILISATION_WARNING = 0.8;
export const CPU_UTILISATION_CRITICAL = 0.9;
/**
 * Memory utilisation (the fraction of the instance's memory quota in use). The
 * team's choice: above 90% the next large sort or connection burst risks the
 * OOM killer, which restarts PostgreSQL.
 */
export const MEMORY_UTILISATION_WARNING = 0.9;
export const MEMORY_UTILISATION_CRITICAL = 0.95;
/**
 * Share of the usable transaction IDs (about 2^31) consumed. PostgreSQL's
 * default autovacuum_freeze_max_age (200 million, about 9%) already forces
 * anti-wraparound vacuum, so 50% means vacuum is far behind; 80% leaves about
 * 400 million transactions before PostgreSQL stops assigning IDs. Source:
 * PostgreSQL docs, "Routine Vacuuming", "Preventing Transaction ID Wraparound
 * Failures".
 */
export const TXID_UTILISATION_WARNING = 0.5;
export const TXID_UTILISATION_CRITICAL = 0.8;
/** Deadlocks per {@link COUNT_WINDOW}. Any deadlock is a bug to look at; a steady stream means a lock-order problem in a hot path. */
export const DEADLOCKS_WARNING = 0;
export const DEADLOCKS_CRITICAL = 5;

/** This family's signals, in dashboard order. */
export const RESOURCES_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "cpu",
    title: "CPU utilisation",
    row: "saturation",
    roles: BOTH,
    metrics: [M.cpu],
    unit: "10^2.%",
    expr: (c) => `max(${series(M.cpu, c)})`,
    direction: "above",
    levels: levels(CPU_UTILISATION_WARNING, CPU_UTILISATION_CRITICAL, SUSTAINED_SECONDS),
    meaning: "CPU use of the instance's reserved cores is over the level.",
    action: "Check Query Insights for the statements using the most time; move reads to replicas or raise the tier.",
    anchor: "cpu",
  },
  {
    id: "memory",
    title: "Memory utilisation",
    row: "saturation",
    roles: BOTH,
    metrics: [M.memory],
    unit: "10^2.%",
    expr: (c) => `max(${series(M.memory, c)})`,
    direction: "above",
    levels: levels(MEMORY_UTILISATION_WARNING, MEMORY_UTILISATION_CRITICAL, SUSTAINED_SECONDS),
    meaning: "Memory use is close to the instance's memory quota; PostgreSQL risks being OOM-killed.",
    action: "Look for many backends or large work_mem sorts; lower connection counts or raise the tier.",
    anchor: "memory",
  },
  {
    id: "txid-wraparound",
    title: "Transaction IDs used",
    row: "saturation",
    roles: ["primary"],
    metrics: [M.txid],
    unit: "10^2.%",
    expr: (c) => `max(${series(M.txid, c)})`,
    direction: "above",
    levels: levels(TXID_UTILISATION_WARNING, TXID_UTILISATION_CRITICAL, SAMPLE_PERIOD_SECONDS),
    meaning: "The share of transaction IDs consumed since the oldest unfrozen row is high; at the limit PostgreSQL refuses writes.",
    action: "Find what blocks freezing (long transactions, prepared transactions, stale replication slots) and run VACUUM (FREEZE) on the oldest tables.",
    anchor: "transaction-id-wraparound",
  },
  {
    id: "deadlocks",
    title: `Deadlocks per ${COUNT_WINDOW}`,
    row: "saturation",
    roles: ["primary"],
    metrics: [M.deadlocks],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.deadlocks, c)}[${COUNT_WINDOW}]))`,
    direction: "above",
    levels: levels(DEADLOCKS_WARNING, DEADLOCKS_CRITICAL, 0, SUSTAINED_SECONDS),
    meaning: "PostgreSQL detected deadlocks and aborted one transaction of each.",
    action: "Read the deadlock details in the instance's postgres.log (the log-based metric's entries) and fix the lock order in the application.",
    anchor: "deadlocks",
  },
  {
    id: "lock-waits",
    title: `Lock waits logged per ${COUNT_WINDOW}`,
    row: "saturation",
    roles: BOTH,
    metrics: [M.lockWaitLog],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.lockWaitLog, c)}[${COUNT_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "deadlocks-logged",
    title: `Deadlocks logged per ${COUNT_WINDOW}`,
    row: "saturation",
    roles: BOTH,
    metrics: [M.deadlockLog],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.deadlockLog, c)}[${COUNT_WINDOW}]))`,
    direction: "above",
  },
] satisfies Signal[]);
