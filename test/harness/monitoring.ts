/**
 * Monitoring test helpers: the stack's log-metric names for a signal context,
 * and checks that a PromQL query reads only catalog metrics on the right
 * monitored resource and instance.
 */
import { expect } from "vitest";
import {
  CLOUD_SQL_METRICS,
  CLOUDSQL_DATABASE,
  INSTANCE_LABEL,
  MEMORYSTORE_METRICS,
  LOG_METRIC_KEYS,
  WORKFLOW,
  WORKFLOW_METRICS,
  logMetricType,
  promqlName,
  type LogMetricKey,
} from "../../lib/monitoring";

export const LOG_NAMES = Object.fromEntries(LOG_METRIC_KEYS.map((k) => [k, `test/${k}`])) as Record<LogMetricKey, string>;

/** Every PromQL metric name a query may use: the Cloud SQL metrics (with histogram suffixes) and the log-based ones. */
export function knownPromqlNames(logNames: Readonly<Record<LogMetricKey, string>>): Map<string, { type: string; resource: string }> {
  const known = new Map<string, { type: string; resource: string }>();
  for (const m of Object.values(CLOUD_SQL_METRICS)) {
    for (const suffix of m.valueType === "DISTRIBUTION" ? ["_bucket", "_count", "_sum"] : [""]) {
      known.set(promqlName(m.type) + suffix, { type: m.type, resource: m.resource });
    }
  }
  for (const m of [...Object.values(WORKFLOW_METRICS), ...Object.values(MEMORYSTORE_METRICS)]) known.set(promqlName(m.type), { type: m.type, resource: m.resource });
  for (const name of Object.values(logNames)) {
    for (const suffix of ["", "_bucket", "_count", "_sum"]) known.set(promqlName(logMetricType(name)) + suffix, { type: logMetricType(name), resource: CLOUDSQL_DATABASE });
  }
  return known;
}

/** Each metric selector in a PromQL query: the metric name and its label matchers. */
export function selectors(query: string): { name: string; labels: Record<string, string> }[] {
  const out: { name: string; labels: Record<string, string> }[] = [];
  for (const m of query.matchAll(/([a-z_]+:[A-Za-z0-9_]+)\{([^}]*)\}/g)) {
    const labels = Object.fromEntries([...m[2].matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.push({ name: m[1], labels });
  }
  return out;
}

/** Asserts a query reads only known metrics, each on its monitored resource and on `databaseId` (or the instance's export workflow). */
export function expectRealMetrics(query: string, databaseId: string, logNames: Readonly<Record<LogMetricKey, string>>, exportWorkflow?: string) {
  const known = knownPromqlNames(logNames);
  const found = selectors(query);
  expect(found.length).toBeGreaterThan(0);
  for (const sel of found) {
    const metric = known.get(sel.name);
    expect(metric, `${sel.name} in ${query}`).toBeDefined();
    expect(sel.labels.monitored_resource).toBe(metric!.resource);
    expect(sel.labels[INSTANCE_LABEL[metric!.resource as keyof typeof INSTANCE_LABEL]]).toBe(metric!.resource === WORKFLOW ? exportWorkflow : databaseId);
  }
  // Every metric-looking token is inside a selector (no bare, unchecked metric names).
  expect([...query.replace(/"[^"]*"/g, '""').matchAll(/[a-z_]+:[A-Za-z0-9_]+/g)].length).toBe(found.length);
}
