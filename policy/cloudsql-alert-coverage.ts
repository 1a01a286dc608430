/**
 * Every Cloud SQL instance is watched: for each required metric there is an
 * alert policy about that instance. A policy is about an instance when its
 * conditions name the instance, or (while the name is unknown) when it is built
 * from the instance's outputs.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { requiredAlertMetrics, requiredSignals } from "../lib/monitoring";
import { TYPES, describeResource, isRecoveryDrillClone, isReplica, read, transitiveDependencies } from "./common";

/**
 * Metrics a primary must alert on (instance down, CPU, memory, disk, Query
 * Insights latency): the monitoring catalog's required signals whose roles
 * include the primary.
 */
export const DEFAULT_PRIMARY_METRICS: readonly string[] = Object.freeze(requiredAlertMetrics(requiredSignals("primary")));
/** Metrics a replica or read pool must alert on (instance down, CPU, memory, disk, replication lag); no Query Insights, which replicas do not report. */
export const DEFAULT_REPLICA_METRICS: readonly string[] = Object.freeze(requiredAlertMetrics(requiredSignals("replica")));

export interface AlertCoverageConfig {
  readonly primaryMetrics: readonly string[];
  readonly replicaMetrics: readonly string[];
}

/**
 * The forms a metric type takes in a condition: the Monitoring filter form and
 * the PromQL form (`cloudsql_googleapis_com:database_cpu_utilization`).
 */
export function metricSpellings(metricType: string): string[] {
  const slash = metricType.indexOf("/");
  const domain = metricType.slice(0, slash).replace(/\./g, "_");
  const path = metricType.slice(slash + 1).replace(/[/.]/g, "_");
  return [metricType, `${domain}:${path}`];
}

/** The text of every condition of an alert policy: filters, MQL and PromQL queries. */
export function conditionText(alert: PolicyResource): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === "string") parts.push(node);
    else if (Array.isArray(node)) node.forEach((_v, i) => walk(read(node, i)));
    else if (node !== null && typeof node === "object") for (const k of Object.keys(node)) walk(read(node, k));
  };
  walk(read(alert.props, "conditions"));
  return parts.join("\n");
}

/** True when the alert policy is about this instance. */
function isAbout(alert: PolicyResource, instance: PolicyResource, text: string): boolean {
  const name = read(instance.props, "name");
  // database_id is "<project>:<instance name>"; match the name as a whole token.
  if (typeof name === "string" && name !== "") return new RegExp(`[:"'\\s]${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["'\\s]`).test(text);
  return transitiveDependencies(alert).has(instance);
}

export const cloudsqlAlertCoverage: StackValidationPolicy = {
  name: "cloudsql-alert-coverage",
  description:
    "Every Cloud SQL instance has alert policies for instance down, CPU, memory and disk; the primary also for Query Insights latency, " +
    "every replica for replication lag (the monitoring catalog's required signals, by role); recovery-drill clones are exempt.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: {
    properties: {
      primaryMetrics: { type: "array", items: { type: "string" }, default: [...DEFAULT_PRIMARY_METRICS], description: "Metric types a primary needs an alert on." },
      replicaMetrics: { type: "array", items: { type: "string" }, default: [...DEFAULT_REPLICA_METRICS], description: "Metric types a replica or read pool needs an alert on." },
    },
  },
  remediationSteps:
    "Give the instance its set of alert policies (components/ monitoring, one set per instance) with conditions on the " +
    "listed metric types, filtered by the instance's database_id (\"<project>:<instance name>\").",
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<Partial<AlertCoverageConfig>>();
    const primaryMetrics = config.primaryMetrics ?? DEFAULT_PRIMARY_METRICS;
    const replicaMetrics = config.replicaMetrics ?? DEFAULT_REPLICA_METRICS;
    // A disabled alert policy watches nothing.
    const alerts = args.resources
      .filter((r) => r.type === TYPES.alertPolicy && read(r.props, "enabled") !== false)
      .map((a) => ({ alert: a, text: conditionText(a) }));
    for (const instance of args.resources.filter((r) => r.type === TYPES.sqlInstance && !isRecoveryDrillClone(r.props))) {
      const own = alerts.filter(({ alert, text }) => isAbout(alert, instance, text));
      const required = isReplica(instance.props) ? replicaMetrics : primaryMetrics;
      const missing = required.filter((metric) => !own.some(({ text }) => metricSpellings(metric).some((s) => text.includes(s))));
      if (missing.length > 0) {
        reportViolation(`${describeResource(instance)} has no alert policy on ${missing.join(", ")}.`, instance.urn);
      }
    }
  },
};
