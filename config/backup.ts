/**
 * Config area: the export bucket, scheduled exports and the recovery drill.
 * (Automated backups and PITR are instance settings: see database.ts.)
 */
import { z } from "zod";
import { PG_IDENT, bool, int, list, pairList, type AreaContext } from "./common";
import { exportWindowProblems } from "./export-window";
import type { RawConfig } from "./schema";

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const backupKeys = {
  backupBucketLocation: z.string().regex(/^[A-Z0-9-]+$/i, "must be a Cloud Storage location such as US, NAM4 or US-CENTRAL1"),
  backupRetentionDays: int(1, 3650),
  backupBucketLocked: bool(),
  backupSoftDeleteDays: int(7, 90),
  exportSchedule: z
    .string()
    .regex(/^(\S+\s+){4}\S+$/, 'expected a five-field cron expression, for example "0 3 * * *"'),
  exportTimeZone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'expected an IANA time zone such as "Etc/UTC"'),
  exportDatabases: list(z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier")).refine((d) => d.length > 0, {
    message: "name at least one database",
  }),
  drillEnabled: bool(),
  drillPointInTime: z
    .string()
    .refine((v) => v === "" || (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(v) && !Number.isNaN(Date.parse(v))), {
      message: 'expected "" (latest) or an RFC3339 UTC timestamp such as "2026-11-20T03:15:00Z"',
    }),
  drillRunId: z.string().regex(/^([a-z0-9][-a-z0-9]{0,19})?$/, 'expected "" or up to 20 lowercase letters, digits or hyphens'),
  drillRowBounds: pairList(PG_IDENT, "<table>=<min> or <table>=<min>..<max>").transform((bounds, ctx) =>
    Object.fromEntries(
      Object.entries(bounds).map(([table, range], i) => {
        const m = /^(\d+)(?:\.\.(\d+))?$/.exec(range);
        if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
          ctx.addIssue({ code: "custom", path: [i], message: 'expected "<table>=<min>" or "<table>=<min>..<max>" with min ≤ max' });
          return [table, { min: 0 }];
        }
        return [table, m[2] === undefined ? { min: Number(m[1]) } : { min: Number(m[1]), max: Number(m[2]) }];
      }),
    ),
  ),
};

/** This area's part of the stack config. */
export interface BackupConfig {
  readonly backup: {
    readonly bucketLocation: string;
    readonly retentionDays: number;
    readonly lockRetention: boolean;
    readonly softDeleteDays: number;
    readonly exportSchedule: string;
    readonly exportTimeZone: string;
    readonly exportDatabases: readonly string[];
    readonly drillEnabled: boolean;
    /** RFC3339 UTC instant the drill recovers to; undefined for the latest recoverable point. */
    readonly drillPointInTime?: string;
    /** Row-count bounds of the key tables the drill checks, by table. */
    readonly drillRowBounds: Readonly<Record<string, { readonly min: number; readonly max?: number }>>;
    /** Changing it repeats the drill at the same point in time; undefined for none. */
    readonly drillRunId?: string;
  };
}

export function parseBackup({ raw, fail }: AreaContext<RawConfig>): BackupConfig {
  if (raw.exportDatabases.some((d) => d !== raw.databaseName)) {
    fail("exportDatabases", `may only name databases this stack creates (${raw.databaseName})`);
  }
  if (raw.backupBucketLocked && raw.environment !== "prod") {
    fail("backupBucketLocked", "only a prod stack locks its export bucket (Bucket Lock is irreversible and blocks deleting the stack)");
  }
  // The instance's backupStartTime is the database area's key; the export must start outside its window.
  for (const p of exportWindowProblems(raw)) fail(p.key, p.message);
  if (raw.drillPointInTime && Date.parse(raw.drillPointInTime) > Date.now()) {
    fail("drillPointInTime", "is in the future; pick a moment inside the point-in-time recovery window");
  }
  return {
    backup: {
      bucketLocation: raw.backupBucketLocation,
      retentionDays: raw.backupRetentionDays,
      lockRetention: raw.backupBucketLocked,
      softDeleteDays: raw.backupSoftDeleteDays,
      exportSchedule: raw.exportSchedule,
      exportTimeZone: raw.exportTimeZone,
      exportDatabases: raw.exportDatabases,
      drillEnabled: raw.drillEnabled,
      drillPointInTime: raw.drillPointInTime || undefined,
      drillRowBounds: raw.drillRowBounds,
      drillRunId: raw.drillRunId || undefined,
    },
  };
}
