/**
 * Signal family — Backups and exports: automated backups and the scheduled
 * export workflow.
 *
 * There is no signal on Cloud SQL's own export audit entries:
 * `cloudsql.instances.export` needs a DATA_READ permission, so its entries go
 * to the Data Access audit log, which is off by default (Cloud SQL for
 * PostgreSQL audit logging, https://cloud.google.com/sql/docs/postgres/audit-logging,
 * "Methods by permission type"). Turning it on takes a project-wide
 * IAMAuditConfig for cloudsql.googleapis.com, which is authoritative for the
 * service ("Authoritative for a given service", @pulumi/gcp
 * projects/iamauditConfig.d.ts): it would replace a Data Access setting the
 * project owner made, and prod and staging share a project, so either stack's
 * destroy would switch it off for both. What covers exports instead: the
 * scheduled export's workflow waits for each export operation and fails the
 * execution when it fails (components/scheduled-export.ts), which
 * `export-workflow-failures` pages on; a manual export (`gcloud sql export`,
 * the runbook's re-run) is watched by its operator: gcloud waits for the
 * operation and reports its error unless run with `--async` (gcloud sql export
 * reference).
 */
import { FAILURE_WINDOW, M, levels, series, type Signal } from "./signal";

/** Failed automated backup windows or scheduled export runs per {@link FAILURE_WINDOW}: one is a warning, a second means the day has none. */
export const FAILURES_WARNING = 0;
export const FAILURES_CRITICAL = 1;

/** This family's signals, in dashboard order. */
export const BACKUPS_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "backup-failures",
    title: `Failed automated backups per ${FAILURE_WINDOW}`,
    row: "backups",
    roles: ["primary"],
    metrics: [M.backupFailureLog],
    unit: "1",
    // A count of failures: no series means none were logged, so it reads as 0
    // (a tile showing 0, not "no data"); it can never page, the level being "above 0".
    expr: (c) => `sum(increase(${series(M.backupFailureLog, c)}[${FAILURE_WINDOW}])) or vector(0)`,
    direction: "above",
    levels: levels(FAILURES_WARNING, FAILURES_CRITICAL, 0),
    meaning: "An automated backup window ended failed (a second one means no backup for a day).",
    action: "Read the system_event audit entry for the window, fix the cause, then take an on-demand backup.",
    anchor: "backup-failed",
    runbook: "point-in-time-clone",
  },
  {
    id: "export-workflow-failures",
    title: `Failed export workflow runs per ${FAILURE_WINDOW}`,
    row: "backups",
    roles: ["primary"],
    needsExportWorkflow: true,
    metrics: [M.exportRuns],
    unit: "1",
    // As for backups: no series is no failed run.
    expr: (c) => `sum(increase(${series(M.exportRuns, c, { status: "FAILED" })}[${FAILURE_WINDOW}])) or vector(0)`,
    direction: "above",
    levels: levels(FAILURES_WARNING, FAILURES_CRITICAL, 0),
    meaning: "A run of the scheduled export workflow failed (including failures before Cloud SQL's export call: permissions, the bucket).",
    action: "Open the failed execution in Cloud Workflows (its error says which step), fix the cause, run the workflow again.",
    anchor: "export-failed",
    runbook: "rerun-an-export",
  },
] satisfies Signal[]);
