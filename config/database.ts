/**
 * Config area: the primary instance — version, edition and tier, storage,
 * TLS, maintenance, automated backups and PITR, Query Insights, flags and
 * managed connection pooling.
 */
import { z } from "zod";
import { MAX_LOG_RETENTION_DAYS, TIER_HELP, tierInfo, unsupportedVersionReason } from "../lib/cloudsql-catalog";
import { MAX_RETAINED_BACKUPS } from "../lib/limits";
// Type-only: reading config loads no component (nor @pulumi/gcp).
import type { DayOfWeek, PrimaryInstanceArgs } from "../components/primary-instance";
import { DATE, FLAG_NAME, HHMM, bool, int, pairList, type AreaContext } from "./common";
import type { RawConfig } from "./schema";
import { flagOverrideProblems } from "../lib/database-flags";

/** Cloud SQL disk size limits, GB. Source: Cloud SQL "Quotas and limits" (64 TB). */
export const MIN_DISK_GB = 10;
export const MAX_DISK_GB = 65_536;
/** A prod stack keeps at least this many days of PITR logs, so a Monday can recover last Friday. */
export const PROD_MIN_LOG_RETENTION_DAYS = 7;

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const databaseKeys = {
  databaseVersion: z.string().superRefine((v, ctx) => {
    const reason = unsupportedVersionReason(v);
    if (reason) ctx.addIssue({ code: "custom", message: reason });
  }),
  edition: z.enum(["ENTERPRISE", "ENTERPRISE_PLUS"]),
  tier: z.string().refine((v) => tierInfo(v) !== undefined, { message: `unknown tier; expected ${TIER_HELP}` }),
  availabilityType: z.enum(["REGIONAL", "ZONAL"]),
  diskType: z.enum(["PD_SSD", "PD_HDD"]),
  diskSizeGb: int(MIN_DISK_GB, MAX_DISK_GB),
  diskAutoresizeLimitGb: int(0, MAX_DISK_GB),
  sslMode: z.enum(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"]),
  maintenanceWindow: z
    .string()
    .regex(/^(MON|TUE|WED|THU|FRI|SAT|SUN) ([01]\d|2[0-3]):00$/, 'expected "<MON..SUN> <HH>:00" in UTC, for example "SUN 03:00"'),
  maintenanceUpdateTrack: z.enum(["canary", "stable", "week5"]),
  denyMaintenancePeriod: z
    .string()
    .refine((v) => v === "" || /^\d{4}-\d{2}-\d{2}\/\d{4}-\d{2}-\d{2}$/.test(v), {
      message: 'expected "" or "<YYYY-MM-DD>/<YYYY-MM-DD>"',
    }),
  backupStartTime: z.string().regex(HHMM, 'expected "HH:MM" (24-hour, UTC)'),
  backupLocation: z.string(),
  pointInTimeRecovery: bool(),
  transactionLogRetentionDays: int(1, MAX_LOG_RETENTION_DAYS.ENTERPRISE_PLUS),
  retainedBackups: int(1, MAX_RETAINED_BACKUPS),
  queryInsightsPlansPerMinute: int(0, 20),
  queryStringLength: int(256, 4500),
  databaseFlags: pairList(FLAG_NAME, "<flag>=<value>"),
  connectionPooling: bool(),
  poolMode: z.enum(["transaction", "session"]),
  poolMaxClientConnections: int(1, 262_142),
  poolMaxPoolSize: int(1, 262_142),
};

/** The primary's settings: PrimaryInstance's own args, but flags as overrides of the named flag set. */
export type InstanceConfig = Pick<
  PrimaryInstanceArgs,
  | "databaseVersion"
  | "edition"
  | "tier"
  | "availabilityType"
  | "diskType"
  | "diskSizeGb"
  | "diskAutoresizeLimitGb"
  | "sslMode"
  | "maintenanceWindow"
  | "maintenanceUpdateTrack"
  | "denyMaintenancePeriod"
  | "backup"
  | "insights"
  | "pooling"
> & {
  /** Flags that override or add to the named flag set. */
  readonly flags: Readonly<Record<string, string>>;
};

/** This area's part of the stack config. */
export interface DatabaseConfig {
  readonly instance: InstanceConfig;
}

function checkDatabase({ raw, fail }: AreaContext<RawConfig>): void {
  // Overrides that would log personal data or move pg_cron (lib/database-flags, the rule resolveFlags applies).
  for (const p of flagOverrideProblems(raw.databaseFlags, raw.databaseName)) fail("databaseFlags", p);
  const tier = tierInfo(raw.tier);
  if (tier && tier.edition !== raw.edition) {
    fail("tier", `tier is an ${tier.edition} tier but lp-db:edition is ${raw.edition}`);
  }
  if (raw.transactionLogRetentionDays > MAX_LOG_RETENTION_DAYS[raw.edition]) {
    fail("transactionLogRetentionDays", `${raw.edition} keeps at most ${MAX_LOG_RETENTION_DAYS[raw.edition]} days of transaction logs`);
  }
  // Cloud SQL refuses more days of transaction logs than retained backups: "Invalid request: backup retention
  // should be > transaction log retention" (Admin API 400, quoted in terraform-google-sql-db pull request 785).
  // Equal counts are Cloud SQL's own Enterprise defaults (7 and 7), so only fewer backups are refused.
  if (raw.retainedBackups < raw.transactionLogRetentionDays) {
    fail("retainedBackups", `must be at least lp-db:transactionLogRetentionDays (${raw.transactionLogRetentionDays}): Cloud SQL refuses fewer backups than days of transaction logs`);
  }
  if (raw.sslMode === "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" && raw.migrationConnection !== "connector") {
    fail(
      "sslMode",
      'client certificates are required, but migrations connect directly with a password; set lp-db:migrationConnection to "connector" (the Cloud SQL connector presents a client certificate)',
    );
  }
  if (raw.connectionPooling && raw.edition !== "ENTERPRISE_PLUS") {
    fail("connectionPooling", "managed connection pooling needs lp-db:edition ENTERPRISE_PLUS");
  }
  if (raw.diskAutoresizeLimitGb !== 0 && raw.diskAutoresizeLimitGb < raw.diskSizeGb) {
    fail("diskAutoresizeLimitGb", `must be 0 (no limit) or at least lp-db:diskSizeGb (${raw.diskSizeGb})`);
  }
  const deny = denyPeriod(raw);
  if (deny && !(DATE.test(deny[0]) && DATE.test(deny[1]) && deny[0] < deny[1])) {
    fail("denyMaintenancePeriod", "the start date must come before the end date");
  }
  if (raw.environment === "prod") {
    if (raw.availabilityType !== "REGIONAL") fail("availabilityType", "a prod stack must be REGIONAL (high availability)");
    if (!raw.pointInTimeRecovery) fail("pointInTimeRecovery", "a prod stack must keep point-in-time recovery on");
    if (raw.transactionLogRetentionDays < PROD_MIN_LOG_RETENTION_DAYS) {
      fail("transactionLogRetentionDays", `a prod stack keeps at least ${PROD_MIN_LOG_RETENTION_DAYS} days`);
    }
  }
}

function denyPeriod(raw: RawConfig): string[] | undefined {
  return raw.denyMaintenancePeriod ? raw.denyMaintenancePeriod.split("/") : undefined;
}

export function parseDatabase(ctx: AreaContext<RawConfig>): DatabaseConfig {
  checkDatabase(ctx);
  const { raw } = ctx;
  const deny = denyPeriod(raw);
  const [windowDay, windowTime] = raw.maintenanceWindow.split(" ");
  return {
    instance: {
      databaseVersion: raw.databaseVersion,
      edition: raw.edition,
      tier: raw.tier,
      availabilityType: raw.availabilityType,
      diskType: raw.diskType,
      diskSizeGb: raw.diskSizeGb,
      diskAutoresizeLimitGb: raw.diskAutoresizeLimitGb,
      sslMode: raw.sslMode,
      maintenanceWindow: { day: windowDay as DayOfWeek, hour: Number(windowTime.slice(0, 2)) },
      maintenanceUpdateTrack: raw.maintenanceUpdateTrack,
      denyMaintenancePeriod: deny ? { startDate: deny[0], endDate: deny[1] } : undefined,
      backup: {
        startTime: raw.backupStartTime,
        location: raw.backupLocation || undefined,
        pointInTimeRecovery: raw.pointInTimeRecovery,
        transactionLogRetentionDays: raw.transactionLogRetentionDays,
        retainedBackups: raw.retainedBackups,
      },
      insights: { queryPlansPerMinute: raw.queryInsightsPlansPerMinute, queryStringLength: raw.queryStringLength },
      flags: raw.databaseFlags,
      pooling: {
        enabled: raw.connectionPooling,
        mode: raw.poolMode,
        maxClientConnections: raw.poolMaxClientConnections,
        maxPoolSize: raw.poolMaxPoolSize,
      },
    },
  };
}
