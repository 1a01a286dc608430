/**
 * Composition only: read the stack's configuration once, then wire the
 * components together. Every resource lives in a component under components/.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { CacheInstance } from "./components/cache-instance";
import { BackupBucket } from "./components/backup-bucket";
import { RecoveryDrill } from "./components/recovery-drill";
import { recoveryObjectivesOf } from "./lib/recovery-objectives";
import { ScheduledExport } from "./components/scheduled-export";
import { loadMigrations } from "./lib/migrate/files";
import { DatabaseAccess } from "./components/database-users";
import { SchemaMigrations } from "./components/schema-migrations";
import { EncryptionKeys } from "./components/encryption";
import { PrivateNetwork } from "./components/network";
import { PrimaryInstance } from "./components/primary-instance";
import { STACK_APIS, ProjectServices } from "./components/project-services";
import { ReadPool } from "./components/read-pool";
import { ReadReplica } from "./components/read-replica";
import { Dashboard, type DashboardInstance } from "./components/dashboard";
import { DatabaseAlerts } from "./components/database-alerts";
import { LogMetrics } from "./components/log-metrics";
import { NotificationChannels } from "./components/notification-channels";
import { planCapacity } from "./lib/capacity-plan";
import { loginConnectionLimits } from "./lib/connection-budget";
import { connectionManifestOf } from "./lib/connection-manifest";

const config = loadStackConfig();

export const environment = config.environment;

// ---------------------------------------------------------------------------
// Database tier: APIs, private network, CMEK, primary, replicas, read
// pool, database and users, connection budget. Later sections use `services`,
// `network`, `keys`, `primary`, `replicas`, `readPool` and `access`.

const dbName = `${config.namePrefix}-${config.environment}`;

// Flags and the connection budget are checked before any resource exists.
const capacity = planCapacity(config);
const { primaryFlags, replicaFlags, readPoolFlags, budget: connectionBudget } = capacity;

const services = new ProjectServices("db-services", { project: config.project, services: [...STACK_APIS] });

const network = new PrivateNetwork("db-network", {
  project: config.project,
  networkName: `${dbName}-vpc`,
  existingNetwork: config.network.existingNetwork,
  pscRangePrefixLength: config.network.pscRangePrefixLength,
  requires: services.forApis("compute.googleapis.com", "servicenetworking.googleapis.com"),
});

// A key in every region that holds an instance: the primary's and each replica's.
const keyLocations = [...new Set([config.region, ...Object.values(config.replicas).map((r) => r.region)])];
const keys = new EncryptionKeys("db-keys", {
  project: config.project,
  namePrefix: dbName,
  locations: keyLocations,
  existingKeys: Object.fromEntries(Object.entries(config.encryption.existingKeys).filter(([l]) => keyLocations.includes(l))),
  rotationDays: config.encryption.rotationDays,
  labels: config.labels,
  requires: services.forApis("cloudkms.googleapis.com", "sqladmin.googleapis.com"),
});

const primary = new PrimaryInstance("db-primary", {
  project: config.project,
  instanceName: dbName,
  region: config.region,
  databaseVersion: config.instance.databaseVersion,
  edition: config.instance.edition,
  tier: config.instance.tier,
  availabilityType: config.instance.availabilityType,
  diskType: config.instance.diskType,
  diskSizeGb: config.instance.diskSizeGb,
  diskAutoresizeLimitGb: config.instance.diskAutoresizeLimitGb,
  labels: config.labels,
  network,
  encryption: keys,
  sslMode: config.instance.sslMode,
  maintenanceWindow: config.instance.maintenanceWindow,
  maintenanceUpdateTrack: config.instance.maintenanceUpdateTrack,
  denyMaintenancePeriod: config.instance.denyMaintenancePeriod,
  backup: config.instance.backup,
  insights: config.instance.insights,
  flags: primaryFlags,
  pooling: config.instance.pooling,
  requires: services.forApis("sqladmin.googleapis.com"),
});

/** Read replicas by their stable config name. */
const replicas: Readonly<Record<string, ReadReplica>> = Object.fromEntries(
  Object.entries(config.replicas).map(([replicaName, r]) => [
    replicaName,
    new ReadReplica(`db-replica-${replicaName}`, {
      primary,
      instanceName: `${dbName}-${replicaName}`,
      region: r.region,
      tier: r.tier,
      readWeight: r.readWeight,
      disasterRecovery: r.disasterRecovery,
      flags: replicaFlags[replicaName],
    }),
  ]),
);

const readPool =
  config.readPool && readPoolFlags
    ? new ReadPool("db-read-pool", {
        primary,
        instanceName: `${dbName}-pool`,
        nodeCount: config.readPool.nodeCount,
        maxNodeCount: config.readPool.maxNodeCount,
        flags: readPoolFlags,
      })
    : undefined;

const access = new DatabaseAccess("db-access", {
  project: config.project,
  instance: primary.instance,
  instanceNames: [primary.instanceName, ...Object.values(replicas).map((r) => r.instanceName), ...(readPool ? [readPool.instanceName] : [])],
  databaseName: config.database.name,
  migrationUser: config.database.migrationUser,
  secretId: `${dbName}-${config.database.migrationUser.replace(/_/g, "-")}-password`,
  iamUsers: config.iamUsers,
  labels: config.labels,
  requires: services.forApis("secretmanager.googleapis.com", "iam.googleapis.com", "cloudresourcemanager.googleapis.com"),
});

// ---------------------------------------------------------------------------
// Schema migrations: migrations/*.sql applied to the primary once it,
// the database, the migration user and the IAM logins exist; then partition
// maintenance and the IAM login → group role reconcile. How `pulumi up` reaches
// the private IP: docs/connectivity.md.

const schemaMigrations = new SchemaMigrations(
  "db-schema",
  {
    stack: pulumi.getStack(),
    host: primary.privateIp,
    database: access.databaseName,
    user: access.migrationUserName,
    password: access.migrationPassword,
    serverCa: primary.serverCaCert,
    connector:
      config.migrations.connection === "connector"
        ? primary.connectionName.apply((instanceConnectionName) => ({ instanceConnectionName, ipType: "PRIVATE" as const }))
        : undefined,
    migrations: loadMigrations(),
    memberships: Object.fromEntries(Object.values(access.iamLogins).map((l) => [l.login, l.groupRoles])),
    // The app logins may open as many server connections per node as the poolers plan for them.
    loginConnectionLimits: loginConnectionLimits(
      connectionBudget,
      Object.values(access.iamLogins)
        .filter((l) => l.groupRoles.includes("lp_app_rw"))
        .map((l) => l.login),
    ),
    maintenance: {
      monthsAhead: config.migrations.partitionMonthsAhead,
      retentionMonths: { analytics_events: config.migrations.analyticsRetentionMonths, audit_log: config.migrations.auditRetentionMonths },
    },
  },
  { dependsOn: [primary.instance, access.database, access.migrationUser, ...Object.values(access.iamUsers)] },
);

/** The schema on the primary: version, ledger head and (in a preview) the migrations `pulumi up` will apply. */
export const schema = {
  version: schemaMigrations.schemaVersion,
  ledgerHead: schemaMigrations.ledgerHead,
  pending: schemaMigrations.pending,
  warnings: schemaMigrations.warnings,
};

// ---------------------------------------------------------------------------
// Backup and recovery: the CMEK export bucket, the scheduled
// serverless exports, the recovery objectives, and (when enabled) the verified
// point-in-time recovery drill. docs/runbook.md is the manual side.

const backupBucket = new BackupBucket(
  "backup",
  {
    bucketName: `${config.project}-${dbName}-exports`,
    location: config.backup.bucketLocation,
    retentionDays: config.backup.retentionDays,
    lockRetention: config.backup.lockRetention,
    softDeleteDays: config.backup.softDeleteDays,
    labels: config.labels,
    keyRotationDays: config.encryption.rotationDays,
    requires: [...services.forApis("storage.googleapis.com"), ...services.forApis("cloudkms.googleapis.com")],
  },
);

const scheduledExport = new ScheduledExport(
  "backup-export",
  {
    project: config.project,
    region: config.region,
    instanceName: primary.instanceName,
    instanceServiceAccountEmail: primary.instance.serviceAccountEmailAddress,
    bucketName: backupBucket.bucketName,
    databases: config.backup.exportDatabases,
    schedule: config.backup.exportSchedule,
    timeZone: config.backup.exportTimeZone,
    accountIdPrefix: `db-${config.environment}`,
    roleIdPrefix: `lpDb_${config.environment}`,
    labels: config.labels,
    requires: [
      ...services.forApis("cloudscheduler.googleapis.com", "workflows.googleapis.com", "storage.googleapis.com"),
      ...services.forApis("iam.googleapis.com", "cloudresourcemanager.googleapis.com"),
      access.database,
    ],
  },
);

/** The settings that determine RPO and RTO, as the primary declares them. */
export const recoveryObjectives = recoveryObjectivesOf(primary.instance.settings, {
  schedule: config.backup.exportSchedule,
  timeZone: config.backup.exportTimeZone,
  retentionDays: config.backup.retentionDays,
  bucketLocation: config.backup.bucketLocation,
});

const drill = config.backup.drillEnabled
  ? new RecoveryDrill(
      "recovery-drill",
      {
        project: config.project,
        region: config.region,
        sourceInstanceName: primary.instanceName,
        pointInTime: config.backup.drillPointInTime,
        databaseVersion: config.instance.databaseVersion,
        edition: config.instance.edition,
        tier: config.instance.tier,
        primarySettings: primary.instance.settings,
        privateNetwork: network.networkSelfLink,
        allocatedIpRange: network.allocatedIpRange,
        encryptionKeyName: keys.keyFor(config.region),
        labels: config.labels,
        database: config.database.name,
        user: access.migrationUserName,
        password: access.migrationPassword,
        // The head the migrations left on the primary; a clone from before the latest `pulumi up` differs (docs/runbook.md).
        expectedLedgerHead: schemaMigrations.ledgerHead,
        rowBounds: config.backup.drillRowBounds,
        runId: config.backup.drillRunId,
        useConnector: config.migrations.connection === "connector",
        partitionedTables: ["analytics_events", "audit_log"],
        partitionMonthsAhead: config.migrations.partitionMonthsAhead,
        // After the migrations: a clone of "latest" then holds this update's schema.
        requires: [...keys.grantsFor(config.region), access.database, schemaMigrations],
      },
    )
  : undefined;

/** The last drill's outcome; null while the drill is off. */
export const recoveryDrill = drill
  ? { cloneName: drill.cloneName, recoveryMinutes: drill.recoveryMinutes, withinTarget: drill.withinTarget, checks: drill.checks }
  : null;

// ---------------------------------------------------------------------------
// Query cache: Memorystore for Redis on the stack's private network, with
// the primary region's CMEK key; its AUTH string lives in Secret Manager.

const cache = config.cache
  ? new CacheInstance("cache", {
      project: config.project,
      region: config.region,
      instanceName: `${dbName}-cache`,
      network,
      kmsKeyId: keys.keyIds[config.region],
      tier: config.cache.tier,
      memorySizeGb: config.cache.memorySizeGb,
      readReplicas: config.cache.readReplicas,
      redisVersion: config.cache.redisVersion,
      maxmemoryPolicy: config.cache.maxmemoryPolicy,
      rdbSnapshotPeriod: config.cache.rdbSnapshotPeriod,
      maintenanceWindow: config.instance.maintenanceWindow,
      authSecretId: `${dbName}-cache-auth`,
      deletionProtection: config.environment === "prod",
      labels: config.labels,
      requires: services.forApis("redis.googleapis.com", "cloudkms.googleapis.com", "secretmanager.googleapis.com"),
    })
  : undefined;

/** What applications read through a StackReference: endpoints, weights, pool sizes, secret ids (never values). */
export const connectionManifest = connectionManifestOf(config, { access, primary, replicas, readPool, cache, budget: connectionBudget });

// ---------------------------------------------------------------------------
// Monitoring: channels routed by severity, log-based metrics, one
// alert policy set per instance, and the dashboard, all from lib/monitoring.

const monitoredInstances: Readonly<Record<string, DashboardInstance>> = {
  primary: {
    instanceName: primary.instanceName,
    role: "primary",
    maxConnections: primary.maxConnections,
    pooling: capacity.pooling,
    exportWorkflow: scheduledExport.workflow.name,
  },
  ...Object.fromEntries(
    Object.entries(replicas).map(([replicaName, r]) => [
      replicaName,
      { instanceName: r.instanceName, role: "replica" as const, maxConnections: r.maxConnections, pooling: capacity.pooling },
    ]),
  ),
  ...(readPool
    ? { "read-pool": { instanceName: readPool.instanceName, role: "replica" as const, maxConnections: readPool.maxConnections, pooling: capacity.pooling } }
    : {}),
};

/** The instance resource behind each monitored key: its alert policies wait for it. */
const monitoredResources: Readonly<Record<string, pulumi.Resource>> = {
  primary: primary.instance,
  ...Object.fromEntries(Object.entries(replicas).map(([replicaName, r]) => [replicaName, r.instance])),
  ...(readPool ? { "read-pool": readPool.instance } : {}),
  ...(cache ? { cache: cache.instance } : {}),
};

/** The cache as the alerts and the dashboard see it: Memorystore's metrics name it by its full resource name. */
const monitoredCache: DashboardInstance | undefined = cache
  ? { instanceName: cache.instance.name, instanceId: cache.resourceName, role: "cache", maxConnections: cache.maxClients }
  : undefined;
/** Every watched instance: the Cloud SQL ones and the cache. */
const watched: Readonly<Record<string, DashboardInstance>> = { ...monitoredInstances, ...(monitoredCache ? { cache: monitoredCache } : {}) };

const channels = new NotificationChannels(
  "monitoring-channels",
  {
    project: config.project,
    displayNamePrefix: dbName,
    warningEmails: config.monitoring.warningEmails,
    criticalEmails: config.monitoring.criticalEmails,
    slack:
      config.monitoring.slackChannel && config.monitoring.slackAuthToken
        ? { channel: config.monitoring.slackChannel, authToken: config.monitoring.slackAuthToken }
        : undefined,
    labels: config.labels,
  },
  { dependsOn: services.forApis("monitoring.googleapis.com") },
);

const logMetrics = new LogMetrics(
  "monitoring-log-metrics",
  {
    project: config.project,
    prefix: dbName,
    databaseIds: Object.values(monitoredInstances).map((i) => `${config.project}:${i.instanceName}`),
  },
  { dependsOn: services.forApis("logging.googleapis.com") },
);

/** Alert policies by instance key (primary, replica names, read-pool, cache). */
const alerts: Readonly<Record<string, DatabaseAlerts>> = Object.fromEntries(
  Object.entries(watched).map(([key, i]) => [
    key,
    new DatabaseAlerts(
      `monitoring-alerts-${key}`,
      {
        project: config.project,
        instanceName: i.instanceName,
        instanceId: i.instanceId,
        instance: monitoredResources[key],
        role: i.role,
        maxConnections: i.maxConnections,
        pooling: i.pooling,
        exportWorkflow: i.exportWorkflow,
        channels: { WARNING: channels.warning, CRITICAL: channels.critical },
        logMetrics,
        alertsDocUrl: config.monitoring.alertsDocUrl,
        labels: config.labels,
      },
      { dependsOn: services.forApis("monitoring.googleapis.com") },
    ),
  ]),
);

const dashboard = new Dashboard(
  "monitoring-dashboard",
  {
    project: config.project,
    displayName: `${dbName} database tier`,
    instances: watched,
    logMetrics,
  },
  { dependsOn: services.forApis("monitoring.googleapis.com") },
);

export const monitoring = {
  dashboard: dashboard.dashboard.id,
  alertPolicies: Object.fromEntries(Object.entries(alerts).map(([k, a]) => [k, Object.keys(a.policies).length])),
  logMetrics: logMetrics.names,
};
