/**
 * The recovery objectives a stack declares (RPO and RTO inputs), as a stack
 * output: what Cloud SQL is told about backups and PITR, and the exports.
 */
import type * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { RTO_TARGET_MINUTES } from "./drill-checks";

/** The settings that determine RPO and RTO, as a stack output. */
export interface RecoveryObjectives {
  /** Automated daily backup window start, "HH:MM" UTC. */
  readonly backupStartTime: string;
  /** Automated backups kept (one a day: the oldest restorable backup is this many days old). */
  readonly retainedBackups: number;
  /** Point-in-time recovery on: RPO is bounded by log archiving, not by the daily backup. */
  readonly pointInTimeRecovery: boolean;
  /** Days of transaction logs kept: how far back a point-in-time clone can go. */
  readonly transactionLogRetentionDays: number;
  /** Where automated backups are stored ("" = Cloud SQL's default multi-region). */
  readonly backupLocation: string;
  /** Logical exports: schedule, time zone and how long each is kept. */
  readonly export: { readonly schedule: string; readonly timeZone: string; readonly retentionDays: number; readonly bucketLocation: string };
  /** Worst-case data loss without PITR is one backup interval. */
  readonly rpoWithoutPitrHours: number;
  /** The recovery-time target the drill measures against. */
  readonly rtoTargetMinutes: number;
}

/** Hours between automated backups (Cloud SQL takes one a day). Source: Cloud SQL "About backups". */
export const BACKUP_INTERVAL_HOURS = 24;

/**
 * The recovery objectives as the primary instance declares them (its
 * `settings.backupConfiguration`), not as the config asked: what the output
 * shows is what Cloud SQL is told to do.
 */
export function recoveryObjectivesOf(
  instanceSettings: pulumi.Input<gcp.types.output.sql.DatabaseInstanceSettings | undefined>,
  exports: { readonly schedule: string; readonly timeZone: string; readonly retentionDays: number; readonly bucketLocation: string },
): pulumi.Output<RecoveryObjectives> {
  return pulumi.output(instanceSettings).apply((s) => {
    const b = s?.backupConfiguration;
    return recoveryObjectives(
      {
        startTime: b?.startTime ?? "",
        retainedBackups: b?.backupRetentionSettings?.retainedBackups ?? 0,
        pointInTimeRecovery: b?.enabled === true && b.pointInTimeRecoveryEnabled === true,
        transactionLogRetentionDays: b?.transactionLogRetentionDays ?? 0,
        location: b?.location || undefined,
      },
      exports,
    );
  });
}

/** Collects {@link RecoveryObjectives} from backup settings and the export settings. */
export function recoveryObjectives(
  backup: {
    readonly startTime: string;
    readonly retainedBackups: number;
    readonly pointInTimeRecovery: boolean;
    readonly transactionLogRetentionDays: number;
    readonly location?: string;
  },
  exports: { readonly schedule: string; readonly timeZone: string; readonly retentionDays: number; readonly bucketLocation: string },
): RecoveryObjectives {
  return {
    backupStartTime: backup.startTime,
    retainedBackups: backup.retainedBackups,
    pointInTimeRecovery: backup.pointInTimeRecovery,
    transactionLogRetentionDays: backup.transactionLogRetentionDays,
    backupLocation: backup.location ?? "",
    export: { ...exports },
    rpoWithoutPitrHours: BACKUP_INTERVAL_HOURS,
    rtoTargetMinutes: RTO_TARGET_MINUTES,
  };
}
