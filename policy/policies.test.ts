/**
 * Each policy against a compliant resource graph (no finding) and against one
 * deliberate fault (the expected violation), through the same adapter the
 * offline plan uses; then the preview behaviour with unknown values.
 */
import * as fs from "fs";
import * as path from "path";
import { unknownCheckingProxy } from "@pulumi/policy";
import { describe, expect, test } from "vitest";
import { SECRET, UNKNOWN, type RecordedResource } from "../lib/mock-runtime";
import { set, type Inputs } from "../test/harness/inputs";
import { CIS_POSTGRES_FLAGS } from "./cloudsql-cis-flags";
import { TYPES } from "./common";
import { evaluate, toPolicyResources, UNKNOWN_VALUE, type EvaluateOptions, type Finding } from "./offline";
import { PACK_NAME, policies, type PackPolicy } from "./policies";

function rec(type: string, name: string, inputs: Inputs, extra: Partial<RecordedResource> = {}): RecordedResource {
  return {
    type,
    name,
    urn: `urn:pulumi:test::lp-db::${type}::${name}`,
    custom: true,
    inputs,
    plainInputs: inputs,
    dependsOn: [],
    propertyDependencies: {},
    protect: false,
    additionalSecretOutputs: [],
    ...extra,
  };
}

const LABELS = { environment: "prod", "managed-by": "pulumi" };
const NOTIFICATION_CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel";

function instance(name: string, replicaOf?: string): Inputs {
  return {
    name,
    databaseVersion: "POSTGRES_18",
    encryptionKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
    ...(replicaOf ? { masterInstanceName: replicaOf } : {}),
    settings: {
      tier: "db-perf-optimized-N-2",
      availabilityType: replicaOf ? "ZONAL" : "REGIONAL",
      deletionProtectionEnabled: true,
      userLabels: LABELS,
      ipConfiguration: { ipv4Enabled: false, privateNetwork: "projects/p/global/networks/n", sslMode: "ENCRYPTED_ONLY" },
      backupConfiguration: replicaOf
        ? { enabled: false }
        : { enabled: true, pointInTimeRecoveryEnabled: true, transactionLogRetentionDays: 7, backupRetentionSettings: { retainedBackups: 30 } },
      databaseFlags: [
        ...Object.entries(CIS_POSTGRES_FLAGS).map(([flag, values]) => ({ name: flag, value: values[0] })),
        { name: "pgaudit.log", value: "ddl,role" },
        { name: "cloudsql.iam_authentication", value: "on" },
        { name: "cloudsql.enable_pg_cron", value: "on" },
        { name: "cron.database_name", value: "learning_platform" },
      ],
      maintenanceWindow: { day: 7, hour: 7 },
      insightsConfig: { queryInsightsEnabled: true },
    },
  };
}

function alert(name: string, instance: string, instanceName: string, metric: string): RecordedResource {
  const promql = metric.replace("cloudsql.googleapis.com/", "cloudsql_googleapis_com:").replace(/\//g, "_");
  return rec(
    TYPES.alertPolicy,
    name,
    {
      displayName: name,
      userLabels: LABELS,
      severity: "CRITICAL",
      conditions: [{ conditionPrometheusQueryLanguage: { query: `max(${promql}{database_id="p:${instanceName}"}) > 0.9` } }],
    },
    { dependsOn: [instance] },
  );
}

const INSTANCE_METRICS = ["database/up", "database/cpu/utilization", "database/memory/utilization", "database/disk/utilization"].map(
  (m) => `cloudsql.googleapis.com/${m}`,
);
/** Query Insights latency: reported by the primary only, so required there only. */
const INSIGHTS_LATENCY = "cloudsql.googleapis.com/database/postgresql/insights/aggregate/latencies";

/** A compliant stack: primary + replica with alerts, migrations, bucket, key, secret, users. */
function goodStack(): RecordedResource[] {
  return [
    rec(TYPES.sqlInstance, "primary", instance("lp-prod")),
    rec(TYPES.sqlInstance, "replica", instance("lp-prod-read-a", "lp-prod")),
    ...[...INSTANCE_METRICS, INSIGHTS_LATENCY].map((m, i) => alert(`primary-alert-${i}`, "primary", "lp-prod", m)),
    ...[...INSTANCE_METRICS, "cloudsql.googleapis.com/database/replication/replica_lag"].map((m, i) => alert(`replica-alert-${i}`, "replica", "lp-prod-read-a", m)),
    rec(NOTIFICATION_CHANNEL, "slack", { type: "slack", labels: { channel_name: "#db-oncall" }, sensitiveLabels: { authToken: SECRET } }),
    rec("lp:database:SchemaMigrations", "migrations", {}, { custom: false }),
    rec(TYPES.dynamicResource, "migrations-apply", { __provider: "exports.handler = …" }, { parent: "migrations", dependsOn: ["app-db"] }),
    rec("gcp:sql/database:Database", "app-db", { instance: "lp-prod", name: "learning_platform" }, { dependsOn: ["primary"] }),
    rec(TYPES.randomPassword, "migrator-password", { length: 32 }, { additionalSecretOutputs: ["bcryptHash", "result"] }),
    rec(
      TYPES.sqlUser,
      "migrator",
      { instance: "lp-prod", name: "lp_migrator", type: "BUILT_IN", password: "generated-0123456789" },
      {
        inputs: { instance: "lp-prod", name: "lp_migrator", type: "BUILT_IN", password: SECRET },
        propertyDependencies: { password: ["migrator-password"] },
        dependsOn: ["migrator-password", "primary"],
        additionalSecretOutputs: ["password", "passwordWo"],
      },
    ),
    rec(TYPES.sqlUser, "iam-app", { instance: "lp-prod", name: "lp-app@p.iam", type: "CLOUD_IAM_SERVICE_ACCOUNT" }),
    rec(TYPES.bucket, "backups", {
      location: "NAM4",
      labels: LABELS,
      encryption: { defaultKmsKeyName: "projects/p/locations/us/keyRings/r/cryptoKeys/b" },
      publicAccessPrevention: "enforced",
      uniformBucketLevelAccess: true,
      retentionPolicy: { retentionPeriod: 3_024_000, isLocked: true },
    }),
    rec(TYPES.cryptoKey, "key", { keyRing: "projects/p/locations/us-central1/keyRings/r", rotationPeriod: "7776000s", labels: LABELS }, { protect: true }),
    rec(TYPES.redisInstance, "cache", {
      name: "lp-prod-cache",
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      customerManagedKey: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authorizedNetwork: "projects/p/global/networks/lp-prod-vpc",
      labels: LABELS,
    }),
    rec(TYPES.secret, "migrator-secret", { secretId: "lp-migrator-password", labels: LABELS, replication: { auto: {} } }),
    rec("gcp:storage/bucketIAMMember:BucketIAMMember", "exporter", { bucket: "b", role: "roles/storage.objectCreator", member: "serviceAccount:sa@p.iam.gserviceaccount.com" }),
  ];
}

/** Sets (or, with undefined, removes) one database flag of an instance's inputs. */
function setFlag(i: Inputs, flag: string, value: string | undefined): void {
  const settings = i.settings as { databaseFlags: { name: string; value: string }[] };
  settings.databaseFlags = settings.databaseFlags.filter((f) => f.name !== flag);
  if (value !== undefined) settings.databaseFlags.push({ name: flag, value });
}

/** Applies `edit` to the inputs of the named resource in a fresh good stack. */
function stackWith(name: string, edit: (inputs: Inputs, r: RecordedResource) => Partial<RecordedResource> | void): RecordedResource[] {
  return goodStack().map((r) => {
    if (r.name !== name) return r;
    const plainInputs = structuredClone(r.plainInputs);
    const inputs = structuredClone(r.inputs);
    edit(inputs, r);
    const extra = edit(plainInputs, r) ?? {};
    return { ...r, inputs, plainInputs, ...extra };
  });
}

function byName(name: string): PackPolicy {
  const found = policies.find((p) => p.name === name);
  if (!found) throw new Error(`no policy ${name}`);
  return found;
}

async function findingsOf(policy: string, stack: RecordedResource[], environment?: string): Promise<readonly Finding[]> {
  return (await evaluate(stack, { policies: [byName(policy)], environment })).findings;
}

describe("the pack", () => {
  test("every policy has a unique name, a description, an enforcement level and remediation text", () => {
    expect(PACK_NAME).toMatch(/^[a-z0-9-]+$/);
    expect(new Set(policies.map((p) => p.name)).size).toBe(policies.length);
    for (const p of policies) {
      expect(p.name).toMatch(/^[a-z0-9-]+$/);
      expect(p.description.length).toBeGreaterThan(20);
      expect(["mandatory", "advisory"]).toContain(p.enforcementLevel);
      expect((p.remediationSteps ?? "").length).toBeGreaterThan(20);
    }
  });

  test("the compliant stack has no finding at all, in prod", async () => {
    const { findings } = await evaluate(goodStack(), { environment: "prod" });
    expect(findings).toEqual([]);
  });
});

/** [policy, resource to break, edit, expected message]. */
const FAULTS: [string, string, (i: Inputs) => Partial<RecordedResource> | void, RegExp][] = [
  ["cloudsql-cmek", "replica", (i) => set(i, "encryptionKeyName", undefined), /encryptionKeyName is not set/],
  ["cloudsql-no-public-ip", "primary", (i) => set(i, "settings.ipConfiguration.ipv4Enabled", true), /ipv4Enabled is not false/],
  ["cloudsql-no-public-ip", "replica", (i) => set(i, "settings.ipConfiguration.ipv4Enabled", undefined), /ipv4Enabled is not false/],
  [
    "cloudsql-no-public-ip",
    "primary",
    (i) => set(i, "settings.ipConfiguration.authorizedNetworks", [{ name: "office", value: "203.0.113.0/24" }]),
    /authorizedNetworks admits 203\.0\.113\.0\/24/,
  ],
  ["cloudsql-private-network", "primary", (i) => set(i, "settings.ipConfiguration.privateNetwork", undefined), /privateNetwork is not set/],
  ["cloudsql-tls", "primary", (i) => set(i, "settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED"), /sslMode is "ALLOW_UNENCRYPTED_AND_ENCRYPTED"/],
  ["cloudsql-tls", "replica", (i) => set(i, "settings.ipConfiguration.sslMode", undefined), /sslMode is null/],
  ["cloudsql-backups", "primary", (i) => set(i, "settings.backupConfiguration.enabled", false), /takes no automated backups/],
  ["cloudsql-backups", "primary", (i) => set(i, "settings.backupConfiguration.pointInTimeRecoveryEnabled", false), /point in time/],
  ["cloudsql-backups", "primary", (i) => set(i, "settings.backupConfiguration.backupRetentionSettings.retainedBackups", 3), /retainedBackups is 3: keep at least 7/],
  ["cloudsql-backups", "primary", (i) => set(i, "settings.backupConfiguration.transactionLogRetentionDays", 1), /transactionLogRetentionDays is 1: keep at least 3/],
  ["cloudsql-prod-protection", "primary", (i) => set(i, "settings.availabilityType", "ZONAL"), /not REGIONAL/],
  ["cloudsql-prod-protection", "replica", (i) => set(i, "settings.deletionProtectionEnabled", false), /deletionProtectionEnabled is not true/],
  ["cloudsql-prod-protection", "primary", (i) => set(i, "deletionProtection", false), /deletionProtection is false/],
  ["cloudsql-cis-flags", "primary", (i) => set(i, "settings.databaseFlags", []), /cloudsql\.enable_pgaudit is not set/],
  ["cloudsql-version-support", "primary", (i) => set(i, "databaseVersion", "POSTGRES_12"), /POSTGRES_12: PostgreSQL 12 is not supported: the migrations are tested on PostgreSQL 14–18 only/],
  ["cloudsql-version-support", "primary", (i) => set(i, "databaseVersion", "POSTGRES_13"), /POSTGRES_13: PostgreSQL 13 is not supported: .*use one of POSTGRES_14, .*POSTGRES_18/],
  ["cloudsql-pgaudit-scope", "primary", (i) => setFlag(i, "pgaudit.log", "all"), /pgaudit\.log is "all": class\(es\) all log statement text/],
  ["cloudsql-pgaudit-scope", "replica", (i) => setFlag(i, "pgaudit.log", "ddl,read,-misc"), /class\(es\) read log statement text/],
  ["cloudsql-pgaudit-scope", "replica", (i) => setFlag(i, "pgaudit.log_parameter", "on"), /pgaudit\.log_parameter is "on": .* must be off/],
  ["cloudsql-iam-authentication", "primary", (i) => setFlag(i, "cloudsql.iam_authentication", "off"), /cloudsql\.iam_authentication is "off": it must be on/],
  ["cloudsql-iam-authentication", "replica", (i) => setFlag(i, "cloudsql.iam_authentication", undefined), /cloudsql\.iam_authentication is not set/],
  ["cloudsql-cron-database", "primary", (i) => setFlag(i, "cron.database_name", "postgres"), /"primary": database flag cron\.database_name is "postgres", which is not a database this stack creates on lp-prod \(learning_platform\)/],
  ["cloudsql-cron-database", "replica", (i) => setFlag(i, "cron.database_name", "postgres"), /"replica": database flag cron\.database_name is "postgres".* on lp-prod/],
  ["cloudsql-cis-flags", "replica", (i) => setFlag(i, "log_statement", "mod"), /log_statement is "mod": it must be ddl/],
  ["memorystore-auth", "cache", (i) => set(i, "authEnabled", false), /authEnabled is false/],
  ["memorystore-auth", "cache", (i) => set(i, "authEnabled", undefined), /authEnabled is null/],
  ["memorystore-transit-encryption", "cache", (i) => set(i, "transitEncryptionMode", "DISABLED"), /transitEncryptionMode is "DISABLED"/],
  ["memorystore-cmek", "cache", (i) => set(i, "customerManagedKey", undefined), /customerManagedKey is not set/],
  ["memorystore-private", "cache", (i) => set(i, "connectMode", "DIRECT_PEERING"), /connectMode is "DIRECT_PEERING"/],
  ["memorystore-private", "cache", (i) => set(i, "authorizedNetwork", "projects/p/global/networks/default"), /the default network is open/],
  ["memorystore-private", "cache", (i) => set(i, "authorizedNetwork", undefined), /authorizedNetwork is not set/],
  ["bucket-cmek", "backups", (i) => set(i, "encryption", undefined), /defaultKmsKeyName is not set/],
  ["bucket-public-access-prevention", "backups", (i) => set(i, "publicAccessPrevention", "inherited"), /publicAccessPrevention is "inherited"/],
  ["bucket-uniform-access", "backups", (i) => set(i, "uniformBucketLevelAccess", false), /uniformBucketLevelAccess is not true/],
  ["bucket-versioning-or-retention", "backups", (i) => set(i, "versioning", { enabled: true }), /both versioning and a retention policy/],
  ["bucket-versioning-or-retention", "backups", (i) => set(i, "retentionPolicy", undefined), /neither versioning nor a retention policy/],
  ["iam-no-public-members", "exporter", (i) => set(i, "member", "allUsers"), /grants roles\/storage\.objectCreator to allUsers/],
  ["kms-key-rotation", "key", (i) => set(i, "rotationPeriod", "31536000s"), /365\.0 days\): rotate at least every 90 days/],
  ["kms-key-rotation", "key", (i) => set(i, "rotationPeriod", undefined), /never rotates/],
  ["kms-key-protected", "key", () => ({ protect: false }), /neither the protect option nor deletionPolicy "PREVENT"/],
  ["secret-replication", "migrator-secret", (i) => set(i, "replication", {}), /neither auto nor userManaged/],
  ["no-plaintext-secrets", "app-db", (i) => set(i, "password", "hunter2"), /password holds a credential that is not a Pulumi secret/],
  ["no-plaintext-secrets", "migrations-apply", (i) => set(i, "databaseUrl", "postgres://lp_migrator:hunter2@10.0.0.5/db"), /databaseUrl holds a credential that is not a Pulumi secret/],
  ["sql-user-password-source", "migrator", () => ({ propertyDependencies: {} }), /password does not come from a generated secret/],
  ["sql-user-password-source", "iam-app", (i) => set(i, "password", "x"), /CLOUD_IAM_SERVICE_ACCOUNT user but sets password/],
  ["cloudsql-maintenance-window", "primary", (i) => set(i, "settings.maintenanceWindow", undefined), /no day and hour/],
  ["cloudsql-query-insights", "primary", (i) => set(i, "settings.insightsConfig.queryInsightsEnabled", false), /queryInsightsEnabled is not true/],
  ["labels-present", "key", (i) => set(i, "labels", { environment: "prod" }), /labels lacks managed-by/],
  ["cloudsql-alert-coverage", "replica-alert-4", (i) => set(i, "conditions", []), /"replica" has no alert policy on cloudsql\.googleapis\.com\/database\/replication\/replica_lag/],
  ["cloudsql-alert-coverage", "primary-alert-3", (i) => set(i, "conditions.0.conditionPrometheusQueryLanguage.query", 'max(cloudsql_googleapis_com:database_disk_utilization{database_id="p:lp-prod-read-a"})'), /"primary" has no alert policy on cloudsql\.googleapis\.com\/database\/disk\/utilization/],
  ["cloudsql-alert-coverage", "primary-alert-0", (i) => set(i, "enabled", false), /"primary" has no alert policy on cloudsql\.googleapis\.com\/database\/up/],
  ["cloudsql-alert-coverage", "primary-alert-4", (i) => set(i, "conditions", []), /"primary" has no alert policy on cloudsql\.googleapis\.com\/database\/postgresql\/insights\/aggregate\/latencies/],
  ["cloudsql-migrations", "migrations-apply", () => ({ dependsOn: [] }), /"primary" has no migrations resource depending on it/],
  ["critical-alerts-slack", "slack", (i) => set(i, "type", "email"), /10 critical alert policies notify e-mail only: no Slack notification channel/],
];

describe.each(policies.map((p) => [p.name, p] as const))("%s", (name, policy) => {
  const faults = FAULTS.filter(([p]) => p === name);

  test("has at least one failing case in the table", () => {
    expect(faults.length).toBeGreaterThan(0);
  });

  test("passes the compliant stack", async () => {
    expect(await findingsOf(name, goodStack(), "prod")).toEqual([]);
  });

  test.each(faults.map(([, resource, edit, message]) => [resource, message, edit] as const))("reports %s: %s", async (resource, message, edit) => {
    const findings = await findingsOf(name, stackWith(resource, edit), "prod");
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      expect(f.level).toBe(policy.enforcementLevel);
      expect(f.remediation).toBe(policy.remediationSteps);
    }
    expect(findings.map((f) => f.message).join("\n")).toMatch(message);
  });
});

describe("policy details", () => {
  test("critical-alerts-slack is about prod only: staging routes critical alerts to e-mail on purpose", async () => {
    const noSlack = goodStack().filter((r) => r.name !== "slack");
    expect(await findingsOf("critical-alerts-slack", noSlack, "staging")).toEqual([]);
    expect((await findingsOf("critical-alerts-slack", noSlack, "prod")).map((f) => [f.level, f.resource])).toEqual([["advisory", undefined]]);
    const withoutCritical = noSlack.filter((r) => r.type !== TYPES.alertPolicy);
    expect(await findingsOf("critical-alerts-slack", withoutCritical, "prod")).toEqual([]);
  });

  test.each([
    ["log_min_messages", "notice", /log_min_messages is "notice"/],
    ["log_min_error_statement", "warning", /log_min_error_statement is "warning"/],
    ["log_statement", "all", /log_statement is "all": it must be ddl/],
    ["log_error_verbosity", "verbose", /log_error_verbosity is "verbose"/],
    ["log_min_duration_statement", "1000", /log_min_duration_statement is "1000": it must be -1/],
    ["log_connections", "off", /log_connections is "off"/],
  ])("cloudsql-cis-flags refuses %s=%s", async (flag, value, message) => {
    const stack = stackWith("replica", (i) => {
      const flags = (i.settings as { databaseFlags: { name: string; value: string }[] }).databaseFlags;
      flags.find((f) => f.name === flag)!.value = value;
    });
    const findings = await findingsOf("cloudsql-cis-flags", stack);
    expect(findings.map((f) => f.message).join("\n")).toMatch(message);
    expect(findings).toHaveLength(1);
  });

  test("cloudsql-cis-flags accepts flag values in upper case and ignores MySQL instances", async () => {
    const upper = stackWith("primary", (i) => {
      for (const f of (i.settings as { databaseFlags: { value: string }[] }).databaseFlags) f.value = f.value.toUpperCase();
    });
    expect(await findingsOf("cloudsql-cis-flags", upper)).toEqual([]);
    const mysql = stackWith("primary", (i) => {
      i.databaseVersion = "MYSQL_8_0";
      set(i, "settings.databaseFlags", []);
    });
    expect(await findingsOf("cloudsql-cis-flags", mysql)).toEqual([]);
  });

  test("cloudsql-backups exempts replicas and reads its minimums from config", async () => {
    const replicaWithoutBackups = stackWith("replica", (i) => set(i, "settings.backupConfiguration", undefined));
    expect(await findingsOf("cloudsql-backups", replicaWithoutBackups)).toEqual([]);
    const { findings } = await evaluate(goodStack(), { policies: [byName("cloudsql-backups")], config: { "cloudsql-backups": { minRetainedBackups: 60 } } });
    expect(findings.map((f) => f.message)).toEqual(["backupRetentionSettings.retainedBackups is 30: keep at least 60."]);
  });

  test.each(["cloudsql-backups", "cloudsql-prod-protection", "cloudsql-alert-coverage", "cloudsql-migrations"])(
    "%s exempts a recovery-drill clone, and only one with both the clone source and the drill label",
    async (policy) => {
      const drill = (clone: boolean, purpose?: string) => {
        const inputs = instance("lp-prod-drill");
        if (clone) inputs.clone = { sourceInstanceName: "lp-prod" };
        const settings = inputs.settings as Inputs;
        settings.userLabels = { ...LABELS, ...(purpose ? { purpose } : {}) };
        settings.availabilityType = "ZONAL";
        settings.deletionProtectionEnabled = false;
        settings.backupConfiguration = { enabled: false };
        return [...goodStack(), rec(TYPES.sqlInstance, "drill-clone", inputs)];
      };
      expect(await findingsOf(policy, drill(true, "recovery-drill"), "prod")).toEqual([]);
      expect((await findingsOf(policy, drill(false, "recovery-drill"), "prod")).map((f) => f.resource?.name)).toContain("drill-clone");
      expect((await findingsOf(policy, drill(true), "prod")).map((f) => f.resource?.name)).toContain("drill-clone");
    },
  );

  test("security policies still apply to a recovery-drill clone", async () => {
    const inputs = instance("lp-prod-drill");
    inputs.clone = { sourceInstanceName: "lp-prod" };
    (inputs.settings as Inputs).userLabels = { ...LABELS, purpose: "recovery-drill" };
    set(inputs, "settings.ipConfiguration.ipv4Enabled", true);
    const { mandatory } = await evaluate([...goodStack(), rec(TYPES.sqlInstance, "drill-clone", inputs)], { environment: "prod" });
    expect(mandatory.map((f) => `${f.policy} ${f.resource?.name}`)).toEqual(["cloudsql-no-public-ip drill-clone"]);
  });

  test("cloudsql-prod-protection finds prod by the environment label when the config does not say", async () => {
    const stack = stackWith("primary", (i) => set(i, "settings.availabilityType", "ZONAL"));
    expect((await findingsOf("cloudsql-prod-protection", stack)).map((f) => f.resource?.name)).toEqual(["primary"]);
    expect(await findingsOf("cloudsql-prod-protection", stack, "staging")).toEqual([]);
    const stagingLabels = stack.map((r) => (r.name === "primary" ? { ...r, plainInputs: { ...r.plainInputs, settings: { ...(r.plainInputs.settings as Inputs), userLabels: { environment: "staging" } } } } : r));
    expect(await findingsOf("cloudsql-prod-protection", stagingLabels)).toEqual([]);
  });

  test("cloudsql-version-support judges on the configured date", async () => {
    const pg14 = stackWith("primary", (i) => set(i, "databaseVersion", "POSTGRES_14"));
    const on = (asOf: string) => evaluate(pg14, { policies: [byName("cloudsql-version-support")], config: { "cloudsql-version-support": { asOf } } });
    expect((await on("2027-01-31")).findings).toEqual([]);
    expect((await on("2027-02-01")).mandatory.map((f) => f.message)).toEqual([
      expect.stringMatching(/^POSTGRES_14 has been in extended support .* since 2027-02-01; use one of POSTGRES_15, POSTGRES_16, POSTGRES_17, POSTGRES_18\.$/),
    ]);
  });

  test.each([
    ["gcp:projects/iAMBinding:IAMBinding", { role: "roles/viewer", members: ["group:a@example.com", "allAuthenticatedUsers"] }, /to allAuthenticatedUsers/],
    ["gcp:secretmanager/secretIamMember:SecretIamMember", { role: "roles/secretmanager.secretAccessor", member: "allUsers" }, /to allUsers/],
    [
      "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
      { policyData: JSON.stringify({ bindings: [{ role: "roles/storage.objectViewer", members: ["allUsers"] }] }) },
      /to allUsers/,
    ],
    ["gcp:projects/iAMPolicy:IAMPolicy", { policyData: "{not json" }, /policyData is not valid JSON/],
  ])("iam-no-public-members catches %s", async (type, inputs, message) => {
    const findings = await findingsOf("iam-no-public-members", [rec(type, "grant", inputs)]);
    expect(findings.map((f) => f.message).join("\n")).toMatch(message);
  });

  test("secret-replication requires CMEK only when the config asks", async () => {
    const userManaged = stackWith("migrator-secret", (i) => set(i, "replication", { userManaged: { replicas: [{ location: "us-central1" }] } }));
    expect(await findingsOf("secret-replication", userManaged)).toEqual([]);
    const { findings } = await evaluate(userManaged, { policies: [byName("secret-replication")], config: { "secret-replication": { requireCmek: true } } });
    expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/replicas\[0\] has no customerManagedEncryption\.kmsKeyName/)]);
    const withKey = stackWith("migrator-secret", (i) =>
      set(i, "replication", { userManaged: { replicas: [{ location: "us-central1", customerManagedEncryption: { kmsKeyName: "k" } }] } }),
    );
    expect((await evaluate(withKey, { policies: [byName("secret-replication")], config: { "secret-replication": { requireCmek: true } } })).findings).toEqual([]);
  });

  test("no-plaintext-secrets accepts a credential passed as a secret, wherever it sits", async () => {
    const channel = (token: string) =>
      rec("gcp:monitoring/notificationChannel:NotificationChannel", "slack", { type: "slack", sensitiveLabels: { authToken: "xoxb-1" } }, {
        inputs: { type: "slack", sensitiveLabels: { authToken: token } },
      });
    expect(await findingsOf("no-plaintext-secrets", [channel(SECRET)])).toEqual([]);
    expect((await findingsOf("no-plaintext-secrets", [channel("xoxb-1")])).map((f) => f.message)).toEqual([
      "sensitiveLabels.authToken holds a credential that is not a Pulumi secret, so state would keep it in plaintext.",
    ]);
  });

  test("under the engine, which cannot show secretness, no-plaintext-secrets asks for additionalSecretOutputs", () => {
    const policy = byName("no-plaintext-secrets") as { validateResource: (a: never, r: (m: string) => void) => void };
    const [resource] = toPolicyResources([rec("gcp:monitoring/notificationChannel:NotificationChannel", "slack", { type: "slack", sensitiveLabels: { authToken: "xoxb-1" } })]);
    const engineArgs = (additionalSecretOutputs: string[]) =>
      ({ type: resource.type, name: "slack", urn: resource.urn, props: resource.props, opts: { ...resource.opts, additionalSecretOutputs }, getConfig: () => ({}) }) as never;
    const reports: string[] = [];
    policy.validateResource(engineArgs([]), (m) => reports.push(m));
    expect(reports).toEqual([expect.stringMatching(/sensitiveLabels\.authToken holds a credential, but "sensitiveLabels" is not in additionalSecretOutputs/)]);
    reports.length = 0;
    policy.validateResource(engineArgs(["sensitiveLabels"]), (m) => reports.push(m));
    expect(reports).toEqual([]);
  });

  test("a disabled policy reports nothing; an advisory one never counts as mandatory unless configured so", async () => {
    const stack = stackWith("primary", (i) => set(i, "settings.insightsConfig", undefined));
    const run = (config?: EvaluateOptions["config"]) => evaluate(stack, { policies: [byName("cloudsql-query-insights")], config });
    expect((await run({ "cloudsql-query-insights": { enforcementLevel: "disabled" } })).findings).toEqual([]);
    expect((await run({ "cloudsql-query-insights": "disabled" })).findings).toEqual([]);
    const advisory = await run();
    expect(advisory.findings).toHaveLength(1);
    expect(advisory.mandatory).toEqual([]);
    expect((await run({ "cloudsql-query-insights": "mandatory" })).mandatory).toHaveLength(1);
  });

  test("policy/README.md maps every policy", () => {
    const readme = fs.readFileSync(path.join(__dirname, "README.md"), "utf8");
    for (const p of policies) expect(readme).toContain(`| \`${p.name}\``);
  });
});

describe("preview: values not known until the update", () => {
  const unknownAt = (name: string, path: string) => stackWith(name, (i) => set(i, path, UNKNOWN));

  test.each([
    ["cloudsql-cmek", "primary", "encryptionKeyName"],
    ["cloudsql-private-network", "replica", "settings.ipConfiguration.privateNetwork"],
    ["bucket-cmek", "backups", "encryption.defaultKmsKeyName"],
    ["sql-user-password-source", "migrator", "password"],
    ["cloudsql-alert-coverage", "primary", "name"],
    ["labels-present", "key", "labels"],
  ])("%s passes when %s.%s is computed by another resource", async (policy, resource, path) => {
    expect(await findingsOf(policy, unknownAt(resource, path), "prod")).toEqual([]);
  });

  test.each([
    ["cloudsql-tls", "primary", "settings.ipConfiguration.sslMode"],
    ["cloudsql-no-public-ip", "primary", "settings.ipConfiguration.ipv4Enabled"],
    ["cloudsql-cis-flags", "primary", "settings.databaseFlags"],
    ["kms-key-rotation", "key", "rotationPeriod"],
    ["bucket-public-access-prevention", "backups", "publicAccessPrevention"],
  ])("%s cannot judge an unknown %s.%s: reported as unverifiable, not as a violation", async (policy, resource, path) => {
    const { findings, mandatory } = await evaluate(unknownAt(resource, path), { policies: [byName(policy)], environment: "prod" });
    expect(mandatory).toEqual([]);
    expect(findings).toEqual([expect.objectContaining({ level: "unverifiable", message: expect.stringMatching(/can't be known during preview/) })]);
  });

  test("no-plaintext-secrets judges a credential computed during the update by its secretness, not its value", async () => {
    const plain = stackWith("app-db", (i) => set(i, "password", UNKNOWN));
    expect((await findingsOf("no-plaintext-secrets", plain)).map((f) => f.message)).toEqual([expect.stringMatching(/password holds a credential that is not a Pulumi secret/)]);
    const secret = plain.map((r) => (r.name === "app-db" ? { ...r, inputs: { ...r.inputs, password: SECRET } } : r));
    expect(await findingsOf("no-plaintext-secrets", secret)).toEqual([]);
  });

  test("policies take props wrapped by @pulumi/policy's unknownCheckingProxy, as the engine passes them", async () => {
    const props = unknownCheckingProxy({ ...instance("lp-prod"), encryptionKeyName: UNKNOWN_VALUE, settings: { ...(instance("lp-prod").settings as Inputs), ipConfiguration: { sslMode: UNKNOWN_VALUE } } });
    const [resource] = toPolicyResources([rec(TYPES.sqlInstance, "primary", {})]);
    const args = { type: TYPES.sqlInstance, name: "primary", urn: resource.urn, props, opts: resource.opts, getConfig: () => ({}) } as never;
    const reports: string[] = [];
    const cmek = byName("cloudsql-cmek") as { validateResource: (a: never, r: (m: string) => void) => void };
    cmek.validateResource(args, (m) => reports.push(m));
    expect(reports).toEqual([]);
    const tls = byName("cloudsql-tls") as { validateResource: (a: never, r: (m: string) => void) => void };
    expect(() => tls.validateResource(args, (m) => reports.push(m))).toThrow(/string value at \.settings\.ipConfiguration\.sslMode can't be known during preview/);
  });
});
