/** The query cache under Pulumi mocks: the Memorystore instance, its key grant, its AUTH secret, its alerts and the manifest. */
import { beforeAll, describe, expect, test } from "vitest";
import { CACHE_SIGNALS, MIN_CACHE_LOOKUPS_PER_SECOND, REDIS_INSTANCE, signal } from "../lib/monitoring";
import { evaluate } from "../policy/offline";
import { SECRET, runStack, type RecordedResource } from "./harness/stack";
import type { RunResult } from "../lib/mock-runtime";

const REDIS = "gcp:redis/instance:Instance";
const POLICY = "gcp:monitoring/alertPolicy:AlertPolicy";

describe.each(["prod", "staging"])("%s stack", (stack) => {
  let run: RunResult;
  let redis: RecordedResource;
  beforeAll(async () => {
    run = await runStack(stack);
    [redis] = run.recorder.ofType(REDIS);
  });

  test("one private, authenticated, encrypted Memorystore for Redis instance", () => {
    expect(run.recorder.ofType(REDIS)).toHaveLength(1);
    expect(redis.inputs).toMatchObject({
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authEnabled: true,
      transitEncryptionMode: "SERVER_AUTHENTICATION",
      redisVersion: "REDIS_7_2",
      redisConfigs: { "maxmemory-policy": "allkeys-lru" },
      persistenceConfig: { persistenceMode: "RDB" },
    });
    expect(String(redis.inputs.authorizedNetwork)).toMatch(/\/global\/networks\/learning-platform-/);
    expect(String(redis.inputs.customerManagedKey)).toMatch(/locations\/us-central1\/keyRings\//);
    expect(redis.additionalSecretOutputs).toContain("authString");
    expect(redis.dependsOn.some((d) => /psa$/.test(d))).toBe(true);
  });

  test("the Memorystore agent gets encrypter/decrypter on the cache's key only, before the instance", () => {
    const grants = run.recorder.ofType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").filter((g) => /redis/.test(String(g.inputs.member)));
    expect(grants).toHaveLength(1);
    expect(grants[0].inputs.cryptoKeyId).toBe(redis.inputs.customerManagedKey);
    expect(redis.dependsOn).toContain(grants[0].name);
  });

  test("the AUTH string goes to Secret Manager as a secret; the manifest carries only the secret id", () => {
    const version = run.recorder.ofType("gcp:secretmanager/secretVersion:SecretVersion").find((v) => /cache-auth/.test(v.name));
    expect(version?.inputs.secretData).toBe(SECRET);
    const manifest = run.outputs.connectionManifest as { cache: Record<string, unknown> };
    expect(manifest.cache).toMatchObject({ port: 6378, ttlSeconds: { l1: 60, l2: 300, l3: 1800 } });
    expect(String(manifest.cache.authSecretId)).toMatch(/secrets\/learning-platform-[a-z]+-cache-auth$/);
    expect(String(manifest.cache.caCert)).toMatch(/BEGIN CERTIFICATE/);
    expect(JSON.stringify(manifest)).not.toContain("mock-auth-string");
  });

  test("maintenance in the hour after the database's window", () => {
    const [primary] = run.recorder.ofType("gcp:sql/databaseInstance:DatabaseInstance").filter((i) => !i.inputs.masterInstanceName);
    const dbWindow = (primary.inputs.settings as { maintenanceWindow: { hour: number } }).maintenanceWindow;
    const window = (redis.inputs.maintenancePolicy as { weeklyMaintenanceWindows: { day: string; startTime: { hours: number } }[] }).weeklyMaintenanceWindows[0];
    expect(window.startTime.hours).toBe((dbWindow.hour + 1) % 24);
  });

  test("one warning and one critical policy per cache signal, on the instance's full name", () => {
    const policies = run.recorder.ofType(POLICY).filter((p) => p.parent === "monitoring-alerts-cache");
    expect(policies).toHaveLength(CACHE_SIGNALS.filter((s) => s.levels).length * 2);
    for (const p of policies) {
      const query = (p.inputs.conditions as { conditionPrometheusQueryLanguage: { query: string } }[])[0].conditionPrometheusQueryLanguage.query;
      expect(query).toContain(`monitored_resource="${REDIS_INSTANCE}"`);
      expect(query).toMatch(/instance_id="projects\/rds-lms\/locations\/us-central1\/instances\/learning-platform-[a-z]+-cache"/);
    }
  });

  test("the stack passes every mandatory policy, the Memorystore ones included", async () => {
    const { findings } = await evaluate(run.recorder.resources, { environment: stack });
    expect(findings.filter((f) => f.level === "mandatory")).toEqual([]);
  });
});

test("prod's cache is STANDARD_HA with read replicas and deletion protection; staging's one Basic node", async () => {
  const prod = (await runStack("prod")).recorder.ofType(REDIS)[0].inputs;
  const staging = (await runStack("staging")).recorder.ofType(REDIS)[0].inputs;
  expect(prod).toMatchObject({ tier: "STANDARD_HA", replicaCount: 2, readReplicasMode: "READ_REPLICAS_ENABLED", deletionProtection: true });
  expect(staging).toMatchObject({ tier: "BASIC", readReplicasMode: "READ_REPLICAS_DISABLED", deletionProtection: false });
  expect(staging.replicaCount).toBeUndefined();
});

test("no cache when lp-db:cacheEnabled is false: no instance, no cache policies, manifest cache null", async () => {
  const run = await runStack("staging", { overrides: { cacheEnabled: false } });
  expect(run.recorder.ofType(REDIS)).toHaveLength(0);
  expect(run.recorder.ofType(POLICY).filter((p) => p.parent === "monitoring-alerts-cache")).toHaveLength(0);
  expect((run.outputs.connectionManifest as { cache: unknown }).cache).toBeNull();
});

describe("cache signals", () => {
  const ctx = { databaseId: "projects/p/locations/r/instances/c", maxConnections: 65_000, logMetrics: {} as never };

  test("the hit ratio is hits over lookups, judged only above the minimum traffic", () => {
    const q = signal("query-cache-hit-ratio").expr(ctx);
    expect(q).toContain("redis_googleapis_com:stats_keyspace_hits");
    expect(q).toContain("redis_googleapis_com:stats_keyspace_misses");
    expect(q).toContain(`and on() ((`);
    expect(q).toMatch(new RegExp(`\\) > ${MIN_CACHE_LOOKUPS_PER_SECOND}\\)$`));
    expect(signal("query-cache-hit-ratio").levels).toMatchObject({ WARNING: { threshold: 0.7 }, CRITICAL: { threshold: 0.5 } });
  });

  test("clients divide by Memorystore's per-node limit; a cache that fell silent counts as zero primaries, one never seen does not", () => {
    expect(signal("cache-clients").expr(ctx)).toMatch(/\/ 65000$/);
    const q = signal("cache-primary").expr(ctx);
    expect(q).not.toContain("vector(0)");
    expect(q).toMatch(/or on\(\) \(0 \* \(absent_over_time\(.*redis_googleapis_com:replication_role.*\) and on\(\) count_over_time\(/);
  });

  test("cache signals apply to the cache only, and no Cloud SQL signal applies to it", () => {
    for (const s of CACHE_SIGNALS) expect(s.roles).toEqual(["cache"]);
  });
});
