/**
 * The one place that reads stack configuration. It turns the `lp-db:*` keys of
 * `Pulumi.<stack>.yaml` (with the defaults declared in `Pulumi.yaml`) into a
 * typed, frozen {@link StackConfig}. Components never read config themselves.
 *
 * Each area (platform, database, replicas, access, backup, monitoring,
 * migrations, cache) owns its keys, its parsing and its cross-field rules; a rule
 * that spans areas lives with the key it reports on. This file composes them.
 * Adding a key: declare it in Pulumi.yaml and in its area's `…Keys`, and read
 * it in that area's `parse…`; a new area adds one file and one line to
 * `schema.ts`, `StackConfig` and `parseStackConfig` below.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, PROJECT, deepFreeze, describe, keyName, valueAt, type AreaContext, type ConfigSource } from "./common";
import { parseAccess, type AccessConfig } from "./access";
import { parseBackup, type BackupConfig } from "./backup";
import { parseCache, type CacheConfig } from "./cache";
import { parseDatabase, type DatabaseConfig } from "./database";
import { parseMigrations, type MigrationsConfig } from "./migrations";
import { MONITORING_SECRET_KEYS, parseMonitoring, type MonitoringConfig } from "./monitoring";
import { gcpProblems, parsePlatform, type PlatformConfig } from "./platform";
import { parseReplicas, type ReplicasConfig } from "./replicas";
import { rawSchema, type RawConfig } from "./schema";

export { ConfigError, PROJECT, type ConfigSource } from "./common";
export { MAX_DISK_GB, MIN_DISK_GB, PROD_MIN_LOG_RETENTION_DAYS, type InstanceConfig } from "./database";
export { MAX_READ_REPLICAS, PROD_MIN_READ_REPLICAS, type ReplicaConfig } from "./replicas";
export type { IamUserConfig } from "./access";
export { CACHE_TTL_SECONDS } from "./cache";
export type { Environment } from "./platform";

/** The validated configuration of one stack: every area's part. */
export type StackConfig = PlatformConfig & DatabaseConfig & ReplicasConfig & AccessConfig & BackupConfig & MonitoringConfig & MigrationsConfig & CacheConfig;

/** Every `lp-db:*` key this program reads. Pulumi.yaml must declare exactly these. */
export const CONFIG_KEYS = Object.freeze(Object.keys(rawSchema.shape)) as readonly (keyof RawConfig)[];

/** Keys that hold secrets; read with `requireSecret`/`getSecret`. */
export const SECRET_KEYS = Object.freeze([...MONITORING_SECRET_KEYS] as const);

/**
 * Validates raw values into a {@link StackConfig}. Pure, so tests can feed it
 * any value; {@link loadStackConfig} feeds it `pulumi.Config`.
 */
export function parseStackConfig(source: ConfigSource): StackConfig {
  const problems = gcpProblems(source);
  const parsed = rawSchema.safeParse(source.values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${keyName(issue.path)} = ${describe(valueAt(source.values, issue.path))}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const ctx: AreaContext<RawConfig> = {
    raw: parsed.data,
    region: source.region ?? "",
    source,
    fail: (key, message) => problems.push(`${PROJECT}:${key} = ${describe(valueAt(source.values, [key]))}: ${message}`),
    problem: (message) => problems.push(message),
  };
  const config: StackConfig = {
    ...parsePlatform(ctx),
    ...parseDatabase(ctx),
    ...parseReplicas(ctx),
    ...parseAccess(ctx),
    ...parseBackup(ctx),
    ...parseMonitoring(ctx),
    ...parseMigrations(ctx),
    ...parseCache(ctx),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/**
 * Reads `pulumi.Config` once for the running stack and validates it. Throws
 * {@link ConfigError} before any resource is created.
 */
export function loadStackConfig(): StackConfig {
  const cfg = new pulumi.Config(PROJECT);
  const gcp = new pulumi.Config("gcp");
  const values: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const text = cfg.get(key);
    if (text !== undefined) values[key] = text;
  }
  return parseStackConfig({
    project: gcp.get("project"),
    region: gcp.get("region"),
    values,
    slackAuthToken: cfg.getSecret("slackAuthToken"),
  });
}
