/**
 * The one source of what this tier watches: the Cloud SQL metric types (each
 * verified against Google's metrics list), and the signals built on them. A
 * signal is one PromQL expression per instance plus its warning and critical
 * levels; the alert policies (components/database-alerts.ts) compare it with
 * the levels, and the dashboard (components/dashboard.ts) charts it with the
 * same levels drawn as threshold lines.
 *
 * Every condition is PromQL: ratios (pool utilisation, cache hits) need it and
 * MQL is deprecated, and one query language keeps alert and tile identical.
 */

// ---------------------------------------------------------------------------
// Monitored resources and metric types.

/** Instance-level Cloud SQL resource; label `database_id` = "<project>:<instance>". */
export const CLOUDSQL_DATABASE = "cloudsql_database";
/**
 * Per-database Cloud SQL resource (Query Insights, managed pooling); label
 * `resource_id` = "<project>:<instance>", plus `database`. The metrics list
 * names the resource but not its labels; the labels are as public code that
 * lists these series filters them (`resource.labels.resource_id`).
 */
export const CLOUDSQL_INSTANCE_DATABASE = "cloudsql_instance_database";
/** A Cloud Workflows workflow (the scheduled export runs as one); label `workflow_id` = the workflow's name. */
export const WORKFLOW = "workflows.googleapis.com/Workflow";
export type MonitoredResource = typeof CLOUDSQL_DATABASE | typeof CLOUDSQL_INSTANCE_DATABASE | typeof WORKFLOW;

/** The label of each monitored resource that names what is watched: "<project>:<instance>", or the workflow's name. */
export const INSTANCE_LABEL: Readonly<Record<MonitoredResource, string>> = Object.freeze({
  [CLOUDSQL_DATABASE]: "database_id",
  [CLOUDSQL_INSTANCE_DATABASE]: "resource_id",
  [WORKFLOW]: "workflow_id",
});

/** A metric type as Cloud Monitoring's metrics list documents it. */
export interface MetricType {
  /** Full metric type. */
  readonly type: string;
  /** The monitored resource its time series are written against. */
  readonly resource: MonitoredResource;
  readonly kind: "GAUGE" | "DELTA" | "CUMULATIVE";
  readonly valueType: "INT64" | "DOUBLE" | "DISTRIBUTION" | "BOOL";
  /** Unit as the list gives it ("10^2.%" is a 0–1 fraction shown as a percentage). */
  readonly unit: string;
  /** Metric labels used here. */
  readonly labels?: readonly string[];
  /**
   * "Sampled every N seconds. After sampling, data is not visible for up to M
   * seconds", when the list states it (Query Insights and pooling metrics do not).
   */
  readonly sampling?: { readonly everySeconds: number; readonly visibleAfterSeconds: number };
}

/** Sampling statement shared by every `cloudsql_database` metric below. */
const CLOUDSQL_SAMPLING = Object.freeze({ everySeconds: 60, visibleAfterSeconds: 165 });

/**
 * The Cloud SQL metric types this tier uses, each checked by hand against
 * Google's list (prefix `cloudsql.googleapis.com/`).
 *
 * Source: Cloud Monitoring "Google Cloud metrics: C", section cloudsql,
 * https://cloud.google.com/monitoring/api/metrics_gcp_c (table generated
 * 2026-04-10), the same table as Cloud SQL's
 * https://cloud.google.com/sql/docs/postgres/admin-api/metrics.
 *
 * | Key | Metric type | Resource | Kind, value, unit |
 * |---|---|---|---|
 * | up | database/up | cloudsql_database | GAUGE INT64 1 |
 * | cpuUtilization | database/cpu/utilization | cloudsql_database | GAUGE DOUBLE 10^2.% |
 * | memoryUtilization | database/memory/utilization | cloudsql_database | GAUGE DOUBLE 1 |
 * | diskUtilization | database/disk/utilization | cloudsql_database | GAUGE DOUBLE 1 |
 * | diskBytesUsed | database/disk/bytes_used | cloudsql_database | GAUGE INT64 By |
 * | numBackends | database/postgresql/num_backends | cloudsql_database | GAUGE INT64 1 (label database) |
 * | numBackendsByState | database/postgresql/num_backends_by_state | cloudsql_database | GAUGE INT64 1 (labels database, state) |
 * | newConnections | database/postgresql/new_connection_count | cloudsql_database | DELTA INT64 1 |
 * | transactions | database/postgresql/transaction_count | cloudsql_database | DELTA INT64 1 (label transaction_type) |
 * | statements | database/postgresql/statements_executed_count | cloudsql_database | DELTA INT64 1 (label operation_type) |
 * | blocksRead | database/postgresql/blocks_read_count | cloudsql_database | DELTA INT64 1 (label source: disk, buffer_cache) |
 * | deadlocks | database/postgresql/deadlock_count | cloudsql_database | DELTA INT64 1 |
 * | tempBytes | database/postgresql/temp_bytes_written_count | cloudsql_database | DELTA INT64 1 |
 * | transactionIdUtilization | database/postgresql/transaction_id_utilization | cloudsql_database | GAUGE DOUBLE 10^2.% |
 * | replicaLag | database/replication/replica_lag | cloudsql_database | GAUGE DOUBLE s (replicas) |
 * | replicaByteLag | database/postgresql/replication/replica_byte_lag | cloudsql_database | GAUGE INT64 By (on the primary, label replica_name) |
 * | aggregateLatencies | database/postgresql/insights/aggregate/latencies | cloudsql_instance_database | CUMULATIVE DISTRIBUTION us |
 * | perQueryLatencies | database/postgresql/insights/perquery/latencies | cloudsql_instance_database | CUMULATIVE DISTRIBUTION us (labels querystring, query_hash, user, client_addr) |
 * | poolClientConnections | per_database/conn_pool/client_connections | cloudsql_instance_database | GAUGE INT64 1 (label status: active, waiting) |
 * | poolServerConnections | per_database/conn_pool/server_connections | cloudsql_instance_database | GAUGE INT64 1 (label status: active, idle) |
 * | poolClientWaitTime | per_database/conn_pool/client_connections_avg_wait_time | cloudsql_instance_database | GAUGE INT64 us |
 *
 * Not used, on purpose: `database/postgresql/data_cache/hit_ratio` is the
 * Enterprise Plus SSD data cache, not PostgreSQL's buffer cache (the issue's
 * cache-hit ratio), and there is no PostgreSQL `max_connections` metric (only
 * MySQL has one), so pool utilisation divides by the flag value instead.
 */
export const CLOUD_SQL_METRICS = Object.freeze({
  up: { type: "cloudsql.googleapis.com/database/up", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "1", sampling: CLOUDSQL_SAMPLING },
  cpuUtilization: { type: "cloudsql.googleapis.com/database/cpu/utilization", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "DOUBLE", unit: "10^2.%", sampling: CLOUDSQL_SAMPLING },
  memoryUtilization: { type: "cloudsql.googleapis.com/database/memory/utilization", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "DOUBLE", unit: "1", sampling: CLOUDSQL_SAMPLING },
  diskUtilization: { type: "cloudsql.googleapis.com/database/disk/utilization", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "DOUBLE", unit: "1", sampling: CLOUDSQL_SAMPLING },
  diskBytesUsed: { type: "cloudsql.googleapis.com/database/disk/bytes_used", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "By", sampling: CLOUDSQL_SAMPLING },
  numBackends: { type: "cloudsql.googleapis.com/database/postgresql/num_backends", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "1", labels: ["database"], sampling: CLOUDSQL_SAMPLING },
  numBackendsByState: { type: "cloudsql.googleapis.com/database/postgresql/num_backends_by_state", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "1", labels: ["database", "state"], sampling: CLOUDSQL_SAMPLING },
  newConnections: { type: "cloudsql.googleapis.com/database/postgresql/new_connection_count", resource: CLOUDSQL_DATABASE, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["database"], sampling: CLOUDSQL_SAMPLING },
  transactions: { type: "cloudsql.googleapis.com/database/postgresql/transaction_count", resource: CLOUDSQL_DATABASE, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["database", "transaction_type"], sampling: CLOUDSQL_SAMPLING },
  statements: { type: "cloudsql.googleapis.com/database/postgresql/statements_executed_count", resource: CLOUDSQL_DATABASE, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["database", "operation_type"], sampling: CLOUDSQL_SAMPLING },
  blocksRead: { type: "cloudsql.googleapis.com/database/postgresql/blocks_read_count", resource: CLOUDSQL_DATABASE, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["database", "source"], sampling: CLOUDSQL_SAMPLING },
  deadlocks: { type: "cloudsql.googleapis.com/database/postgresql/deadlock_count", resource: CLOUDSQL_DATABASE, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["database"], sampling: CLOUDSQL_SAMPLING },
  tempBytes: { type: "cloudsql.googleapis.com/database/postgresql/temp_bytes_written_count", resource: CLOUDSQL_DATABASE, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["database"], sampling: CLOUDSQL_SAMPLING },
  transactionIdUtilization: { type: "cloudsql.googleapis.com/database/postgresql/transaction_id_utilization", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "DOUBLE", unit: "10^2.%", sampling: CLOUDSQL_SAMPLING },
  replicaLag: { type: "cloudsql.googleapis.com/database/replication/replica_lag", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "DOUBLE", unit: "s", sampling: CLOUDSQL_SAMPLING },
  replicaByteLag: { type: "cloudsql.googleapis.com/database/postgresql/replication/replica_byte_lag", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "By", labels: ["replica_name", "replica_lag_type"], sampling: CLOUDSQL_SAMPLING },
  aggregateLatencies: { type: "cloudsql.googleapis.com/database/postgresql/insights/aggregate/latencies", resource: CLOUDSQL_INSTANCE_DATABASE, kind: "CUMULATIVE", valueType: "DISTRIBUTION", unit: "us", labels: ["user", "client_addr"] },
  perQueryLatencies: { type: "cloudsql.googleapis.com/database/postgresql/insights/perquery/latencies", resource: CLOUDSQL_INSTANCE_DATABASE, kind: "CUMULATIVE", valueType: "DISTRIBUTION", unit: "us", labels: ["querystring", "query_hash", "user", "client_addr"] },
  poolClientConnections: { type: "cloudsql.googleapis.com/per_database/conn_pool/client_connections", resource: CLOUDSQL_INSTANCE_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "1", labels: ["status"] },
  poolServerConnections: { type: "cloudsql.googleapis.com/per_database/conn_pool/server_connections", resource: CLOUDSQL_INSTANCE_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "1", labels: ["status"] },
  poolClientWaitTime: { type: "cloudsql.googleapis.com/per_database/conn_pool/client_connections_avg_wait_time", resource: CLOUDSQL_INSTANCE_DATABASE, kind: "GAUGE", valueType: "INT64", unit: "us" },
} satisfies Record<string, MetricType>);
export type CloudSqlMetricKey = keyof typeof CLOUD_SQL_METRICS;

/**
 * The scheduled export's workflow runs. `workflows.googleapis.com/finished_execution_count`
 * on `workflows.googleapis.com/Workflow`, label `status` (SUCCEEDED, FAILED, …):
 * as alerting policies in several public repositories filter it (not checked
 * against Google's "W" metrics list, which was not available here). It catches
 * export runs that fail before Cloud SQL's export call, which the audit-log
 * metric cannot see.
 */
export const WORKFLOW_METRICS = Object.freeze({
  finishedExecutions: { type: "workflows.googleapis.com/finished_execution_count", resource: WORKFLOW, kind: "DELTA", valueType: "INT64", unit: "1", labels: ["status"] },
} satisfies Record<string, MetricType>);
export type WorkflowMetricKey = keyof typeof WORKFLOW_METRICS;

/** The log-based metrics components/log-metrics.ts creates, by key. */
export const LOG_METRIC_KEYS = ["lockWaits", "deadlocks", "tempFiles", "backupFailures", "exportFailures"] as const;
export type LogMetricKey = (typeof LOG_METRIC_KEYS)[number];

/** Cloud Monitoring's type for a user-defined log-based metric. Source: Cloud Logging "Log-based metrics overview". */
export function logMetricType(name: string): string {
  return `logging.googleapis.com/user/${name}`;
}

/**
 * A Cloud Monitoring metric type as PromQL names it: the first "/" becomes ":",
 * every other character PromQL does not allow becomes "_". Source: Cloud
 * Monitoring "Mapping Cloud Monitoring metrics to PromQL".
 */
export function promqlName(metricType: string): string {
  const slash = metricType.indexOf("/");
  const domain = metricType.slice(0, slash).replace(/[^A-Za-z0-9_]/g, "_");
  const path = metricType.slice(slash + 1).replace(/[^A-Za-z0-9_]/g, "_");
  return `${domain}:${path}`;
}

// ---------------------------------------------------------------------------
// Thresholds. Each level is a named constant saying where it comes from.

/** Connection pool utilisation. Source: issue 7 and the platform team's write-up ("> 85% warning / > 90% critical"). */
export const POOL_UTILISATION_WARNING = 0.85;
export const POOL_UTILISATION_CRITICAL = 0.9;
/** Query latency, ms. Source: issue 7 and the write-up ("> 500ms warning / > 1000ms critical"). */
export const QUERY_LATENCY_WARNING_MS = 500;
export const QUERY_LATENCY_CRITICAL_MS = 1000;
/** Disk utilisation. Source: issue 7 and the write-up ("> 80% warning / > 90% critical"). */
export const DISK_UTILISATION_WARNING = 0.8;
export const DISK_UTILISATION_CRITICAL = 0.9;
/** Replication lag, seconds. Source: issue 7 and the write-up ("> 10s warning / > 30s critical"). */
export const REPLICATION_LAG_WARNING_S = 10;
export const REPLICATION_LAG_CRITICAL_S = 30;
/** Buffer-cache hit ratio. Source: issue 7 and the write-up ("< 70% warning / < 50% critical"). */
export const CACHE_HIT_RATIO_WARNING = 0.7;
export const CACHE_HIT_RATIO_CRITICAL = 0.5;
/** The platform's slow-query threshold, ms. Source: issue 7 and the write-up (`slowQueryThresholdMs: 1000`). */
export const SLOW_QUERY_MS = 1000;
/**
 * A statement this many times over the slow-query threshold holds its
 * connection (and its locks) long enough to starve a transaction-mode pool:
 * the team's escalation point for one normalized query.
 */
export const SLOW_QUERY_CRITICAL_FACTOR = 5;
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
/** Failed automated backup windows or exports per {@link FAILURE_WINDOW}: one is a warning, a second means the day has none. */
export const FAILURES_WARNING = 0;
export const FAILURES_CRITICAL = 1;

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

export type InstanceRole = "primary" | "replica";
export type Severity = "WARNING" | "CRITICAL";
export const SEVERITIES: readonly Severity[] = Object.freeze(["WARNING", "CRITICAL"] as const);

/** The dashboard's rows, top to bottom. */
export const DASHBOARD_ROWS = ["traffic", "latency", "saturation", "replication", "storage", "backups"] as const;
export type DashboardRow = (typeof DASHBOARD_ROWS)[number];

/** What a signal's expression needs to know about one instance. */
export interface InstanceContext {
  /** "<project>:<instance>", the value of the instance label on both monitored resources. */
  readonly databaseId: string;
  /** The instance's `max_connections` flag value. */
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
export type MetricRef = { readonly cloudSql: CloudSqlMetricKey } | { readonly log: LogMetricKey } | { readonly workflow: WorkflowMetricKey };

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

/** PromQL label matchers selecting one instance's series of a metric. */
export function selector(metric: MetricRef, ctx: InstanceContext, extra: Record<string, string> = {}): string {
  const resource = resourceOf(metric);
  const watched = resource === WORKFLOW ? ctx.exportWorkflow : ctx.databaseId;
  if (watched === undefined) throw new Error(`no export workflow for ${ctx.databaseId}; the signal needs one`);
  const matchers = [`monitored_resource="${resource}"`, `${INSTANCE_LABEL[resource]}="${watched}"`];
  for (const [k, v] of Object.entries(extra)) matchers.push(`${k}="${v}"`);
  return `{${matchers.join(",")}}`;
}

/** The PromQL metric name plus instance selector. */
export function series(metric: MetricRef, ctx: InstanceContext, extra: Record<string, string> = {}, suffix = ""): string {
  return `${promqlName(metricTypeOf(metric, ctx.logMetrics))}${suffix}${selector(metric, ctx, extra)}`;
}

/** The metric type a reference names, for a stack's log-metric names. */
export function metricTypeOf(metric: MetricRef, logMetrics: Readonly<Record<LogMetricKey, string>>): string {
  if ("cloudSql" in metric) return CLOUD_SQL_METRICS[metric.cloudSql].type;
  if ("workflow" in metric) return WORKFLOW_METRICS[metric.workflow].type;
  return logMetricType(logMetrics[metric.log]);
}

/** The monitored resource a reference's series are written against (log-based metrics keep the log entry's). */
export function resourceOf(metric: MetricRef): MonitoredResource {
  if ("cloudSql" in metric) return CLOUD_SQL_METRICS[metric.cloudSql].resource;
  if ("workflow" in metric) return WORKFLOW_METRICS[metric.workflow].resource;
  return CLOUDSQL_DATABASE;
}

const levels = (warning: number, critical: number, warnSeconds: number, critSeconds = warnSeconds) =>
  Object.freeze({
    WARNING: { threshold: warning, durationSeconds: warnSeconds },
    CRITICAL: { threshold: critical, durationSeconds: critSeconds },
  });

const M = {
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
  latency: { cloudSql: "aggregateLatencies" },
  perQuery: { cloudSql: "perQueryLatencies" },
  poolClients: { cloudSql: "poolClientConnections" },
  poolServers: { cloudSql: "poolServerConnections" },
  poolWait: { cloudSql: "poolClientWaitTime" },
  lockWaitLog: { log: "lockWaits" },
  deadlockLog: { log: "deadlocks" },
  tempFileLog: { log: "tempFiles" },
  backupFailureLog: { log: "backupFailures" },
  exportFailureLog: { log: "exportFailures" },
  exportRuns: { workflow: "finishedExecutions" },
} as const satisfies Record<string, MetricRef>;

const BOTH: readonly InstanceRole[] = Object.freeze(["primary", "replica"]);
const US_PER_MS = 1000;

/** A latency quantile (ms) from a Query Insights distribution, optionally kept per label. */
function latencyQuantile(q: number, metric: MetricRef, ctx: InstanceContext, by: readonly string[] = []): string {
  const keep = ["le", ...by].join(", ");
  return `histogram_quantile(${q}, sum by (${keep}) (rate(${series(metric, ctx, {}, "_bucket")}[${RATE_WINDOW}]))) / ${US_PER_MS}`;
}

/**
 * Every signal, in dashboard order. Alert policies exist for the ones with
 * levels; the rest are tiles.
 */
export const SIGNALS: readonly Signal[] = Object.freeze([
  // Traffic -----------------------------------------------------------------
  {
    id: "instance-down",
    title: "Server up",
    row: "traffic",
    roles: BOTH,
    metrics: [M.up],
    unit: "1",
    // No series at all (instance gone or not reporting) counts as down.
    expr: (c) => `min(${series(M.up, c)}) or vector(0)`,
    direction: "below",
    levels: levels(1, 1, 0, 2 * SAMPLE_PERIOD_SECONDS),
    meaning: "Cloud SQL reports the PostgreSQL server as not up (or stopped reporting).",
    action: "Check the instance's state and operations in the console; on the primary, follow the failover steps; on a replica, take it out of rotation.",
    anchor: "instance-down",
    runbook: "ha-failover",
  },
  {
    id: "transactions",
    title: "Transactions per second",
    row: "traffic",
    roles: BOTH,
    metrics: [M.transactions],
    unit: "1/s",
    expr: (c) => `sum(rate(${series(M.transactions, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "statements",
    title: "Statements per second",
    row: "traffic",
    roles: BOTH,
    metrics: [M.statements],
    unit: "1/s",
    expr: (c) => `sum(rate(${series(M.statements, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "new-connections",
    title: "New connections per second",
    row: "traffic",
    roles: BOTH,
    metrics: [M.newConnections],
    unit: "1/s",
    expr: (c) => `sum(rate(${series(M.newConnections, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "active-backends",
    title: "Active backends",
    row: "traffic",
    roles: BOTH,
    metrics: [M.backendsByState],
    unit: "1",
    expr: (c) => `sum(${series(M.backendsByState, c, { state: "active" })})`,
    direction: "above",
  },
  // Latency -----------------------------------------------------------------
  {
    id: "query-latency-p95",
    title: "Query latency p95 (ms)",
    row: "latency",
    roles: BOTH,
    metrics: [M.latency],
    unit: "ms",
    expr: (c) => latencyQuantile(0.95, M.latency, c),
    direction: "above",
    levels: levels(QUERY_LATENCY_WARNING_MS, QUERY_LATENCY_CRITICAL_MS, SUSTAINED_SECONDS),
    meaning: "The 95th percentile of statement latency on this instance (Query Insights) is over the level.",
    action: "Open Query Insights for the instance, find the statements whose latency rose, check locks, CPU and cache hit ratio on the dashboard.",
    anchor: "query-latency",
  },
  {
    id: "query-latency-p99",
    title: "Query latency p99 (ms)",
    row: "latency",
    roles: BOTH,
    metrics: [M.latency],
    unit: "ms",
    expr: (c) => latencyQuantile(0.99, M.latency, c),
    direction: "above",
    levels: levels(QUERY_LATENCY_WARNING_MS, QUERY_LATENCY_CRITICAL_MS, SUSTAINED_SECONDS),
    meaning: "The 99th percentile of statement latency on this instance (Query Insights) is over the level.",
    action: "As for p95; a p99 alert alone points at a few slow statements: see the slow-query alert and Query Insights' top queries.",
    anchor: "query-latency",
  },
  {
    id: "slow-queries",
    title: "Slowest normalized queries p95 (ms)",
    row: "latency",
    roles: BOTH,
    metrics: [M.perQuery],
    unit: "ms",
    // Kept per query, so the incident's labels carry the normalized query text.
    expr: (c) => latencyQuantile(0.95, M.perQuery, c, ["query_hash", "querystring"]),
    direction: "above",
    levels: levels(SLOW_QUERY_MS, SLOW_QUERY_MS * SLOW_QUERY_CRITICAL_FACTOR, SUSTAINED_SECONDS),
    meaning: "A normalized query's p95 latency is over the platform's slow-query threshold. The incident's `querystring` label is the query.",
    action: "Run EXPLAIN (ANALYZE, BUFFERS) on the query from the incident on a clone, add or fix the index, or rewrite it.",
    anchor: "slow-queries",
  },
  // Saturation --------------------------------------------------------------
  {
    id: "pool-utilisation",
    title: "Backends / max_connections",
    row: "saturation",
    roles: BOTH,
    metrics: [M.backends],
    unit: "10^2.%",
    expr: (c) => `sum(${series(M.backends, c)}) / ${c.maxConnections}`,
    direction: "above",
    levels: levels(POOL_UTILISATION_WARNING, POOL_UTILISATION_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "Server backends are close to `max_connections`; new connections will soon be refused.",
    action: "Find who holds connections (num_backends_by_state: idle in transaction?), check the pooler, shed load or raise the tier.",
    anchor: "connection-pool",
  },
  {
    id: "pool-client-utilisation",
    title: "Pooler client connections / max_client_connections",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolClients],
    unit: "10^2.%",
    expr: (c) => `sum(${series(M.poolClients, c)}) / ${c.pooling?.maxClientConnections ?? 1}`,
    direction: "above",
    levels: levels(POOL_UTILISATION_WARNING, POOL_UTILISATION_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "Client connections to the managed pooler are close to its `max_client_connections`.",
    action: "Check application instance counts and pool sizes against the connection budget; raise lp-db:poolMaxClientConnections if the budget allows.",
    anchor: "connection-pool",
  },
  {
    id: "pool-server-utilisation",
    title: "Pooler server connections / max_pool_size (busiest database)",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolServers],
    unit: "10^2.%",
    // Summed over status per database, then the busiest database; the pool is per database and user, so this is conservative.
    expr: (c) => `max(sum without (status) (${series(M.poolServers, c)})) / ${c.pooling?.maxPoolSize ?? 1}`,
    direction: "above",
    levels: levels(POOL_UTILISATION_WARNING, POOL_UTILISATION_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "The pooler's server connections for one database are close to `max_pool_size`; clients will queue.",
    action: "Look at pooler wait time on the dashboard; shorten transactions or raise lp-db:poolMaxPoolSize within max_connections.",
    anchor: "connection-pool",
  },
  {
    id: "pool-wait",
    title: "Pooler client wait (ms)",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolWait],
    unit: "ms",
    expr: (c) => `max(${series(M.poolWait, c)}) / ${US_PER_MS}`,
    direction: "above",
  },
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
  // Replication -------------------------------------------------------------
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
  // Storage -----------------------------------------------------------------
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
    // Buffer-cache reads over all block reads (buffer cache + disk).
    expr: (c) =>
      `sum(rate(${series(M.blocks, c, { source: "buffer_cache" })}[${RATE_WINDOW}])) / sum(rate(${series(M.blocks, c)}[${RATE_WINDOW}]))`,
    direction: "below",
    levels: levels(CACHE_HIT_RATIO_WARNING, CACHE_HIT_RATIO_CRITICAL, SUSTAINED_SECONDS),
    meaning: "Fewer block reads than the level are served from shared buffers; queries go to disk.",
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
  // Backups -----------------------------------------------------------------
  {
    id: "backup-failures",
    title: `Failed automated backups per ${FAILURE_WINDOW}`,
    row: "backups",
    roles: ["primary"],
    metrics: [M.backupFailureLog],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.backupFailureLog, c)}[${FAILURE_WINDOW}])) or vector(0)`,
    direction: "above",
    levels: levels(FAILURES_WARNING, FAILURES_CRITICAL, 0),
    meaning: "An automated backup window ended failed (a second one means no backup for a day).",
    action: "Read the system_event audit entry for the window, fix the cause, then take an on-demand backup.",
    anchor: "backup-failed",
    runbook: "point-in-time-clone",
  },
  {
    id: "export-failures",
    title: `Failed exports per ${FAILURE_WINDOW}`,
    row: "backups",
    roles: BOTH,
    metrics: [M.exportFailureLog],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.exportFailureLog, c)}[${FAILURE_WINDOW}])) or vector(0)`,
    direction: "above",
    levels: levels(FAILURES_WARNING, FAILURES_CRITICAL, 0),
    meaning: "A Cloud SQL export to the backup bucket finished with an error.",
    action: "Read the failed operation (gcloud sql operations list), check the instance service account's access to the bucket, re-run the export.",
    anchor: "export-failed",
    runbook: "rerun-an-export",
  },
  {
    id: "export-workflow-failures",
    title: `Failed export workflow runs per ${FAILURE_WINDOW}`,
    row: "backups",
    roles: ["primary"],
    needsExportWorkflow: true,
    metrics: [M.exportRuns],
    unit: "1",
    expr: (c) => `sum(increase(${series(M.exportRuns, c, { status: "FAILED" })}[${FAILURE_WINDOW}])) or vector(0)`,
    direction: "above",
    levels: levels(FAILURES_WARNING, FAILURES_CRITICAL, 0),
    meaning: "A run of the scheduled export workflow failed (including failures before Cloud SQL's export call: permissions, the bucket).",
    action: "Open the failed execution in Cloud Workflows (its error says which step), fix the cause, run the workflow again.",
    anchor: "export-failed",
    runbook: "rerun-an-export",
  },
] satisfies Signal[]);

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
