/**
 * The Cloud SQL for PostgreSQL primary: private IP only, TLS required, CMEK,
 * automated backups with point-in-time recovery and a final backup on delete,
 * maintenance window and deny period, Query Insights, deletion protection at the
 * Pulumi and the API level, the named flag set and managed connection pooling.
 * It is created only after the PSA peering and the KMS grant on its key exist.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { MAX_LOG_RETENTION_DAYS, tierInfo, type Edition } from "../lib/cloudsql-catalog";
import { maxConnectionsOf, toDatabaseFlags, type FlagSet } from "../lib/database-flags";
import { MAX_RETAINED_BACKUPS } from "../lib/limits";
import type { EncryptionKeys } from "./encryption";
import type { PrivateNetwork } from "./network";

export type SslMode = "ENCRYPTED_ONLY" | "TRUSTED_CLIENT_CERTIFICATE_REQUIRED";
export type PoolMode = "transaction" | "session";
export type DayOfWeek = "MON" | "TUE" | "WED" | "THU" | "FRI" | "SAT" | "SUN";

/** TLS modes that refuse unencrypted connections. */
export const SECURE_SSL_MODES: readonly SslMode[] = Object.freeze(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"]);
/** Cloud SQL numbers maintenance days 1 (Monday) to 7 (Sunday). */
const DAY_NUMBER: Readonly<Record<DayOfWeek, number>> = Object.freeze({ MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6, SUN: 7 });
/** Cloud SQL keeps a final backup 1–365 days. Source: Cloud SQL "About backups". */
export const MAX_FINAL_BACKUP_RETENTION_DAYS = 365;
/** A final backup outlives the instance by 30 days by default: long enough to notice a mistaken delete over a month-end. */
export const DEFAULT_FINAL_BACKUP_RETENTION_DAYS = 30;
/** Built-in users' passwords are at least this long: generated ones (32 characters) pass, short hand-typed ones do not. */
export const MIN_PASSWORD_LENGTH = 16;
/** Query Insights limits. Source: provider docs for `settings.insightsConfig`. */
export const MAX_QUERY_PLANS_PER_MINUTE = 20;
export const MIN_QUERY_STRING_LENGTH = 256;
export const MAX_QUERY_STRING_LENGTH = 4_500;

/** Managed connection pooling of one instance. */
export interface PoolingArgs {
  /** Turns managed pooling on (Enterprise Plus only). */
  readonly enabled: boolean;
  /** transaction or session pooling. */
  readonly mode: PoolMode;
  /** Client connections the instance's poolers accept (`max_client_connections`). */
  readonly maxClientConnections: number;
  /** Server connections per pooler per database and user (`max_pool_size`). */
  readonly maxPoolSize: number;
}

/** `settings.connectionPoolConfigs` for a pooling setting; empty when pooling is off. */
export function connectionPoolConfigs(pooling: PoolingArgs): gcp.types.input.sql.DatabaseInstanceSettingsConnectionPoolConfig[] {
  if (!pooling.enabled) return [];
  return [
    {
      connectionPoolingEnabled: true,
      flags: [
        { name: "pool_mode", value: pooling.mode },
        { name: "max_pool_size", value: String(pooling.maxPoolSize) },
        { name: "max_client_connections", value: String(pooling.maxClientConnections) },
      ],
    },
  ];
}

/**
 * Instance arguments managed pooling needs besides its settings: the new Cloud
 * SQL network architecture, which pooling requires and which instances in
 * projects created before August 2021 do not get by default. Opting in is
 * irreversible; an instance already on it reads back true, so it shows no diff.
 * Sources: Cloud SQL "Managed Connection Pooling overview", Requirements
 * (https://cloud.google.com/sql/docs/postgres/managed-connection-pooling#requirements:
 * "The instance must use the new Cloud SQL network architecture"); the Google
 * provider's resource_sql_database_instance.go, `enforce_new_sql_network_architecture`
 * and sqlNetworkArchitectureDiffSuppress.
 */
export function poolingInstanceArgs(pooling: PoolingArgs): { readonly enforceNewSqlNetworkArchitecture?: boolean } {
  return pooling.enabled ? { enforceNewSqlNetworkArchitecture: true } : {};
}

/** `settings.ipConfiguration` of every instance: private IP on the PSA range only, no authorized networks, TLS enforced. */
export function privateIpConfiguration(
  network: PrivateNetwork,
  sslMode: SslMode,
): gcp.types.input.sql.DatabaseInstanceSettingsIpConfiguration {
  return {
    ipv4Enabled: false,
    privateNetwork: network.networkSelfLink,
    allocatedIpRange: network.allocatedIpRange,
    sslMode,
    authorizedNetworks: [],
  };
}

/** `settings.insightsConfig` of every instance. */
export function insightsConfig(insights: PrimaryInstanceArgs["insights"]): gcp.types.input.sql.DatabaseInstanceSettingsInsightsConfig {
  return {
    queryInsightsEnabled: true,
    queryPlansPerMinute: insights.queryPlansPerMinute,
    queryStringLength: insights.queryStringLength,
    recordApplicationTags: true,
    // Client addresses identify users' sessions; Insights does not need them.
    recordClientAddress: false,
  };
}

/**
 * The `settings` a read replica or read pool takes from its primary (edition,
 * disk, labels, private IP and TLS, Insights, pooling) with its own tier, flags
 * and `replica-role` label; `availabilityType` only where given (read pools have none).
 */
export function replicaSettings(
  p: PrimaryInstanceArgs,
  own: { readonly tier: string; readonly availabilityType?: "REGIONAL" | "ZONAL"; readonly role: string; readonly flags: FlagSet },
) {
  return {
    edition: p.edition,
    tier: own.tier,
    ...(own.availabilityType ? { availabilityType: own.availabilityType } : {}),
    diskType: p.diskType,
    // Cloud SQL refuses a replica with a smaller disk than its primary.
    diskSize: p.diskSizeGb,
    diskAutoresize: true,
    diskAutoresizeLimit: p.diskAutoresizeLimitGb,
    userLabels: { ...p.labels, "replica-role": own.role },
    deletionProtectionEnabled: true,
    ipConfiguration: privateIpConfiguration(p.network, p.sslMode),
    insightsConfig: insightsConfig(p.insights),
    databaseFlags: toDatabaseFlags(own.flags),
    connectionPoolConfigs: connectionPoolConfigs(p.pooling),
  };
}

/**
 * PostgreSQL refuses to start a hot standby whose max_connections is below its
 * primary's, so a replica's or read pool's flags must name one at least as high.
 */
export function standbyFlagsProblem(flags: Readonly<Record<string, string>>, primaryMaxConnections: number): string | undefined {
  if (!flags.max_connections) return `flags must include max_connections (at least the primary's ${primaryMaxConnections}, hot standby rule)`;
  return maxConnectionsOf(flags) < primaryMaxConnections
    ? `flags.max_connections ${flags.max_connections} must be at least the primary's ${primaryMaxConnections} (hot standby rule)`
    : undefined;
}

/** Checks the settings primary, replicas and read pools share; returns the problem or undefined. */
export function instanceSettingsProblem(a: {
  readonly edition: Edition;
  readonly tier: string;
  readonly sslMode: string;
  readonly pooling: PoolingArgs;
}): string | undefined {
  const tier = tierInfo(a.tier);
  if (!tier) return `tier "${a.tier}" is not a Cloud SQL tier`;
  if (tier.edition !== a.edition) return `tier ${a.tier} is an ${tier.edition} tier but edition is ${a.edition}`;
  if (!SECURE_SSL_MODES.includes(a.sslMode as SslMode)) return `sslMode ${a.sslMode} must be one of ${SECURE_SSL_MODES.join(", ")}`;
  if (a.pooling.enabled && a.edition !== "ENTERPRISE_PLUS") return "pooling.enabled needs edition ENTERPRISE_PLUS (managed connection pooling)";
  if (a.pooling.enabled && !(a.pooling.maxClientConnections > 0 && a.pooling.maxPoolSize > 0)) {
    return "pooling.maxClientConnections and pooling.maxPoolSize must be positive";
  }
  return undefined;
}

/** Cloud SQL wants deny-period dates as yyyy-m-dd, with no leading zero on the month. */
function denyDate(date: string): string {
  const [y, m, d] = date.split("-");
  return `${y}-${Number(m)}-${d}`;
}

/** Arguments of {@link PrimaryInstance}. */
export interface PrimaryInstanceArgs {
  /** GCP project id. */
  readonly project: string;
  /** Cloud SQL instance name. */
  readonly instanceName: string;
  /** Region of the instance; a key for it must exist in `encryption`. */
  readonly region: string;
  /** Cloud SQL database version, for example POSTGRES_18. */
  readonly databaseVersion: string;
  /** ENTERPRISE or ENTERPRISE_PLUS. */
  readonly edition: Edition;
  /** Machine tier. */
  readonly tier: string;
  /** REGIONAL (HA) or ZONAL. */
  readonly availabilityType: "REGIONAL" | "ZONAL";
  /** PD_SSD or PD_HDD. */
  readonly diskType: "PD_SSD" | "PD_HDD";
  /** Initial disk size, GB. */
  readonly diskSizeGb: number;
  /** Autoresize ceiling, GB; 0 means no ceiling. */
  readonly diskAutoresizeLimitGb: number;
  /** Labels for the instance. */
  readonly labels: Readonly<Record<string, string>>;
  /** The private network and its PSA peering. */
  readonly network: PrivateNetwork;
  /** CMEK keys; the key in `region` encrypts the instance. */
  readonly encryption: EncryptionKeys;
  /** TLS mode; only modes that refuse plaintext are accepted. */
  readonly sslMode: SslMode;
  /** Weekly maintenance window (UTC). */
  readonly maintenanceWindow: { readonly day: DayOfWeek; readonly hour: number };
  /** Maintenance update track. */
  readonly maintenanceUpdateTrack: "canary" | "stable" | "week5";
  /** A period without maintenance (dates yyyy-mm-dd). @default undefined (none) */
  readonly denyMaintenancePeriod?: { readonly startDate: string; readonly endDate: string };
  /** Automated backups. */
  readonly backup: {
    /** Start of the daily backup window, "HH:MM" UTC. */
    readonly startTime: string;
    /** Where backups are stored. @default undefined (Cloud SQL's multi-region nearest the instance) */
    readonly location?: string;
    /** Keep transaction logs for point-in-time recovery. */
    readonly pointInTimeRecovery: boolean;
    /** Days of transaction logs kept. */
    readonly transactionLogRetentionDays: number;
    /** Automated backups kept. */
    readonly retainedBackups: number;
  };
  /** Days the final backup taken on delete is kept. @default DEFAULT_FINAL_BACKUP_RETENTION_DAYS (30) */
  readonly finalBackupRetentionDays?: number;
  /** Query Insights sampling. */
  readonly insights: { readonly queryPlansPerMinute: number; readonly queryStringLength: number };
  /** Resolved database flags (see lib/database-flags.ts). */
  readonly flags: FlagSet;
  /** Managed connection pooling. */
  readonly pooling: PoolingArgs;
  /** Resources (enabled APIs) that must exist first. @default [] */
  readonly requires?: readonly pulumi.Resource[];
}

/** Days the final backup taken on delete is kept. */
function finalBackupRetentionDaysOf(args: PrimaryInstanceArgs): number {
  return args.finalBackupRetentionDays ?? DEFAULT_FINAL_BACKUP_RETENTION_DAYS;
}

/** Checks the primary's own rules (backups, disk, maintenance, Insights, flags) after the shared ones; returns the first problem or undefined. */
function primaryArgsProblem(args: PrimaryInstanceArgs): string | undefined {
  const shared = instanceSettingsProblem(args);
  if (shared) return shared;
  const b = args.backup;
  if (!Number.isInteger(b.transactionLogRetentionDays) || b.transactionLogRetentionDays < 1 || b.transactionLogRetentionDays > MAX_LOG_RETENTION_DAYS[args.edition]) {
    return `backup.transactionLogRetentionDays ${b.transactionLogRetentionDays} must be 1 to ${MAX_LOG_RETENTION_DAYS[args.edition]} on ${args.edition}`;
  }
  if (!Number.isInteger(b.retainedBackups) || b.retainedBackups < 1 || b.retainedBackups > MAX_RETAINED_BACKUPS) {
    return `backup.retainedBackups ${b.retainedBackups} must be 1 to ${MAX_RETAINED_BACKUPS}`;
  }
  // Cloud SQL refuses more days of transaction logs than retained backups ("backup retention should be >
  // transaction log retention", Admin API 400, quoted in
  // https://github.com/terraform-google-modules/terraform-google-sql-db/pull/785); equal is its own default (7 and 7).
  if (b.retainedBackups < b.transactionLogRetentionDays) {
    return `backup.retainedBackups ${b.retainedBackups} must be at least backup.transactionLogRetentionDays ${b.transactionLogRetentionDays}`;
  }
  if (args.availabilityType === "REGIONAL" && !b.pointInTimeRecovery) {
    return "availabilityType REGIONAL needs backup.pointInTimeRecovery (Cloud SQL HA for PostgreSQL requires it)";
  }
  const finalDays = finalBackupRetentionDaysOf(args);
  if (!Number.isInteger(finalDays) || finalDays < 1 || finalDays > MAX_FINAL_BACKUP_RETENTION_DAYS) {
    return `finalBackupRetentionDays ${finalDays} must be 1 to ${MAX_FINAL_BACKUP_RETENTION_DAYS}`;
  }
  if (args.diskAutoresizeLimitGb !== 0 && args.diskAutoresizeLimitGb < args.diskSizeGb) {
    return `diskAutoresizeLimitGb ${args.diskAutoresizeLimitGb} must be 0 (no limit) or at least diskSizeGb ${args.diskSizeGb}`;
  }
  const w = args.maintenanceWindow;
  if (!(w.day in DAY_NUMBER) || !Number.isInteger(w.hour) || w.hour < 0 || w.hour > 23) {
    return `maintenanceWindow ${w.day} ${w.hour} must be a day MON..SUN and an hour 0-23`;
  }
  const deny = args.denyMaintenancePeriod;
  if (deny && !(deny.startDate < deny.endDate)) {
    return `denyMaintenancePeriod ${deny.startDate}/${deny.endDate}: startDate must come before endDate`;
  }
  const ins = args.insights;
  if (ins.queryPlansPerMinute < 0 || ins.queryPlansPerMinute > MAX_QUERY_PLANS_PER_MINUTE) {
    return `insights.queryPlansPerMinute ${ins.queryPlansPerMinute} must be 0 to ${MAX_QUERY_PLANS_PER_MINUTE}`;
  }
  if (ins.queryStringLength < MIN_QUERY_STRING_LENGTH || ins.queryStringLength > MAX_QUERY_STRING_LENGTH) {
    return `insights.queryStringLength ${ins.queryStringLength} must be ${MIN_QUERY_STRING_LENGTH} to ${MAX_QUERY_STRING_LENGTH}`;
  }
  if (!args.flags.max_connections) return "flags must include max_connections (resolve them with lib/database-flags.ts)";
  return undefined;
}

/** The primary's `settings`: its shape, backups with PITR and a final backup, password policy, maintenance, Insights, flags and pooling. */
function primarySettings(args: PrimaryInstanceArgs): gcp.types.input.sql.DatabaseInstanceSettings {
  const b = args.backup;
  const w = args.maintenanceWindow;
  const deny = args.denyMaintenancePeriod;
  return {
    edition: args.edition,
    tier: args.tier,
    availabilityType: args.availabilityType,
    diskType: args.diskType,
    diskSize: args.diskSizeGb,
    diskAutoresize: true,
    diskAutoresizeLimit: args.diskAutoresizeLimitGb,
    userLabels: { ...args.labels },
    deletionProtectionEnabled: true,
    ipConfiguration: privateIpConfiguration(args.network, args.sslMode),
    backupConfiguration: {
      enabled: true,
      startTime: b.startTime,
      location: b.location,
      pointInTimeRecoveryEnabled: b.pointInTimeRecovery,
      transactionLogRetentionDays: b.transactionLogRetentionDays,
      backupRetentionSettings: { retainedBackups: b.retainedBackups, retentionUnit: "COUNT" },
    },
    finalBackupConfig: { enabled: true, retentionDays: finalBackupRetentionDaysOf(args) },
    retainBackupsOnDelete: true,
    // Built-in users only (IAM logins have no password): long, mixed, not containing the user name.
    passwordValidationPolicy: {
      enablePasswordPolicy: true,
      minLength: MIN_PASSWORD_LENGTH,
      complexity: "COMPLEXITY_DEFAULT",
      disallowUsernameSubstring: true,
    },
    maintenanceWindow: { day: DAY_NUMBER[w.day], hour: w.hour, updateTrack: args.maintenanceUpdateTrack },
    denyMaintenancePeriod: deny ? { startDate: denyDate(deny.startDate), endDate: denyDate(deny.endDate), time: "00:00:00" } : undefined,
    insightsConfig: insightsConfig(args.insights),
    databaseFlags: toDatabaseFlags(args.flags),
    connectionPoolConfigs: connectionPoolConfigs(args.pooling),
  };
}

/** `lp:database:PrimaryInstance`: the HA primary. */
export class PrimaryInstance extends pulumi.ComponentResource {
  /** The Cloud SQL instance. */
  public readonly instance: gcp.sql.DatabaseInstance;
  /** Instance name (plain, known before deployment). */
  public readonly instanceName: string;
  /** Region of the instance. */
  public readonly region: string;
  /** `project:region:instance`, for connectors. */
  public readonly connectionName: pulumi.Output<string>;
  /** Private IP address. */
  public readonly privateIp: pulumi.Output<string>;
  /** PEM bundle of every server CA certificate clients verify against (two during a CA rotation). */
  public readonly serverCaCert: pulumi.Output<string>;
  /** The key that encrypts the instance. */
  public readonly encryptionKeyName: pulumi.Output<string>;
  /** Effective max_connections. */
  public readonly maxConnections: number;
  /** Effective flags (replicas start from these). */
  public readonly flags: FlagSet;
  /** The args replicas and read pools inherit (version, edition, network, TLS, pooling). */
  public readonly args: PrimaryInstanceArgs;

  constructor(name: string, args: PrimaryInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:database:PrimaryInstance", name, {}, opts);
    const problem = primaryArgsProblem(args);
    if (problem) throw new pulumi.ResourceError(problem, this);

    this.args = args;
    this.instanceName = args.instanceName;
    this.region = args.region;
    this.flags = args.flags;
    this.maxConnections = maxConnectionsOf(args.flags);
    this.encryptionKeyName = args.encryption.keyFor(args.region);

    this.instance = new gcp.sql.DatabaseInstance(
      `${name}-instance`,
      {
        project: args.project,
        name: args.instanceName,
        region: args.region,
        databaseVersion: args.databaseVersion,
        encryptionKeyName: this.encryptionKeyName,
        deletionProtection: true,
        finalBackupDescription: `Final backup of ${args.instanceName}, taken when the instance was deleted`,
        ...poolingInstanceArgs(args.pooling),
        settings: primarySettings(args),
      },
      {
        parent: this,
        protect: true,
        // Autoresize grows the disk; a later `up` must not try to shrink it back to diskSize.
        ignoreChanges: ["settings.diskSize"],
        dependsOn: [args.network.psaConnection, ...args.encryption.grantsFor(args.region), ...(args.requires ?? [])],
      },
    );

    this.connectionName = this.instance.connectionName;
    this.privateIp = this.instance.privateIpAddress;
    // Trust every listed CA: during a rotation Cloud SQL lists the old and the new one, in no set order.
    this.serverCaCert = this.instance.serverCaCerts.apply((certs) => certs.map((c) => c.cert ?? "").filter(Boolean).join("\n"));
    this.registerOutputs({
      connectionName: this.connectionName,
      privateIp: this.privateIp,
      serverCaCert: this.serverCaCert,
    });
  }
}
