/**
 * The metric catalog: the monitored resources and metric types this tier
 * reads (each verified against Google's metrics list, with its source), the
 * stack's log-based metric keys, and how Cloud Monitoring names a metric in
 * PromQL. Signals (the family files beside this one) are built on these.
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
/**
 * A Memorystore for Redis instance; label `instance_id` = the instance's full
 * name, "projects/<project>/locations/<region>/instances/<instance>". The label
 * and its form are as public code that filters these series writes them
 * (`resource.labels.instance_id`); Google's metrics list names the resource
 * but not this label's value form.
 */
export const REDIS_INSTANCE = "redis_instance";
export type MonitoredResource = typeof CLOUDSQL_DATABASE | typeof CLOUDSQL_INSTANCE_DATABASE | typeof WORKFLOW | typeof REDIS_INSTANCE;

/** The label of each monitored resource that names what is watched: "<project>:<instance>", or the workflow's name. */
export const INSTANCE_LABEL: Readonly<Record<MonitoredResource, string>> = Object.freeze({
  [CLOUDSQL_DATABASE]: "database_id",
  [CLOUDSQL_INSTANCE_DATABASE]: "resource_id",
  [WORKFLOW]: "workflow_id",
  [REDIS_INSTANCE]: "instance_id",
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
 * | replicaByteLag | database/postgresql/replication/replica_byte_lag | cloudsql_database | GAUGE INT64 By ("Reported from the master per replica"; labels replica_name, replica_lag_type: replay_location, flush_location, write_location, sent_location) |
 * | replicationState | database/replication/state | cloudsql_database | GAUGE BOOL, no unit, BETA (label state: "Running", "Stopped", "Error") |
 * | aggregateLatencies | database/postgresql/insights/aggregate/latencies | cloudsql_instance_database | CUMULATIVE DISTRIBUTION us |
 * | perQueryLatencies | database/postgresql/insights/perquery/latencies | cloudsql_instance_database | CUMULATIVE DISTRIBUTION us (labels querystring, query_hash, user, client_addr) |
 * | poolClientConnections | per_database/conn_pool/client_connections | cloudsql_instance_database | GAUGE INT64 1 (label status: active, waiting) |
 * | poolServerConnections | per_database/conn_pool/server_connections | cloudsql_instance_database | GAUGE INT64 1 (label status: active, idle) |
 * | poolClientWaitTime | per_database/conn_pool/client_connections_avg_wait_time | cloudsql_instance_database | GAUGE INT64 us |
 *
 * Not used, on purpose: `database/postgresql/data_cache/hit_ratio` is the
 * Enterprise Plus SSD data cache, not PostgreSQL's buffer cache (the platform's
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
  replicationState: { type: "cloudsql.googleapis.com/database/replication/state", resource: CLOUDSQL_DATABASE, kind: "GAUGE", valueType: "BOOL", unit: "", labels: ["state"], sampling: CLOUDSQL_SAMPLING },
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

/**
 * The Memorystore for Redis metric types the cache signals read (prefix
 * `redis.googleapis.com/`), each on `redis_instance`. Metric types and
 * meanings: https://cloud.google.com/memorystore/docs/redis/supported-monitoring-metrics;
 * kinds, value types and units as Cloud Monitoring's list gives them
 * (https://cloud.google.com/monitoring/api/metrics_gcp_p_z, section redis).
 * Series are written per node (label `node_id`), so instance-wide values sum
 * or take the max over nodes.
 *
 * | Key | Metric type | Kind, value, unit |
 * |---|---|---|
 * | keyspaceHits | stats/keyspace_hits | DELTA INT64 1 |
 * | keyspaceMisses | stats/keyspace_misses | DELTA INT64 1 |
 * | memoryUsageRatio | stats/memory/usage_ratio | GAUGE DOUBLE 10^2.% (0–1) |
 * | evictedKeys | stats/evicted_keys | DELTA INT64 1 |
 * | connectedClients | clients/connected | GAUGE INT64 1 |
 * | replicationRole | replication/role | GAUGE INT64 1 (1 primary, 0 replica) |
 * | replicaLag | replication/master/slaves/lag | GAUGE INT64 s (on the primary, per replica) |
 */
export const MEMORYSTORE_METRICS = Object.freeze({
  keyspaceHits: { type: "redis.googleapis.com/stats/keyspace_hits", resource: REDIS_INSTANCE, kind: "DELTA", valueType: "INT64", unit: "1" },
  keyspaceMisses: { type: "redis.googleapis.com/stats/keyspace_misses", resource: REDIS_INSTANCE, kind: "DELTA", valueType: "INT64", unit: "1" },
  memoryUsageRatio: { type: "redis.googleapis.com/stats/memory/usage_ratio", resource: REDIS_INSTANCE, kind: "GAUGE", valueType: "DOUBLE", unit: "10^2.%" },
  evictedKeys: { type: "redis.googleapis.com/stats/evicted_keys", resource: REDIS_INSTANCE, kind: "DELTA", valueType: "INT64", unit: "1" },
  connectedClients: { type: "redis.googleapis.com/clients/connected", resource: REDIS_INSTANCE, kind: "GAUGE", valueType: "INT64", unit: "1" },
  replicationRole: { type: "redis.googleapis.com/replication/role", resource: REDIS_INSTANCE, kind: "GAUGE", valueType: "INT64", unit: "1" },
  replicaLag: { type: "redis.googleapis.com/replication/master/slaves/lag", resource: REDIS_INSTANCE, kind: "GAUGE", valueType: "INT64", unit: "s", labels: ["slave"] },
} satisfies Record<string, MetricType>);
export type MemorystoreMetricKey = keyof typeof MEMORYSTORE_METRICS;

/** The log-based metrics components/log-metrics.ts creates, by key. */
export const LOG_METRIC_KEYS = ["lockWaits", "deadlocks", "tempFiles", "backupFailures"] as const;
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
