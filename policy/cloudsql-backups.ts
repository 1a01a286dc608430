/** Every primary takes automated backups and keeps transaction logs for point-in-time recovery. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isRecoveryDrillClone, isReplica, readKnown } from "./common";

/** Cloud SQL keeps 7 automated backups when `retainedBackups` is unset. Source: Cloud SQL "About backups". */
export const CLOUDSQL_DEFAULT_RETAINED_BACKUPS = 7;
/** Cloud SQL keeps 7 days of transaction logs when unset (Enterprise; Enterprise Plus defaults to 14). Source: Cloud SQL "Point-in-time recovery". */
export const CLOUDSQL_DEFAULT_LOG_RETENTION_DAYS = 7;
/** Default floor: a week of daily backups, Cloud SQL's own default. */
export const DEFAULT_MIN_RETAINED_BACKUPS = 7;
/** Default floor: three days of PITR, so a failure found on Monday can still be rewound to Friday. */
export const DEFAULT_MIN_LOG_RETENTION_DAYS = 3;

export interface BackupsConfig {
  readonly minRetainedBackups: number;
  readonly minTransactionLogRetentionDays: number;
}

export const cloudsqlBackups: ResourceValidationPolicy = {
  name: "cloudsql-backups",
  description: "Every Cloud SQL primary has automated backups and point-in-time recovery on, with at least the configured retention. Replicas (Cloud SQL backs up only primaries) and recovery-drill clones are exempt.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: {
    properties: {
      minRetainedBackups: { type: "integer", minimum: 1, default: DEFAULT_MIN_RETAINED_BACKUPS, description: "Fewest automated backups kept." },
      minTransactionLogRetentionDays: {
        type: "integer",
        minimum: 1,
        default: DEFAULT_MIN_LOG_RETENTION_DAYS,
        description: "Fewest days of transaction logs kept for point-in-time recovery.",
      },
    },
  },
  remediationSteps:
    "On the primary set `settings.backupConfiguration.enabled: true`, `pointInTimeRecoveryEnabled: true`, " +
    "`transactionLogRetentionDays` and `backupRetentionSettings.retainedBackups` at or above the policy's minimums " +
    "(lp-db:pointInTimeRecovery, lp-db:transactionLogRetentionDays, lp-db:retainedBackups).",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || isReplica(args.props) || isRecoveryDrillClone(args.props)) return;
    // The engine fills in schema defaults; fall back to them when a runner does not.
    const config = args.getConfig<Partial<BackupsConfig>>();
    const minRetained = config.minRetainedBackups ?? DEFAULT_MIN_RETAINED_BACKUPS;
    const minLogDays = config.minTransactionLogRetentionDays ?? DEFAULT_MIN_LOG_RETENTION_DAYS;
    const backup = readKnown(args.props, "settings", "backupConfiguration");
    if (readKnown(backup, "enabled") !== true) {
      reportViolation("settings.backupConfiguration.enabled is not true: the primary takes no automated backups.");
    }
    if (readKnown(backup, "pointInTimeRecoveryEnabled") !== true) {
      reportViolation("settings.backupConfiguration.pointInTimeRecoveryEnabled is not true: the primary cannot be restored to a point in time.");
    }
    const kept = readKnown(backup, "backupRetentionSettings", "retainedBackups") ?? CLOUDSQL_DEFAULT_RETAINED_BACKUPS;
    if (typeof kept !== "number" || kept < minRetained) {
      reportViolation(`backupRetentionSettings.retainedBackups is ${String(kept)}: keep at least ${minRetained}.`);
    }
    const days = readKnown(backup, "transactionLogRetentionDays") ?? CLOUDSQL_DEFAULT_LOG_RETENTION_DAYS;
    if (typeof days !== "number" || days < minLogDays) {
      reportViolation(`backupConfiguration.transactionLogRetentionDays is ${String(days)}: keep at least ${minLogDays}.`);
    }
  },
};
