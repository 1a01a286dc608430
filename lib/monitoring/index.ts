/**
 * The one source of what this tier watches. The metric catalog
 * (`catalog.ts`: metric types, units, sources), what a signal is and the
 * shared windows (`signal.ts`), and one file per signal family with its
 * thresholds and their sources. Alerts (components/database-alerts.ts), the
 * dashboard (components/dashboard.ts) and the policy pack's alert-coverage
 * rule all read this catalog.
 *
 * Adding a signal: add it to its family's `…_SIGNALS` (a metric it reads goes
 * into `catalog.ts` first); a new family adds one file and one line to
 * {@link SIGNALS}.
 */
import { BACKUPS_SIGNALS } from "./backups";
import { CACHE_SIGNALS } from "./cache";
import { CLOUD_SQL_METRICS } from "./catalog";
import { CONNECTIONS_SIGNALS } from "./connections";
import { LATENCY_SIGNALS } from "./latency";
import { REPLICATION_SIGNALS } from "./replication";
import { RESOURCES_SIGNALS } from "./resources";
import type { InstanceContext, InstanceRole, Severity, Signal } from "./signal";
import { STORAGE_SIGNALS } from "./storage";
import { TRAFFIC_SIGNALS } from "./traffic";

export * from "./catalog";
export * from "./signal";
export * from "./absence";
export * from "./backups";
export * from "./cache";
export * from "./connections";
export * from "./latency";
export * from "./replication";
export * from "./resources";
export * from "./storage";
export * from "./traffic";

/**
 * Every signal, in dashboard order. Alert policies exist for the ones with
 * levels; the rest are tiles.
 */
export const SIGNALS: readonly Signal[] = Object.freeze([
  ...TRAFFIC_SIGNALS,
  ...LATENCY_SIGNALS,
  ...CONNECTIONS_SIGNALS,
  ...RESOURCES_SIGNALS,
  ...REPLICATION_SIGNALS,
  ...STORAGE_SIGNALS,
  ...BACKUPS_SIGNALS,
  ...CACHE_SIGNALS,
]);

/**
 * Signals each Cloud SQL instance must alert on, where the signal's roles
 * include the instance's role: the policy pack's alert-coverage rule requires
 * an alert policy on each one's Cloud SQL metrics. One table with the signals'
 * roles, so the rule never requires a policy the stack does not create (Query
 * Insights on a replica).
 */
export const REQUIRED_SIGNALS: readonly string[] = Object.freeze(["instance-down", "cpu", "memory", "disk", "query-latency-p95", "replication-lag"]);

/** The required signals an instance of this role reports, in table order. */
export function requiredSignals(role: InstanceRole): string[] {
  return REQUIRED_SIGNALS.filter((id) => signal(id).roles.includes(role));
}

/** The Cloud SQL metric types the given required signals read, once each, in order. */
export function requiredAlertMetrics(ids: readonly string[]): string[] {
  const types = ids.flatMap((id) => signal(id).metrics).flatMap((m) => ("cloudSql" in m ? [CLOUD_SQL_METRICS[m.cloudSql].type] : []));
  return [...new Set(types)];
}

/** The signal with this id; throws for an unknown id. */
export function signal(id: string): Signal {
  const found = SIGNALS.find((s) => s.id === id);
  if (!found) throw new Error(`no signal "${id}"; have: ${SIGNALS.map((s) => s.id).join(", ")}`);
  return found;
}

/** Whether a signal applies to an instance of this role, with or without pooling and a scheduled export. */
export function appliesTo(s: Signal, role: InstanceRole, has: { readonly pooling: boolean; readonly exportWorkflow: boolean }): boolean {
  return s.roles.includes(role) && (!s.needsPooling || has.pooling) && (!s.needsExportWorkflow || has.exportWorkflow);
}

/** The PromQL alert query for one level: the value compared with the level's threshold. */
export function alertQuery(s: Signal, severity: Severity, ctx: InstanceContext): string {
  if (!s.levels) throw new Error(`signal "${s.id}" has no alert levels`);
  const op = s.direction === "above" ? ">" : "<";
  return `(${s.expr(ctx)}) ${op} ${s.levels[severity].threshold}`;
}
