/**
 * Log-based metrics for what only Cloud SQL's logs carry: lock waits,
 * deadlocks and temp files over the logged size (PostgreSQL's postgres.log),
 * and failed automated backups (Cloud Audit Logs, System Event log). Exports
 * have no log-based metric: their audit entries are Data Access entries, off
 * by default (see lib/monitoring/backups.ts for what covers them). The series keep
 * the log entry's `cloudsql_database` resource, so alerts and tiles select an
 * instance by `database_id` exactly as for Cloud SQL's own metrics.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { LOG_METRIC_KEYS, type LogMetricKey } from "../lib/monitoring";

/** Arguments of {@link LogMetrics}. */
export interface LogMetricsArgs {
  /** Project the metrics live in. */
  readonly project: pulumi.Input<string>;
  /** Prefix of the metric names ("<prefix>/lock_waits"); unique per stack, since stacks may share a project. */
  readonly prefix: string;
  /** The stack's instances, as "<project>:<instance>" (the `database_id` label); the metrics count only their entries. */
  readonly databaseIds: readonly pulumi.Input<string>[];
}

/**
 * A temp file at least this big counts: 10^8 bytes (100 MB), far beyond a sort
 * that spilled work_mem, so each one is a query worth reading. A power of ten,
 * so "at least this big" is "at least this many digits" in the log filter.
 */
export const LARGE_TEMP_FILE_BYTES = 100_000_000;
const LARGE_TEMP_FILE_DIGITS = String(LARGE_TEMP_FILE_BYTES).length;

/** PostgreSQL's server log in Cloud Logging. Source: Cloud SQL "View instance logs" (log name cloudsql.googleapis.com/postgres.log). */
const POSTGRES_LOG = 'log_id("cloudsql.googleapis.com/postgres.log")';

/**
 * What each metric counts. The postgres.log patterns are PostgreSQL's own
 * messages: `log_lock_waits` writes "process N still waiting for <lock> on …
 * after N ms" (after deadlock_timeout), a deadlock is "ERROR: deadlock
 * detected", and `log_temp_files` writes "temporary file: path "…", size N"
 * (the flag set logs every file; this counts those over {@link LARGE_TEMP_FILE_BYTES}). Backups:
 * Cloud SQL "View audit logs for automated backups" (system_event,
 * cloudsql.instances.automatedBackup, metadata.windowStatus).
 */
const FILTERS: Readonly<Record<LogMetricKey, string>> = Object.freeze({
  lockWaits: `${POSTGRES_LOG} AND textPayload=~"still waiting for .+ after [0-9.]+ ms"`,
  deadlocks: `${POSTGRES_LOG} AND textPayload:"deadlock detected"`,
  tempFiles: `${POSTGRES_LOG} AND textPayload=~"temporary file: path .+, size [1-9][0-9]{${LARGE_TEMP_FILE_DIGITS - 1},}$"`,
  backupFailures:
    'log_id("cloudaudit.googleapis.com/system_event") AND protoPayload.methodName="cloudsql.instances.automatedBackup" ' +
    'AND protoPayload.metadata.windowStatus=("STATUS_FAILED" OR "STATUS_ATTEMPT_FAILED")',
});

/** Metric name suffixes. */
const SUFFIX: Readonly<Record<LogMetricKey, string>> = Object.freeze({
  lockWaits: "lock_waits",
  deadlocks: "deadlocks",
  tempFiles: "temp_files",
  backupFailures: "backup_failures",
});

/**
 * Temp-file sizes in bytes: exponential buckets from 1 MiB doubling 20 times
 * (to 1 TiB), which covers everything from a spilled sort to a runaway hash join.
 */
const TEMP_FILE_BUCKETS = Object.freeze({ numFiniteBuckets: 20, growthFactor: 2, scale: 1024 * 1024 });

/** The stack's log-based metrics. */
export class LogMetrics extends pulumi.ComponentResource {
  /** Metric names by key (known before deployment, so alerts and the dashboard can build queries from them). */
  public readonly names: Readonly<Record<LogMetricKey, string>>;
  /** The metrics by key. */
  public readonly metrics: Readonly<Record<LogMetricKey, gcp.logging.Metric>>;

  constructor(name: string, args: LogMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:monitoring:LogMetrics", name, {}, opts);

    if (!/^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(args.prefix)) {
      throw new pulumi.ResourceError(`prefix "${args.prefix}" must be letters, digits, "-", "_" and "."`, this);
    }
    if (args.databaseIds.length === 0) {
      throw new pulumi.ResourceError("databaseIds is empty: the log-based metrics need at least one instance", this);
    }
    const scope = pulumi
      .all([...args.databaseIds])
      .apply((ids) => `resource.type="cloudsql_database" AND resource.labels.database_id=(${ids.map((id) => `"${id}"`).join(" OR ")})`);

    const names = {} as Record<LogMetricKey, string>;
    const metrics = {} as Record<LogMetricKey, gcp.logging.Metric>;
    for (const key of LOG_METRIC_KEYS) {
      names[key] = `${args.prefix}/${SUFFIX[key]}`;
      const distribution = key === "tempFiles";
      metrics[key] = new gcp.logging.Metric(
        `${name}-${SUFFIX[key].replace(/_/g, "-")}`,
        {
          project: args.project,
          name: names[key],
          description: `lp-db: ${SUFFIX[key].replace(/_/g, " ")} on the ${args.prefix} instances`,
          filter: pulumi.interpolate`${scope} AND ${FILTERS[key]}`,
          metricDescriptor: {
            metricKind: "DELTA",
            valueType: distribution ? "DISTRIBUTION" : "INT64",
            unit: distribution ? "By" : "1",
            labels: key === "backupFailures" ? [{ key: "window_status", valueType: "STRING", description: "The backup window's status" }] : [],
          },
          labelExtractors: key === "backupFailures" ? { window_status: "EXTRACT(protoPayload.metadata.windowStatus)" } : undefined,
          valueExtractor: distribution ? 'REGEXP_EXTRACT(textPayload, "size ([0-9]+)")' : undefined,
          bucketOptions: distribution ? { exponentialBuckets: TEMP_FILE_BUCKETS } : undefined,
        },
        { parent: this },
      );
    }
    this.names = Object.freeze(names);
    this.metrics = Object.freeze(metrics);

    this.registerOutputs({ names: this.names });
  }
}
