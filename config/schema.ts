/**
 * The raw schema: one entry per `lp-db:*` key, exactly as Pulumi.yaml declares
 * them, composed from each area's keys (in the order Pulumi.yaml lists them).
 */
import { z } from "zod";
import { accessKeys } from "./access";
import { backupKeys } from "./backup";
import { cacheKeys } from "./cache";
import { databaseKeys } from "./database";
import { migrationKeys } from "./migrations";
import { monitoringKeys } from "./monitoring";
import { platformKeys } from "./platform";
import { replicaKeys } from "./replicas";

export const rawSchema = z.object({
  ...platformKeys,
  ...databaseKeys,
  ...replicaKeys,
  ...accessKeys,
  ...backupKeys,
  ...monitoringKeys,
  ...migrationKeys,
  ...cacheKeys,
});

/** Every `lp-db:*` value after parsing. */
export type RawConfig = z.output<typeof rawSchema>;
