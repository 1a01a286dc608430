/**
 * Config area: how `pulumi up` applies the schema migrations, and the
 * partition maintenance they schedule.
 */
import { z } from "zod";
import { int, type AreaContext } from "./common";
import type { RawConfig } from "./schema";

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const migrationKeys = {
  migrationConnection: z.enum(["direct", "connector"]),
  partitionMonthsAhead: int(1, 24),
  analyticsRetentionMonths: int(1, 120),
  auditRetentionMonths: int(12, 240),
};

/** This area's part of the stack config. */
export interface MigrationsConfig {
  readonly migrations: {
    /** How `pulumi up` reaches the primary: a runner inside the VPC dials its private IP, or the Cloud SQL connector. */
    readonly connection: "direct" | "connector";
    readonly partitionMonthsAhead: number;
    readonly analyticsRetentionMonths: number;
    readonly auditRetentionMonths: number;
  };
}

export function parseMigrations({ raw }: AreaContext<RawConfig>): MigrationsConfig {
  return {
    migrations: {
      connection: raw.migrationConnection,
      partitionMonthsAhead: raw.partitionMonthsAhead,
      analyticsRetentionMonths: raw.analyticsRetentionMonths,
      auditRetentionMonths: raw.auditRetentionMonths,
    },
  };
}
