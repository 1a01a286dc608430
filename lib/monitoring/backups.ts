/** Signal family — Backups and exports: automated backups, exports and the scheduled export workflow. */
import { BOTH, FAILURE_WINDOW, M, levels, series, type Signal } from "./signal";

/** Failed automated backup windows or exports per {@link FAILURE_WINDOW}: one is a warning, a second means the day has none. */
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
