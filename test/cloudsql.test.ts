/**
 * The Cloud SQL tier under Pulumi mocks: the whole program for both stacks (every
 * instance's security settings, ordering, keys, secrets, outputs), stack variants
 * (existing VPC, existing keys, read pool), and each component's validation rules.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, type StackConfig } from "../config";
import { DatabaseAccess, IAM_LOGIN_ROLES, type DatabaseAccessArgs } from "../components/database-users";
import { ENCRYPTER_DECRYPTER_ROLE, EncryptionKeys, MAX_ROTATION_DAYS, type EncryptionKeysArgs } from "../components/encryption";
import { PrivateNetwork, type PrivateNetworkArgs } from "../components/network";
import { PrimaryInstance, SECURE_SSL_MODES, type PrimaryInstanceArgs } from "../components/primary-instance";
import { STACK_APIS, ProjectServices } from "../components/project-services";
import { ReadPool, type ReadPoolArgs } from "../components/read-pool";
import { ReadReplica, type ReadReplicaArgs } from "../components/read-replica";
import { resolveFlags } from "../lib/database-flags";
import { MockRecorder, loadStackValues, type RecordedResource, type RunResult } from "../lib/mock-runtime";
import { SECRET, runStack } from "./harness/stack";

const INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance";
const SECONDS_PER_DAY = 86_400;
const MOCK_PASSWORD = /mock-password-/;

type Settings = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function configOf(stack: string, overrides: Record<string, unknown> = {}): StackConfig {
  const v = loadStackValues(stack, overrides);
  return parseStackConfig({ project: v.project, region: v.region, values: v.values });
}

const settingsOf = (r: RecordedResource) => r.inputs.settings as Settings;
const keyLocation = (keyName: unknown) => /\/locations\/([^/]+)\//.exec(String(keyName))?.[1];

describe.each(["prod", "staging"])("stack %s", (stack) => {
  let run: RunResult;
  let config: StackConfig;
  let instances: RecordedResource[];
  const primaryOf = () => instances.find((r) => r.name === "db-primary-instance")!;
  const replicasOf = () => instances.filter((r) => r.name.startsWith("db-replica-"));

  beforeAll(async () => {
    run = await runStack(stack);
    config = configOf(stack);
    instances = run.recorder.ofType(INSTANCE);
  });

  test("one primary and one instance per named replica, named after the stack", () => {
    expect(primaryOf().inputs.name).toBe(`${config.namePrefix}-${config.environment}`);
    expect(replicasOf().map((r) => r.name).sort()).toEqual(Object.keys(config.replicas).map((n) => `db-replica-${n}-instance`).sort());
    for (const [name, r] of Object.entries(config.replicas)) {
      const replica = run.recorder.get(INSTANCE, `db-replica-${name}-instance`);
      expect(replica.inputs.name).toBe(`${config.namePrefix}-${config.environment}-${name}`);
      expect(replica.inputs.region).toBe(r.region);
      expect(settingsOf(replica).tier).toBe(r.tier);
      expect(replica.inputs.masterInstanceName).toBe(primaryOf().inputs.name);
      expect(replica.inputs.instanceType).toBe("READ_REPLICA_INSTANCE");
    }
  });

  test("every instance: CMEK in its own region, private IP only, no authorized networks, TLS required", () => {
    for (const r of instances) {
      const ip = settingsOf(r).ipConfiguration;
      expect(r.inputs.encryptionKeyName, r.name).toMatch(/^projects\/.+\/cryptoKeys\/.+$/);
      expect(keyLocation(r.inputs.encryptionKeyName), r.name).toBe(r.inputs.region);
      expect(ip.ipv4Enabled, r.name).toBe(false);
      expect(ip.privateNetwork, r.name).toMatch(/\/global\/networks\//);
      expect(ip.authorizedNetworks ?? [], r.name).toEqual([]);
      expect(SECURE_SSL_MODES, r.name).toContain(ip.sslMode);
      expect(ip.sslMode, r.name).toBe(config.instance.sslMode);
    }
  });

  test("every instance: deletion protection at the Pulumi level and the API level", () => {
    for (const r of instances) {
      expect(r.protect, r.name).toBe(true);
      expect(r.inputs.deletionProtection, r.name).toBe(true);
      expect(settingsOf(r).deletionProtectionEnabled, r.name).toBe(true);
    }
  });

  test("every instance: managed pooling with the config's mode and sizes, the named flags and Query Insights", () => {
    const pooling = config.instance.pooling;
    for (const r of instances) {
      const s = settingsOf(r);
      expect(s.connectionPoolConfigs, r.name).toEqual([
        {
          connectionPoolingEnabled: true,
          flags: [
            { name: "pool_mode", value: pooling.mode },
            { name: "max_pool_size", value: String(pooling.maxPoolSize) },
            { name: "max_client_connections", value: String(pooling.maxClientConnections) },
          ],
        },
      ]);
      const flags = Object.fromEntries((s.databaseFlags as { name: string; value: string }[]).map((f) => [f.name, f.value]));
      expect(flags, r.name).toMatchObject({ log_min_duration_statement: "-1", "cloudsql.iam_authentication": "on", "cloudsql.enable_pgaudit": "on" });
      expect(Number(flags.max_connections), r.name).toBeGreaterThan(0);
      expect(s.insightsConfig, r.name).toMatchObject({ queryInsightsEnabled: true, recordApplicationTags: true });
      expect(s.edition, r.name).toBe(config.instance.edition);
      // Managed pooling needs the new Cloud SQL network architecture (Managed Connection Pooling overview, Requirements).
      expect(r.inputs.enforceNewSqlNetworkArchitecture, r.name).toBe(true);
    }
  });

  test("the primary: version, tier, availability, disk, labels, backups with PITR, final backup, maintenance", () => {
    const p = primaryOf();
    const s = settingsOf(p);
    const c = config.instance;
    expect(p.inputs.databaseVersion).toBe(c.databaseVersion);
    expect(s).toMatchObject({
      tier: c.tier,
      availabilityType: c.availabilityType,
      diskType: c.diskType,
      diskSize: c.diskSizeGb,
      diskAutoresize: true,
      diskAutoresizeLimit: c.diskAutoresizeLimitGb,
      userLabels: config.labels,
    });
    expect(s.backupConfiguration).toMatchObject({
      enabled: true,
      pointInTimeRecoveryEnabled: true,
      startTime: c.backup.startTime,
      transactionLogRetentionDays: c.backup.transactionLogRetentionDays,
      backupRetentionSettings: { retainedBackups: c.backup.retainedBackups, retentionUnit: "COUNT" },
    });
    expect(s.passwordValidationPolicy).toMatchObject({ enablePasswordPolicy: true, complexity: "COMPLEXITY_DEFAULT", disallowUsernameSubstring: true });
    const generated = run.recorder.get("random:index/randomPassword:RandomPassword", "db-access-migration-password").inputs;
    expect(generated.length).toBeGreaterThanOrEqual(s.passwordValidationPolicy.minLength);
    expect(generated).toMatchObject({ minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 });
    expect(s.finalBackupConfig.enabled).toBe(true);
    expect(s.finalBackupConfig.retentionDays).toBeGreaterThan(0);
    expect(s.maintenanceWindow).toMatchObject({ hour: c.maintenanceWindow.hour, updateTrack: c.maintenanceUpdateTrack });
    if (c.denyMaintenancePeriod) expect(s.denyMaintenancePeriod.startDate).toBe(c.denyMaintenancePeriod.startDate.replace(/-0(\d)-/, "-$1-"));
    else expect(s.denyMaintenancePeriod).toBeUndefined();
  });

  test("prod's primary is REGIONAL (HA)", () => {
    if (stack === "prod") expect(settingsOf(primaryOf()).availabilityType).toBe("REGIONAL");
    else expect(settingsOf(primaryOf()).availabilityType).toBe(config.instance.availabilityType);
  });

  test("ordering: every instance depends on the PSA connection, its region's KMS grant and the Cloud SQL API", () => {
    for (const r of instances) {
      expect(r.dependsOn, r.name).toContain("db-network-psa");
      expect(r.dependsOn, r.name).toContain(`db-keys-${r.inputs.region}-sqladmin-encrypter`);
      expect(r.dependsOn, r.name).toContain("db-services-sqladmin");
      // No input references the peering or the grant, so only an explicit dependsOn orders them.
      const fromInputs = Object.values(r.propertyDependencies).flat();
      expect(fromInputs, r.name).not.toContain("db-network-psa");
      expect(fromInputs, r.name).not.toContain(`db-keys-${r.inputs.region}-sqladmin-encrypter`);
    }
  });

  test("a key ring and a protected, ≤90-day-rotating key in every instance region, granted to Cloud SQL's service identity", () => {
    const regions = [...new Set(instances.map((r) => r.inputs.region as string))].sort();
    const mine = (r: RecordedResource) => r.parent === "db-keys";
    const keys = run.recorder.ofType("gcp:kms/cryptoKey:CryptoKey").filter(mine);
    expect(run.recorder.ofType("gcp:kms/keyRing:KeyRing").filter(mine).map((r) => r.inputs.location).sort()).toEqual(regions);
    expect(keys).toHaveLength(regions.length);
    for (const k of keys) {
      expect(k.protect, k.name).toBe(true);
      expect(parseInt(String(k.inputs.rotationPeriod), 10)).toBeLessThanOrEqual(MAX_ROTATION_DAYS * SECONDS_PER_DAY);
    }
    const identity = run.recorder.get("gcp:projects/serviceIdentity:ServiceIdentity", "db-keys-sqladmin-identity");
    expect(identity.inputs.service).toBe("sqladmin.googleapis.com");
    const grants = run.recorder.ofType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").filter(mine);
    expect(grants.map((g) => keyLocation(g.inputs.cryptoKeyId)).sort()).toEqual(regions);
    for (const g of grants) {
      expect(g.inputs.role).toBe(ENCRYPTER_DECRYPTER_ROLE);
      expect(g.inputs.member).toMatch(/^serviceAccount:service-\d+@gcp-sa-sqladmin\.iam\.gserviceaccount\.com$/);
    }
  });

  test("each replica's key is in the replica's own region", () => {
    for (const [name, r] of Object.entries(config.replicas)) {
      const replica = run.recorder.get(INSTANCE, `db-replica-${name}-instance`);
      expect(keyLocation(replica.inputs.encryptionKeyName)).toBe(r.region);
    }
  });

  test("Private Service Access: a VPC_PEERING range and the servicenetworking connection on the same VPC", () => {
    const range = run.recorder.get("gcp:compute/globalAddress:GlobalAddress", "db-network-psa-range");
    const conn = run.recorder.get("gcp:servicenetworking/connection:Connection", "db-network-psa");
    expect(range.inputs).toMatchObject({ purpose: "VPC_PEERING", addressType: "INTERNAL", prefixLength: config.network.pscRangePrefixLength });
    expect(conn.inputs).toMatchObject({ service: "servicenetworking.googleapis.com", reservedPeeringRanges: [range.inputs.name] });
    expect(conn.inputs.network).toBe(range.inputs.network);
    expect(settingsOf(primaryOf()).ipConfiguration.privateNetwork).toBe(conn.inputs.network);
  });

  test("every API the stack uses is enabled once and never disabled on destroy", () => {
    const services = run.recorder.ofType("gcp:projects/service:Service");
    const tier = services.filter((s) => s.parent === "db-services");
    expect(services).toHaveLength(tier.length);
    expect(tier.map((s) => s.inputs.service).sort()).toEqual([...STACK_APIS].sort());
    for (const s of services) expect(s.inputs.disableOnDestroy, s.name).toBe(false);
    for (const m of run.recorder.ofType("gcp:projects/iAMMember:IAMMember").filter((r) => r.parent === "db-access")) {
      expect(m.dependsOn, m.name).toEqual(expect.arrayContaining(["db-services-iam", "db-services-cloudresourcemanager"]));
    }
    expect(run.recorder.get("gcp:secretmanager/secret:Secret", "db-access-migration-secret").dependsOn).toContain("db-services-secretmanager");
    expect(run.recorder.get("gcp:kms/keyRing:KeyRing", `db-keys-${config.region}-ring`).dependsOn).toContain("db-services-cloudkms");
    expect(run.recorder.get("gcp:servicenetworking/connection:Connection", "db-network-psa").dependsOn).toContain("db-services-servicenetworking");
  });

  test("the database, the built-in migration user with a generated password kept in Secret Manager", () => {
    const db = run.recorder.get("gcp:sql/database:Database", "db-access-database");
    expect(db.inputs).toMatchObject({ name: config.database.name, instance: primaryOf().inputs.name });
    const user = run.recorder.get("gcp:sql/user:User", "db-access-migration-user");
    expect(user.inputs).toMatchObject({ name: config.database.migrationUser, type: "BUILT_IN", password: SECRET });
    const version = run.recorder.get("gcp:secretmanager/secretVersion:SecretVersion", "db-access-migration-secret-version");
    expect(version.inputs.secretData).toBe(SECRET);
    // The same generated password reaches the user and the secret (revealed only here).
    expect(user.plainInputs.password).toMatch(MOCK_PASSWORD);
    expect(version.plainInputs.secretData).toBe(user.plainInputs.password);
  });

  test("IAM database users with cloudsql.client and cloudsql.instanceUser, scoped to this stack's instances", () => {
    const names = instances.map((r) => r.inputs.name as string);
    const members = run.recorder.ofType("gcp:projects/iAMMember:IAMMember");
    for (const [key, u] of Object.entries(config.iamUsers)) {
      const user = run.recorder.get("gcp:sql/user:User", `db-access-iam-${key}`);
      expect(user.inputs).toMatchObject({ type: "CLOUD_IAM_SERVICE_ACCOUNT", name: u.serviceAccount.replace(/\.gserviceaccount\.com$/, "") });
      const mine = members.filter((m) => m.inputs.member === `serviceAccount:${u.serviceAccount}`);
      expect(mine.map((m) => m.inputs.role).sort()).toEqual([...IAM_LOGIN_ROLES].sort());
      for (const m of mine) {
        const expression = (m.inputs.condition as { expression: string }).expression;
        for (const n of names) expect(expression).toContain(`projects/${config.project}/instances/${n}"`);
        expect(expression.match(/resource\.name ==/g)).toHaveLength(names.length);
      }
    }
  });

  test("no secret appears in plaintext in recorded inputs or stack outputs", () => {
    const revealed = JSON.stringify(run.recorder.resources.map((r) => r.plainInputs));
    expect(revealed).toMatch(MOCK_PASSWORD); // the scan below could find it
    expect(JSON.stringify(run.recorder.resources.map((r) => r.inputs))).not.toMatch(MOCK_PASSWORD);
    expect(JSON.stringify(run.outputs)).not.toMatch(MOCK_PASSWORD);
  });

  test("the connection manifest: endpoints, weights, pool sizes, secret ids and the database name", () => {
    const m = run.outputs.connectionManifest as Settings;
    expect(m.databaseName).toBe(config.database.name);
    expect(m.primary.connectionName).toBe(`${config.project}:${config.region}:${primaryOf().inputs.name}`);
    expect(m.primary.privateIp).toMatch(/^10\./);
    expect(Object.keys(m.replicas).sort()).toEqual(Object.keys(config.replicas).sort());
    for (const [name, r] of Object.entries(config.replicas)) {
      expect(m.replicas[name]).toMatchObject({ readWeight: r.readWeight, region: r.region, disasterRecovery: r.disasterRecovery });
      expect(m.replicas[name].connectionName).toBe(`${config.project}:${r.region}:${config.namePrefix}-${config.environment}-${name}`);
      expect(m.replicas[name].privateIp).toMatch(/^10\./);
    }
    expect(m.pools).toMatchObject({
      poolMode: config.instance.pooling.mode,
      maxPoolSize: config.instance.pooling.maxPoolSize,
      maxClientConnectionsPerInstance: config.instance.pooling.maxClientConnections,
      appPoolSizePerInstance: config.capacity.poolSizePerInstance,
    });
    expect(m.pools.appWritePoolPerInstance + m.pools.appReadPoolPerInstance).toBe(config.capacity.poolSizePerInstance);
    expect(m.migrationUser).toEqual({
      name: config.database.migrationUser,
      passwordSecretId: expect.stringMatching(new RegExp(`^projects/${config.project}/secrets/.+-password$`)),
    });
    if (stack === "prod") expect(m.clientCapacity.usable).toBeGreaterThanOrEqual(100_000);
  });
});

describe("stack variants", () => {
  test("an existing VPC by name: no VPC is created and instances use its self link", async () => {
    const { recorder } = await runStack("staging", { overrides: { existingNetwork: "shared-vpc" } });
    expect(recorder.ofType("gcp:compute/network:Network")).toHaveLength(0);
    const p = recorder.get(INSTANCE, "db-primary-instance");
    expect(settingsOf(p).ipConfiguration.privateNetwork).toBe("https://www.googleapis.com/compute/v1/projects/rds-lms/global/networks/shared-vpc");
  });

  test("an existing VPC by path is used as given", async () => {
    const { recorder } = await runStack("staging", { overrides: { existingNetwork: "projects/host-proj/global/networks/shared" } });
    expect(recorder.ofType("gcp:compute/network:Network")).toHaveLength(0);
    expect(recorder.get("gcp:servicenetworking/connection:Connection", "db-network-psa").inputs.network).toBe(
      "https://www.googleapis.com/compute/v1/projects/host-proj/global/networks/shared",
    );
  });

  test("existing keys from config replace created ones in their region and still get the grant", async () => {
    const key = "projects/rds-lms/locations/us-east1/keyRings/shared/cryptoKeys/sql";
    const { recorder } = await runStack("prod", { overrides: { kmsExistingKeys: [`us-east1=${key}`] } });
    expect(recorder.ofType("gcp:kms/keyRing:KeyRing").filter((r) => r.parent === "db-keys").map((r) => r.inputs.location)).toEqual(["us-central1"]);
    expect(recorder.get(INSTANCE, "db-replica-dr-east-instance").inputs.encryptionKeyName).toBe(key);
    expect(recorder.get("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "db-keys-us-east1-sqladmin-encrypter").inputs.cryptoKeyId).toBe(key);
  });

  test("a read pool: one READ_POOL_INSTANCE with autoscaling, secured and ordered like the others", async () => {
    const { recorder, outputs } = await runStack("staging", { overrides: { readPoolNodeCount: 2, readPoolMaxNodeCount: 4 } });
    const pool = recorder.get(INSTANCE, "db-read-pool-instance");
    const s = settingsOf(pool);
    expect(pool.inputs).toMatchObject({ instanceType: "READ_POOL_INSTANCE", masterInstanceName: "learning-platform-staging", deletionProtection: true });
    expect(pool.inputs.nodeCount).toBeUndefined();
    expect(s.readPoolAutoScaleConfig).toMatchObject({ enabled: true, minNodeCount: 2, maxNodeCount: 4 });
    expect(s.ipConfiguration.ipv4Enabled).toBe(false);
    expect(s.connectionPoolConfigs[0].connectionPoolingEnabled).toBe(true);
    expect(pool.inputs.enforceNewSqlNetworkArchitecture).toBe(true);
    expect(keyLocation(pool.inputs.encryptionKeyName)).toBe(pool.inputs.region);
    expect(pool.dependsOn).toEqual(expect.arrayContaining(["db-network-psa", "db-keys-us-central1-sqladmin-encrypter"]));
    expect((outputs.connectionManifest as Settings).readPool).toMatchObject({ nodeCount: 2, maxNodeCount: 4, readWeight: 2 });
  });

  test("a fixed-size read pool sets nodeCount and no autoscaling", async () => {
    const { recorder } = await runStack("staging", { overrides: { readPoolNodeCount: 3 } });
    const pool = recorder.get(INSTANCE, "db-read-pool-instance");
    expect(pool.inputs.nodeCount).toBe(3);
    expect(settingsOf(pool).readPoolAutoScaleConfig).toBeUndefined();
  });

  test("a replica can override its tier and flags", async () => {
    const { recorder } = await runStack("prod", {
      overrides: { replicas: ["read-a", "read-b:tier=db-perf-optimized-N-32,flag.work_mem=64MB", "dr-east:region=us-east1,dr=true"] },
    });
    const b = settingsOf(recorder.get(INSTANCE, "db-replica-read-b-instance"));
    expect(b.tier).toBe("db-perf-optimized-N-32");
    expect(b.databaseFlags).toEqual(expect.arrayContaining([{ name: "work_mem", value: "64MB" }, { name: "max_connections", value: "5000" }]));
  });

  test("the DR replica matches the primary's availability; read replicas are zonal", async () => {
    const { recorder } = await runStack("prod");
    expect(settingsOf(recorder.get(INSTANCE, "db-replica-dr-east-instance")).availabilityType).toBe("REGIONAL");
    expect(settingsOf(recorder.get(INSTANCE, "db-replica-read-a-instance")).availabilityType).toBe("ZONAL");
  });

  test("a flag override that breaks CIS fails as a config error before any resource", async () => {
    await expect(runStack("prod", { overrides: { databaseFlags: ["log_min_duration_statement=1000"] } })).rejects.toThrow(
      /lp-db:databaseFlags: flag log_min_duration_statement must stay "-1"/,
    );
  });

  test("a replica flag override below the primary's max_connections fails as a config error", async () => {
    await expect(runStack("staging", { overrides: { replicas: ["read-a:flag.max_connections=100"] } })).rejects.toThrow(/lp-db:replicas \(read-a\): .*below its primary's/);
  });

  test("an over-budget stack fails as a config error naming the instance", async () => {
    await expect(runStack("staging", { overrides: { appInstances: 200, appPoolSize: 50, connectionPooling: false } })).rejects.toThrow(
      /connection budget .*instance read-a: .* above 85\.0%/,
    );
  });

  test("prod without managed pooling cannot hold 100,000 clients and is refused", async () => {
    await expect(runStack("prod", { overrides: { connectionPooling: false } })).rejects.toThrow(/usable client capacity .* below the required 100000/);
  });
});

// ---------------------------------------------------------------------------
// Component validation: each rule raises a ResourceError naming the fields.

describe("component validation", () => {
  let n = 0;
  const uniq = (s: string) => `${s}-${++n}`;
  const project = "rds-lms";

  beforeAll(async () => {
    await pulumi.runtime.setMocks(new MockRecorder(project, "us-central1"), "lp-db", "validation", false);
  });

  const keysArgs = (over: Partial<EncryptionKeysArgs> = {}): EncryptionKeysArgs => ({
    project,
    namePrefix: "lp",
    locations: ["us-central1", "us-east1"],
    ...over,
  });
  const netArgs = (over: Partial<PrivateNetworkArgs> = {}): PrivateNetworkArgs => ({ project, networkName: "lp-vpc", ...over });
  const primaryArgs = (over: Partial<PrimaryInstanceArgs> = {}): PrimaryInstanceArgs => ({
    project,
    instanceName: "lp-test",
    region: "us-central1",
    databaseVersion: "POSTGRES_18",
    edition: "ENTERPRISE_PLUS",
    tier: "db-perf-optimized-N-4",
    availabilityType: "REGIONAL",
    diskType: "PD_SSD",
    diskSizeGb: 100,
    diskAutoresizeLimitGb: 500,
    labels: {},
    network: new PrivateNetwork(uniq("net"), netArgs()),
    encryption: new EncryptionKeys(uniq("keys"), keysArgs()),
    sslMode: "ENCRYPTED_ONLY",
    maintenanceWindow: { day: "SUN", hour: 7 },
    maintenanceUpdateTrack: "stable",
    backup: { startTime: "03:00", pointInTimeRecovery: true, transactionLogRetentionDays: 7, retainedBackups: 7 },
    insights: { queryPlansPerMinute: 5, queryStringLength: 1024 },
    flags: resolveFlags({ tier: "db-perf-optimized-N-4", databaseName: "app" }),
    pooling: { enabled: true, mode: "transaction", maxClientConnections: 1000, maxPoolSize: 50 },
    ...over,
  });
  const primary = (over: Partial<PrimaryInstanceArgs> = {}) => new PrimaryInstance(uniq("primary"), primaryArgs(over));

  describe("ProjectServices", () => {
    test.each([
      [["sqladmin"], /not API names/],
      [["sqladmin.googleapis.com", "sqladmin.googleapis.com"], /listed twice/],
    ])("refuses services %j", (services, message) => {
      expect(() => new ProjectServices(uniq("svc"), { project, services })).toThrow(message);
    });

    test("forApis refuses an API it does not enable", () => {
      const s = new ProjectServices(uniq("svc"), { project, services: ["sqladmin.googleapis.com"] });
      expect(s.forApis("sqladmin.googleapis.com")).toHaveLength(1);
      expect(() => s.forApis("bigquery.googleapis.com")).toThrow(/API bigquery.googleapis.com is not enabled/);
    });
  });

  describe("PrivateNetwork", () => {
    test.each([
      [{ pscRangePrefixLength: 7 }, /pscRangePrefixLength 7 must be \/8 to \/24/],
      [{ pscRangePrefixLength: 25 }, /pscRangePrefixLength 25/],
      [{ networkName: "Bad_Name" }, /networkName "Bad_Name"/],
      [{ existingNetwork: "projects/p/regions/x" }, /existingNetwork "projects\/p\/regions\/x"/],
    ])("refuses %j", (over, message) => {
      expect(() => new PrivateNetwork(uniq("net"), netArgs(over))).toThrow(message);
    });
  });

  describe("EncryptionKeys", () => {
    test.each([
      [{ rotationDays: 91 }, /rotationDays 91 must be 1 to 90/],
      [{ rotationDays: 0 }, /rotationDays 0/],
      [{ locations: [] }, /at least one KMS location/],
      [{ locations: ["US-CENTRAL1"] }, /"US-CENTRAL1" is not a lowercase KMS location/],
      [{ locations: ["us-east1", "us-east1"] }, /us-east1 listed twice/],
      [{ existingKeys: { "us-east1": "not-a-key" } }, /existingKeys.us-east1: "not-a-key" is not/],
      [{ existingKeys: { "us-east1": "projects/p/locations/us-west1/keyRings/r/cryptoKeys/k" } }, /the key is in us-west1, not us-east1/],
      [{ existingKeys: { "europe-west1": "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k" } }, /no resource here needs a key in europe-west1/],
      [{ services: ["sqladmin"] }, /services must list Google API names/],
      [{ services: [] }, /services must list Google API names/],
    ])("refuses %j", (over, message) => {
      expect(() => new EncryptionKeys(uniq("keys"), keysArgs(over))).toThrow(message);
    });

    test("keyFor and grantsFor refuse a location without a key", () => {
      const keys = new EncryptionKeys(uniq("keys"), keysArgs({ locations: ["nam4"], services: ["storage.googleapis.com"] }));
      expect(() => keys.keyFor("us-central1")).toThrow(/no encryption key in us-central1; keys exist in: nam4/);
      expect(() => keys.grantsFor("us-central1")).toThrow(/no encryption key in us-central1/);
      expect(keys.grantsFor("nam4")).toHaveLength(1);
      expect(() => keys.grantEncrypterDecrypter("bucket", "us-central1", "serviceAccount:x@y.iam.gserviceaccount.com")).toThrow(/no encryption key in us-central1/);
    });

    test("grantEncrypterDecrypter grants another principal on a location's key", async () => {
      const keys = new EncryptionKeys(uniq("keys"), keysArgs({ locations: ["nam4"], services: ["storage.googleapis.com"] }));
      const grant = keys.grantEncrypterDecrypter("bucket", "nam4", "serviceAccount:x@y.iam.gserviceaccount.com");
      const role = await new Promise((resolve) => grant.role.apply(resolve));
      expect(role).toBe(ENCRYPTER_DECRYPTER_ROLE);
    });
  });

  describe("PrimaryInstance", () => {
    test("valid args build", () => {
      expect(primary().maxConnections).toBe(800);
    });

    test.each([
      [{ tier: "db-perf-optimized-N-3" }, /tier "db-perf-optimized-N-3" is not a Cloud SQL tier/],
      [{ tier: "db-custom-2-8192" }, /tier db-custom-2-8192 is an ENTERPRISE tier but edition is ENTERPRISE_PLUS/],
      [{ sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" as never }, /sslMode ALLOW_UNENCRYPTED_AND_ENCRYPTED must be one of/],
      [
        { edition: "ENTERPRISE" as const, tier: "db-custom-2-8192", flags: resolveFlags({ tier: "db-custom-2-8192", databaseName: "app" }) },
        /pooling.enabled needs edition ENTERPRISE_PLUS/,
      ],
      [{ pooling: { enabled: true, mode: "transaction" as const, maxClientConnections: 0, maxPoolSize: 10 } }, /must be positive/],
      [{ backup: { startTime: "03:00", pointInTimeRecovery: true, transactionLogRetentionDays: 36, retainedBackups: 7 } }, /transactionLogRetentionDays 36 must be 1 to 35/],
      [{ backup: { startTime: "03:00", pointInTimeRecovery: true, transactionLogRetentionDays: 7, retainedBackups: 0 } }, /retainedBackups 0 must be 1 to 365/],
      [{ backup: { startTime: "03:00", pointInTimeRecovery: false, transactionLogRetentionDays: 7, retainedBackups: 7 } }, /REGIONAL needs backup.pointInTimeRecovery/],
      [{ backup: { startTime: "03:00", pointInTimeRecovery: true, transactionLogRetentionDays: 14, retainedBackups: 13 } }, /backup.retainedBackups 13 must be at least backup.transactionLogRetentionDays 14/],
      [{ finalBackupRetentionDays: 400 }, /finalBackupRetentionDays 400 must be 1 to 365/],
      [{ diskAutoresizeLimitGb: 50 }, /diskAutoresizeLimitGb 50 must be 0 \(no limit\) or at least diskSizeGb 100/],
      [{ maintenanceWindow: { day: "SUN" as const, hour: 24 } }, /maintenanceWindow SUN 24/],
      [{ denyMaintenancePeriod: { startDate: "2027-01-04", endDate: "2026-12-14" } }, /startDate must come before endDate/],
      [{ insights: { queryPlansPerMinute: 21, queryStringLength: 1024 } }, /queryPlansPerMinute 21 must be 0 to 20/],
      [{ insights: { queryPlansPerMinute: 5, queryStringLength: 100 } }, /queryStringLength 100 must be 256 to 4500/],
      [{ flags: { log_connections: "on" } }, /flags must include max_connections/],
      [{ region: "europe-west1" }, /no encryption key in europe-west1/],
    ])("refuses %j", (over, message) => {
      expect(() => primary(over)).toThrow(message);
    });

    test("pooling off on ENTERPRISE builds with no pool config", () => {
      const p = primary({
        edition: "ENTERPRISE",
        tier: "db-custom-2-8192",
        availabilityType: "ZONAL",
        flags: resolveFlags({ tier: "db-custom-2-8192", databaseName: "app" }),
        pooling: { enabled: false, mode: "transaction", maxClientConnections: 1, maxPoolSize: 1 },
      });
      expect(p.maxConnections).toBe(200);
    });
  });

  describe("ReadReplica", () => {
    const replica = (over: Partial<ReadReplicaArgs> = {}, p = primary()) =>
      new ReadReplica(uniq("replica"), { primary: p, instanceName: uniq("lp-test-read"), ...over });

    test("defaults: the primary's region, tier, flags and weight 1", () => {
      const r = replica();
      expect([r.region, r.tier, r.readWeight, r.maxConnections]).toEqual(["us-central1", "db-perf-optimized-N-4", 1, 800]);
    });

    test.each([
      [{ readWeight: 101 }, /readWeight 101 must be an integer from 0 to 100/],
      [{ readWeight: -1 }, /readWeight -1/],
      [{ disasterRecovery: true }, /disasterRecovery needs a region other than the primary's \(us-central1\)/],
      [{ flags: resolveFlags({ tier: "db-perf-optimized-N-2", databaseName: "app" }) }, /max_connections 400 must be at least the primary's 800/],
      [{ instanceName: "lp-test" }, /instanceName lp-test is the primary's name/],
      [{ flags: { log_connections: "on" } }, /flags must include max_connections \(at least the primary's 800/],
      [{ region: "europe-west1" }, /no encryption key in europe-west1/],
      [{ tier: "db-custom-2-8192" }, /is an ENTERPRISE tier but edition is ENTERPRISE_PLUS/],
    ])("refuses %j", (over, message) => {
      expect(() => replica(over)).toThrow(message);
    });

    test("a DR replica in another region with a key there builds", () => {
      const r = replica({ region: "us-east1", disasterRecovery: true, readWeight: 0 });
      expect(r.disasterRecovery).toBe(true);
    });
  });

  describe("ReadPool", () => {
    const pool = (over: Partial<ReadPoolArgs> = {}, p = primary()) => new ReadPool(uniq("pool"), { primary: p, instanceName: uniq("lp-pool"), nodeCount: 2, ...over });

    test.each([
      [{ nodeCount: 0 }, /nodeCount 0 must be 1 to 20/],
      [{ nodeCount: 21 }, /nodeCount 21/],
      [{ maxNodeCount: 1 }, /maxNodeCount 1 must be 0 \(no autoscaling\) or 2 to 20/],
      [{ maxNodeCount: 21 }, /maxNodeCount 21/],
      [{ flags: { log_connections: "on" } }, /flags must include max_connections \(at least the primary's 800/],
      [{ flags: resolveFlags({ tier: "db-perf-optimized-N-2", databaseName: "app" }) }, /max_connections 400 must be at least the primary's 800/],
    ])("refuses %j", (over, message) => {
      expect(() => pool(over)).toThrow(message);
    });

    test("refuses a primary that is not Enterprise Plus", () => {
      const enterprise = primary({
        edition: "ENTERPRISE",
        tier: "db-custom-2-8192",
        flags: resolveFlags({ tier: "db-custom-2-8192", databaseName: "app" }),
        pooling: { enabled: false, mode: "transaction", maxClientConnections: 1, maxPoolSize: 1 },
      });
      expect(() => pool({}, enterprise)).toThrow(/read pools need the primary's edition to be ENTERPRISE_PLUS/);
    });
  });

  describe("DatabaseAccess", () => {
    const sa = "lp-app@rds-lms.iam.gserviceaccount.com";
    const accessArgs = (over: Partial<DatabaseAccessArgs> = {}): DatabaseAccessArgs => ({
      project,
      instance: primary().instance,
      instanceNames: ["lp-test"],
      databaseName: "app",
      migrationUser: "lp_migrator",
      secretId: "lp-test-migrator-password",
      iamUsers: { application: { serviceAccount: sa, groupRoles: ["lp_app_rw"] } },
      ...over,
    });

    test("valid args build, with the IAM login name Cloud SQL uses", () => {
      const a = new DatabaseAccess(uniq("access"), accessArgs());
      expect(a.iamLogins.application).toEqual({ login: "lp-app@rds-lms.iam", groupRoles: ["lp_app_rw"] });
      expect(pulumi.Output.isInstance(a.migrationPassword)).toBe(true);
      expect(a.grantConnect("reporting", "serviceAccount:reporting@rds-lms.iam.gserviceaccount.com")).toHaveLength(IAM_LOGIN_ROLES.length);
      expect(a.grantSecretAccess("migrator", "serviceAccount:migrator@rds-lms.iam.gserviceaccount.com")).toBeDefined();
    });

    test("the migration password is a secret Output", async () => {
      const a = new DatabaseAccess(uniq("access"), accessArgs());
      expect(await pulumi.isSecret(a.migrationPassword)).toBe(true);
    });

    test.each([
      [{ databaseName: "App-DB" }, /databaseName "App-DB" must be a lowercase PostgreSQL identifier/],
      [{ migrationUser: "lp-migrator" }, /migrationUser "lp-migrator" must be/],
      [{ migrationUser: "postgres" }, /migrationUser "postgres" is reserved/],
      [{ secretId: "bad/secret" }, /secretId "bad\/secret"/],
      [{ instanceNames: [] }, /instanceNames must name at least the primary/],
      [{ iamUsers: { App: { serviceAccount: sa, groupRoles: ["r"] } } }, /iamUsers.App: the name must be/],
      [{ iamUsers: { app: { serviceAccount: "someone@gmail.com", groupRoles: ["r"] } } }, /iamUsers.app.serviceAccount "someone@gmail.com"/],
      [{ iamUsers: { app: { serviceAccount: sa, groupRoles: [] } } }, /iamUsers.app.groupRoles/],
      [
        { iamUsers: { app: { serviceAccount: sa, groupRoles: ["r"] }, other: { serviceAccount: sa, groupRoles: ["r"] } } },
        /iamUsers.other: service account .* is also iamUsers.app/,
      ],
    ])("refuses %j", (over, message) => {
      expect(() => new DatabaseAccess(uniq("access"), accessArgs(over))).toThrow(message);
    });
  });
});
