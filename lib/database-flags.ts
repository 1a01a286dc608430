/**
 * The named, documented set of PostgreSQL flags every Cloud SQL instance of this
 * stack runs with, and the rules for merging overrides on top of it.
 *
 * Order of precedence (last wins): the named set below, then `lp-db:databaseFlags`
 * (stack-wide), then a replica's `flag.<name>=<value>` overrides.
 */
import { tierInfo } from "./cloudsql-catalog";

/** Flag name → value, as Cloud SQL's `settings.databaseFlags` takes them (strings). */
export type FlagSet = Readonly<Record<string, string>>;

/**
 * `max_connections` by instance memory. Cloud SQL's own default tops out at a few
 * hundred connections (Cloud SQL "Quotas and limits", maximum concurrent
 * connections), which is too few for the stack's replica fan-out. We budget about
 * a third of memory for backends — shared_buffers takes another third by Cloud SQL
 * default ("Best practices for managing memory usage") — at roughly 13 MB per
 * backend (catalog/relation caches plus a couple of 4 MB `work_mem` sort/hash
 * nodes), i.e. ~25 connections per GB, rounded down to the table below, and never
 * beyond 5,000: past that, snapshot and lock-table costs grow with the backend
 * count, and the managed pooler, not the server, should absorb client fan-out.
 *
 * | Memory (GB) at least | max_connections | Example tier |
 * |---|---|---|
 * | 0   | 100   | db-custom-1-3840 |
 * | 8   | 200   | db-custom-2-8192 |
 * | 16  | 400   | db-perf-optimized-N-2 |
 * | 32  | 800   | db-perf-optimized-N-4 |
 * | 64  | 1,600 | db-perf-optimized-N-8 |
 * | 128 | 3,000 | db-perf-optimized-N-16 |
 * | 256 | 5,000 | db-perf-optimized-N-32 and larger |
 */
export const MAX_CONNECTIONS_BY_MEMORY: readonly { readonly minMemoryGb: number; readonly maxConnections: number }[] = Object.freeze([
  { minMemoryGb: 256, maxConnections: 5_000 },
  { minMemoryGb: 128, maxConnections: 3_000 },
  { minMemoryGb: 64, maxConnections: 1_600 },
  { minMemoryGb: 32, maxConnections: 800 },
  { minMemoryGb: 16, maxConnections: 400 },
  { minMemoryGb: 8, maxConnections: 200 },
  { minMemoryGb: 0, maxConnections: 100 },
]);

/** Cloud SQL accepts max_connections from 14 to 262,143. Source: Cloud SQL "Supported database flags" (PostgreSQL). */
export const MIN_MAX_CONNECTIONS = 14;
export const MAX_MAX_CONNECTIONS = 262_143;

/**
 * A session left idle inside a transaction holds its locks and its snapshot (which
 * stops vacuum); one minute is far above any application think time, so hitting it
 * means a leaked transaction.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * Flags the CIS Google Cloud Platform Foundation Benchmark (section 6.2, "PostgreSQL
 * database") requires, with the value it requires. Overrides may not change them.
 * `log_min_duration_statement` must stay -1 because logged statement text can carry
 * personal data; slow queries (the platform's 1,000 ms threshold) are found through
 * Query Insights, which records normalized queries instead.
 */
export const CIS_FLAGS: FlagSet = Object.freeze({
  log_connections: "on",
  log_disconnections: "on",
  log_statement: "ddl",
  log_min_messages: "warning",
  log_min_error_statement: "error",
  log_error_verbosity: "default",
  log_min_duration_statement: "-1",
  "cloudsql.enable_pgaudit": "on",
});

/** The rest of the named set: operational logging, auditing, IAM logins, statistics and scheduling. */
export const OPERATIONAL_FLAGS: FlagSet = Object.freeze({
  // Lock waits longer than deadlock_timeout, every checkpoint, and every temporary file (size threshold 0).
  log_lock_waits: "on",
  log_checkpoints: "on",
  log_temp_files: "0",
  // pgAudit: DDL and role/privilege changes only; read/write classes would log statement text (personal data).
  "pgaudit.log": "ddl,role",
  // IAM database logins for the service accounts in lp-db:iamUsers.
  "cloudsql.iam_authentication": "on",
  idle_in_transaction_session_timeout: String(IDLE_IN_TRANSACTION_TIMEOUT_MS),
  // pg_stat_statements: include statements run inside functions (partition maintenance runs in PL/pgSQL).
  "pg_stat_statements.track": "all",
  track_io_timing: "on",
  // pg_cron schedules the monthly partition maintenance; jobs run in the application database.
  "cloudsql.enable_pg_cron": "on",
});

/**
 * Executor settings for the platform's workload: short, index-driven OLTP
 * queries (bench/README.md, "Server settings"). On Cloud SQL's list of
 * supported PostgreSQL flags (https://cloud.google.com/sql/docs/postgres/flags);
 * no restart needed.
 * - `jit` off: the hot queries run in well under a millisecond, and JIT
 *   compilation costs tens of milliseconds. It only starts when a plan's
 *   estimate passes jit_above_cost, i.e. on a misestimate (a generic plan
 *   over every partition, a stale statistic) of exactly the queries that must
 *   stay fast, so it can only add latency here.
 */
export const PERFORMANCE_FLAGS: FlagSet = Object.freeze({
  jit: "off",
});

/**
 * pgAudit session classes that log no statement data: DDL and role/privilege
 * changes. `read`, `write`, `function`, `misc`, `misc_set` and `all` log the
 * text of SELECT/INSERT/UPDATE/DELETE/COPY and function calls, literals included.
 * Source: Cloud SQL "Audit for PostgreSQL using pgAudit"
 * (https://cloud.google.com/sql/docs/postgres/pg-audit; pgaudit.log classes read,
 * write, function, role, ddl, misc, misc_set, all, none) and pgAudit's README
 * (https://github.com/pgaudit/pgaudit#pgauditlog).
 */
export const PGAUDIT_ALLOWED_CLASSES: readonly string[] = Object.freeze(["ddl", "role", "none"]);
/** `log_statement` values that log no data-changing statements (`mod` and `all` log statement text, and bind parameters with the extended protocol; PostgreSQL "Error Reporting and Logging", log_statement). */
export const LOG_STATEMENT_ALLOWED: readonly string[] = Object.freeze(["none", "ddl"]);

/**
 * Why a flag value would put personal data in the logs, lock out the IAM logins
 * or run pg_cron's jobs outside the application database; undefined when it is
 * fine. `databaseName` is the application database (pg_cron's home).
 */
export function personalDataFlagProblem(flag: string, value: string, databaseName: string): string | undefined {
  const v = value.trim().toLowerCase();
  const shown = `flag ${flag} = "${value}"`;
  switch (flag) {
    case "pgaudit.log": {
      const logged = v.split(",").map((c) => c.trim()).filter((c) => c !== "" && !c.startsWith("-"));
      const bad = logged.filter((c) => !PGAUDIT_ALLOWED_CLASSES.includes(c));
      return bad.length
        ? `${shown}: pgAudit class(es) ${bad.join(", ")}${bad.includes("all") ? " (all = read, write, function, role, ddl, misc, misc_set)" : ""} log the statement text of reads, writes or function calls, literals and all, which carries personal data into Cloud Logging; allowed classes: ${PGAUDIT_ALLOWED_CLASSES.join(", ")} (https://cloud.google.com/sql/docs/postgres/pg-audit)`
        : undefined;
    }
    case "pgaudit.log_parameter":
      return v === "off" ? undefined : `${shown}: pgAudit would log the parameters of every audited statement, and those carry personal data (e-mails, names); keep it off (https://github.com/pgaudit/pgaudit#pgauditlog_parameter)`;
    case "log_statement":
      return LOG_STATEMENT_ALLOWED.includes(v)
        ? undefined
        : `${shown}: PostgreSQL would log the statement text of every data change${v === "all" ? " and read" : ""}, bind parameters included, which carries personal data; log_statement must stay "ddl" (CIS GCP Foundation Benchmark 6.2.4)`;
    case "cloudsql.iam_authentication":
      return v === "on"
        ? undefined
        : `${shown}: the IAM database logins of lp-db:iamUsers could no longer sign in, so the applications would need password users instead; keep it on (https://cloud.google.com/sql/docs/postgres/iam-authentication)`;
    case "cron.database_name":
      return value === databaseName
        ? undefined
        : `${shown}: pg_cron would run its jobs in, and record their commands and output (cron.job_run_details) in, "${value}" instead of the application database "${databaseName}", where the partition maintenance jobs live; remove the override`;
    default:
      return undefined;
  }
}

/** Every override in `overrides` that {@link personalDataFlagProblem} refuses, as messages. */
export function flagOverrideProblems(overrides: FlagSet, databaseName: string): string[] {
  return Object.entries(overrides).flatMap(([flag, value]) => personalDataFlagProblem(flag, value, databaseName) ?? []);
}

/** Raised when a flag set or an override breaks a rule; the message names the flag. */
export class DatabaseFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseFlagError";
  }
}

/** The `max_connections` the table above gives a tier. Throws for a tier Cloud SQL does not have. */
export function maxConnectionsForTier(tier: string): number {
  const info = tierInfo(tier);
  if (!info) throw new DatabaseFlagError(`tier "${tier}" is not a Cloud SQL tier, so max_connections cannot be sized`);
  const row = MAX_CONNECTIONS_BY_MEMORY.find((r) => info.memoryGb >= r.minMemoryGb);
  return (row ?? MAX_CONNECTIONS_BY_MEMORY[MAX_CONNECTIONS_BY_MEMORY.length - 1]).maxConnections;
}

/** Inputs to {@link resolveFlags}. */
export interface FlagInputs {
  /** Machine tier; sizes max_connections. */
  readonly tier: string;
  /** Application database, where pg_cron runs its jobs. */
  readonly databaseName: string;
  /** Stack-wide overrides (`lp-db:databaseFlags`). */
  readonly overrides?: FlagSet;
  /** Per-instance overrides (a replica's `flag.<name>=<value>`), applied last. */
  readonly instanceOverrides?: FlagSet;
  /** A replica's primary's max_connections: a hot standby may not have fewer (PostgreSQL refuses to start). */
  readonly primaryMaxConnections?: number;
}

/**
 * The effective flags of one instance: the named set, sized for the tier, with
 * overrides merged on top. Throws {@link DatabaseFlagError} when an override would
 * put personal data in the logs ({@link personalDataFlagProblem}), weaken a CIS flag
 * or set max_connections outside what Cloud SQL or replication allows.
 */
export function resolveFlags(inputs: FlagInputs): FlagSet {
  const sized = maxConnectionsForTier(inputs.tier);
  const base: Record<string, string> = {
    ...CIS_FLAGS,
    ...OPERATIONAL_FLAGS,
    ...PERFORMANCE_FLAGS,
    "cron.database_name": inputs.databaseName,
    // A replica never gets fewer than its primary, or PostgreSQL refuses to start the standby.
    max_connections: String(Math.max(sized, inputs.primaryMaxConnections ?? 0)),
  };
  const merged: Record<string, string> = { ...base, ...inputs.overrides, ...inputs.instanceOverrides };
  const unsafe = flagOverrideProblems(merged, inputs.databaseName);
  if (unsafe.length > 0) throw new DatabaseFlagError(unsafe.join("; "));
  for (const [flag, required] of Object.entries(CIS_FLAGS)) {
    if (merged[flag] !== required) {
      throw new DatabaseFlagError(`flag ${flag} must stay "${required}" (CIS GCP Foundation Benchmark 6.2); an override sets "${merged[flag]}"`);
    }
  }
  const maxConnections = Number(merged.max_connections);
  if (!Number.isInteger(maxConnections) || maxConnections < MIN_MAX_CONNECTIONS || maxConnections > MAX_MAX_CONNECTIONS) {
    throw new DatabaseFlagError(
      `flag max_connections = "${merged.max_connections}" must be an integer from ${MIN_MAX_CONNECTIONS} to ${MAX_MAX_CONNECTIONS}`,
    );
  }
  if (inputs.primaryMaxConnections !== undefined && maxConnections < inputs.primaryMaxConnections) {
    throw new DatabaseFlagError(
      `flag max_connections = ${maxConnections} on a replica is below its primary's ${inputs.primaryMaxConnections}; a hot standby needs at least as many`,
    );
  }
  return Object.freeze(merged);
}

/** The max_connections of a resolved flag set. */
export function maxConnectionsOf(flags: FlagSet): number {
  return Number(flags.max_connections);
}

/** Flags in the `settings.databaseFlags` shape, sorted by name so diffs stay stable. */
export function toDatabaseFlags(flags: FlagSet): { name: string; value: string }[] {
  return Object.keys(flags)
    .sort()
    .map((name) => ({ name, value: flags[name] }));
}
