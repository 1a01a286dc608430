/**
 * What a signal is: one PromQL expression per instance, its unit, its warning
 * and critical levels and its response. The alert policies
 * (components/database-alerts.ts) compare it with the levels, and the
 * dashboard (components/dashboard.ts) charts it with the same levels drawn as
 * threshold lines. Also the evaluation windows every family shares, and the
 * selectors that pin a metric to one instance.
 *
 * Every condition is PromQL: ratios (pool utilisation, cache hits) need it and
 * MQL is deprecated, and one query language keeps alert and tile identical.
 */
import {
  CLOUD_SQL_METRICS,
  CLOUDSQL_DATABASE,
  INSTANCE_LABEL,
  MEMORYSTORE_METRICS,
  WORKFLOW,
  WORKFLOW_METRICS,
  logMetricType,
  promqlName,
  type CloudSqlMetricKey,
  type LogMetricKey,
  type MemorystoreMetricKey,
  type MonitoredResource,
  type WorkflowMetricKey,
} from "./catalog";

// ---------------------------------------------------------------------------
// Windows and durations.

/**
 * Rate window: two samples of a metric sampled every 60 s are the fewest a
 * rate or a histogram quantile can use, so this is the tightest window.
 */
export const RATE_WINDOW = "2m";
/** Window over which deadlocks are counted: long enough that one deadlock stays visible to a 30 s evaluation. */
export const COUNT_WINDOW = "5m";
/** Window for backup and export failures: a daily schedule plus an hour of slack. */
export const FAILURE_WINDOW = "25h";
/**
 * How often a PromQL condition is evaluated. 30 s is the smallest value Cloud
 * Monitoring accepts ("a positive multiple of 30 seconds"). Source: AlertPolicy
 * API, PrometheusQueryLanguageCondition.evaluationInterval.
 */
export const EVALUATION_INTERVAL_SECONDS = 30;
/** The Cloud SQL sampling period: no condition can react faster than one sample. */
export const SAMPLE_PERIOD_SECONDS = 60;
/** Sustain period for noisy gauges (CPU, latency, cache): five samples, so one busy minute does not page. */
export const SUSTAINED_SECONDS = 5 * SAMPLE_PERIOD_SECONDS;

// ---------------------------------------------------------------------------
// Signals.

/** What an instance is: a Cloud SQL primary or replica, or the Memorystore cache. */
export type InstanceRole = "primary" | "replica" | "cache";
export type Severity = "WARNING" | "CRITICAL";
export const SEVERITIES: readonly Severity[] = Object.freeze(["WARNING", "CRITICAL"] as const);

/** The dashboard's rows, top to bottom. */
export const DASHBOARD_ROWS = ["traffic", "latency", "saturation", "replication", "storage", "backups", "cache"] as const;
export type DashboardRow = (typeof DASHBOARD_ROWS)[number];

/** What a signal's expression needs to know about one instance. */
export interface InstanceContext {
  /**
   * The value of the instance label of the instance's monitored resources:
   * "<project>:<instance>" for Cloud SQL, the full instance name for Memorystore.
   */
  readonly databaseId: string;
  /** The connection limit: the `max_connections` flag (Cloud SQL), connected clients per node (Memorystore). */
  readonly maxConnections: number;
  /** Managed pooling limits, when pooling is on. */
  readonly pooling?: { readonly maxClientConnections: number; readonly maxPoolSize: number };
  /** Name of the workflow that exports this instance on a schedule, when there is one. */
  readonly exportWorkflow?: string;
  /** Names of the stack's log-based metrics, by key. */
  readonly logMetrics: Readonly<Record<LogMetricKey, string>>;
}

/** One alert level. */
export interface Level {
  /** Compared with the signal's value, in {@link Signal.unit}. */
  readonly threshold: number;
  /** How long the comparison must hold before the alert fires, seconds (a multiple of 60). */
  readonly durationSeconds: number;
}

/** A metric the signal reads: a Cloud SQL metric or one of the stack's log-based metrics. */
export type MetricRef =
  | { readonly cloudSql: CloudSqlMetricKey }
  | { readonly log: LogMetricKey }
  | { readonly workflow: WorkflowMetricKey }
  | { readonly memorystore: MemorystoreMetricKey };

/** One watched condition: the expression, its unit, its levels and what to do. */
export interface Signal {
  readonly id: string;
  readonly title: string;
  readonly row: DashboardRow;
  /** Instance roles it applies to. */
  readonly roles: readonly InstanceRole[];
  /** Only on instances with managed pooling. */
  readonly needsPooling?: boolean;
  /** Only on instances with a scheduled export workflow. */
  readonly needsExportWorkflow?: boolean;
  readonly metrics: readonly MetricRef[];
  /** Unit of the value, as Cloud Monitoring's unit strings ("1", "ms", "s", "10^2.%"). */
  readonly unit: string;
  /** The value for one instance, in PromQL. */
  readonly expr: (ctx: InstanceContext) => string;
  /** "above" fires when the value exceeds the level, "below" when it drops under it. */
  readonly direction: "above" | "below";
  /** Alert levels; a signal without levels is a dashboard tile only. */
  readonly levels?: Readonly<Record<Severity, Level>>;
  /** What the condition means, for the alert's documentation. */
  readonly meaning?: string;
  /** What to do, for the alert's documentation. */
  readonly action?: string;
  /** Anchor of the response section in docs/alerts.md. */
  readonly anchor?: string;
  /**
   * Anchor of the procedure in docs/runbook.md the response leads to, where there is one.
   * @default none (the response section is the whole procedure)
   */
  readonly runbook?: string;
}

/** An extra label matcher: an exact value, or `{ re }` for a regular-expression match (`=~`). */
export type LabelMatch = string | { readonly re: string };

/** PromQL label matchers selecting one instance's series of a metric. */
export function selector(metric: MetricRef, ctx: InstanceContext, extra: Record<string, LabelMatch> = {}): string {
  const resource = resourceOf(metric);
  const watched = resource === WORKFLOW ? ctx.exportWorkflow : ctx.databaseId;
  if (watched === undefined) throw new Error(`no export workflow for ${ctx.databaseId}; the signal needs one`);
  const matchers = [`monitored_resource="${resource}"`, `${INSTANCE_LABEL[resource]}="${watched}"`];
  for (const [k, v] of Object.entries(extra)) matchers.push(typeof v === "string" ? `${k}="${v}"` : `${k}=~"${v.re}"`);
  return `{${matchers.join(",")}}`;
}

/** The PromQL metric name plus instance selector. */
export function series(metric: MetricRef, ctx: InstanceContext, extra: Record<string, LabelMatch> = {}, suffix = ""): string {
  return `${promqlName(metricTypeOf(metric, ctx.logMetrics))}${suffix}${selector(metric, ctx, extra)}`;
}

/** The metric type a reference names, for a stack's log-metric names. */
export function metricTypeOf(metric: MetricRef, logMetrics: Readonly<Record<LogMetricKey, string>>): string {
  if ("cloudSql" in metric) return CLOUD_SQL_METRICS[metric.cloudSql].type;
  if ("workflow" in metric) return WORKFLOW_METRICS[metric.workflow].type;
  if ("memorystore" in metric) return MEMORYSTORE_METRICS[metric.memorystore].type;
  return logMetricType(logMetrics[metric.log]);
}

/** The monitored resource a reference's series are written against (log-based metrics keep the log entry's). */
export function resourceOf(metric: MetricRef): MonitoredResource {
  if ("cloudSql" in metric) return CLOUD_SQL_METRICS[metric.cloudSql].resource;
  if ("workflow" in metric) return WORKFLOW_METRICS[metric.workflow].resource;
  if ("memorystore" in metric) return MEMORYSTORE_METRICS[metric.memorystore].resource;
  return CLOUDSQL_DATABASE;
}

/**
 * A ratio judged only while its denominator carries enough volume: over a
 * handful of events (an idle instance, a quiet night) a ratio is noise, so the
 * value is absent, and an absent value neither fires nor charts.
 */
export function guardedRatio(numerator: string, denominator: string, minDenominator: number): string {
  return `(${numerator} / ${denominator}) and on() (${denominator} > ${minDenominator})`;
}

export const levels = (warning: number, critical: number, warnSeconds: number, critSeconds = warnSeconds) =>
  Object.freeze({
    WARNING: { threshold: warning, durationSeconds: warnSeconds },
    CRITICAL: { threshold: critical, durationSeconds: critSeconds },
  });

/** Metric references by short name, for the family files. */
export const M = {
  up: { cloudSql: "up" },
  cpu: { cloudSql: "cpuUtilization" },
  memory: { cloudSql: "memoryUtilization" },
  disk: { cloudSql: "diskUtilization" },
  diskBytes: { cloudSql: "diskBytesUsed" },
  backends: { cloudSql: "numBackends" },
  backendsByState: { cloudSql: "numBackendsByState" },
  newConnections: { cloudSql: "newConnections" },
  transactions: { cloudSql: "transactions" },
  statements: { cloudSql: "statements" },
  blocks: { cloudSql: "blocksRead" },
  deadlocks: { cloudSql: "deadlocks" },
  tempBytes: { cloudSql: "tempBytes" },
  txid: { cloudSql: "transactionIdUtilization" },
  lag: { cloudSql: "replicaLag" },
  byteLag: { cloudSql: "replicaByteLag" },
  replicationState: { cloudSql: "replicationState" },
  latency: { cloudSql: "aggregateLatencies" },
  perQuery: { cloudSql: "perQueryLatencies" },
  poolClients: { cloudSql: "poolClientConnections" },
  poolServers: { cloudSql: "poolServerConnections" },
  poolWait: { cloudSql: "poolClientWaitTime" },
  lockWaitLog: { log: "lockWaits" },
  deadlockLog: { log: "deadlocks" },
  tempFileLog: { log: "tempFiles" },
  backupFailureLog: { log: "backupFailures" },
  exportRuns: { workflow: "finishedExecutions" },
} as const satisfies Record<string, MetricRef>;

/** Both instance roles. */
export const BOTH: readonly InstanceRole[] = Object.freeze(["primary", "replica"]);
/** The primary only: for metrics read replicas and read pool nodes do not report (Query Insights). */
export const PRIMARY_ONLY: readonly InstanceRole[] = Object.freeze(["primary"]);
/** Query Insights and the pooler report microseconds; signals are in ms. */
export const US_PER_MS = 1000;

/** A threshold as people read it: fractions as percentages, with the unit. */
export function formatLevel(value: number, unit: string): string {
  if (unit === "10^2.%") return `${Math.round(value * 1000) / 10}%`;
  if (unit === "1") return String(value);
  return `${value} ${unit}`;
}
