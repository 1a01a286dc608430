/**
 * Committed per-stack inventories: the count of every resource type the program
 * registers and the key values of the database tier. A change to either fails
 * here until the snapshot is updated on purpose:
 *
 *   npx vitest run test/inventory.test.ts -u
 *
 * and the diff of test/inventory/<stack>.json is reviewed with the change.
 *
 * Beside it, test/inventory/<stack>.plan.json is the whole offline plan
 * (`npm run plan -- --stack <stack> --json`), so a refactor that should change
 * nothing proves it, and any change to a resource's inputs shows in review.
 * Long texts (the migrations' SQL) stand there as their sha256 and length.
 */
import { createHash } from "crypto";
import { describe, expect, test } from "vitest";
import type { RecordedResource } from "../lib/mock-runtime";
import { plan } from "./harness/plan";
import { runStack } from "./harness/stack";

/** Strings longer than this are recorded by digest: the SQL of every migration would bury the diff. */
const LONG_TEXT_CHARS = 2000;

/** The plan with long strings replaced by their digest. */
function reviewable(value: unknown): unknown {
  if (typeof value === "string" && value.length > LONG_TEXT_CHARS) {
    return `sha256:${createHash("sha256").update(value).digest("hex")} (${value.length} chars)`;
  }
  if (Array.isArray(value)) return value.map(reviewable);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reviewable(v)]));
  return value;
}

type Settings = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function instanceSummary(r: RecordedResource) {
  const s = r.inputs.settings as Settings;
  const flags = Object.fromEntries((s.databaseFlags as { name: string; value: string }[]).map((f) => [f.name, f.value]));
  return {
    name: r.inputs.name,
    region: r.inputs.region,
    instanceType: r.inputs.instanceType ?? "CLOUD_SQL_INSTANCE",
    databaseVersion: r.inputs.databaseVersion,
    edition: s.edition,
    tier: s.tier,
    availabilityType: s.availabilityType ?? null,
    kmsLocation: /\/locations\/([^/]+)\//.exec(String(r.inputs.encryptionKeyName))?.[1] ?? null,
    ipv4Enabled: s.ipConfiguration.ipv4Enabled,
    sslMode: s.ipConfiguration.sslMode,
    deletionProtection: [r.protect, r.inputs.deletionProtection, s.deletionProtectionEnabled],
    backups: s.backupConfiguration
      ? {
          pointInTimeRecovery: s.backupConfiguration.pointInTimeRecoveryEnabled,
          transactionLogRetentionDays: s.backupConfiguration.transactionLogRetentionDays,
          retainedBackups: s.backupConfiguration.backupRetentionSettings.retainedBackups,
          finalBackupDays: s.finalBackupConfig?.retentionDays ?? null,
        }
      : null,
    maxConnections: Number(flags.max_connections),
    flagCount: Object.keys(flags).length,
    pooling: Object.fromEntries(((s.connectionPoolConfigs?.[0]?.flags ?? []) as { name: string; value: string }[]).map((f) => [f.name, f.value])),
    dependsOn: r.dependsOn.filter((d) => /psa$|encrypter$|sqladmin$/.test(d)).sort(),
  };
}

/** How many alert policies, and the signals whose conditions skip metric validation (only those on log-based metrics may). */
function alertPolicySummary(policies: readonly RecordedResource[]) {
  const skipping = policies.filter(
    (p) => (p.inputs.conditions as { conditionPrometheusQueryLanguage: { disableMetricValidation?: boolean } }[])[0].conditionPrometheusQueryLanguage.disableMetricValidation === true,
  );
  return {
    total: policies.length,
    metricValidationDisabled: [...new Set(skipping.map((p) => (p.inputs.userLabels as Record<string, string>).signal))].sort(),
  };
}

describe.each(["prod", "staging"])("inventory of %s", (stack) => {
  test("the offline plan matches the committed plan", async () => {
    const run = await plan(["--stack", stack, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const rows = JSON.parse(run.stdout) as unknown;
    await expect(`${JSON.stringify(reviewable(rows), null, 2)}\n`).toMatchFileSnapshot(`inventory/${stack}.plan.json`);
  });

  test("matches the committed snapshot", async () => {
    const { recorder, outputs } = await runStack(stack);
    const resources = recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const counts: Record<string, number> = {};
    for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    const manifest = outputs.connectionManifest as Settings;
    const inventory = {
      stack,
      total: resources.length,
      resourceCounts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))),
      instances: Object.fromEntries(
        recorder
          .ofType("gcp:sql/databaseInstance:DatabaseInstance")
          .map((r) => [r.name, instanceSummary(r)] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      ),
      kmsKeys: recorder
        .ofType("gcp:kms/cryptoKey:CryptoKey")
        .map((k) => ({ name: k.inputs.name, rotationPeriod: k.inputs.rotationPeriod, protect: k.protect }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name))),
      alertPolicies: alertPolicySummary(recorder.ofType("gcp:monitoring/alertPolicy:AlertPolicy")),
      apis: recorder
        .ofType("gcp:projects/service:Service")
        .map((s) => s.inputs.service)
        .sort(),
      connectionManifest: {
        databaseName: manifest.databaseName,
        replicaWeights: Object.fromEntries(Object.entries(manifest.replicas as Settings).map(([n, r]) => [n, r.readWeight])),
        pools: manifest.pools,
        clientCapacity: manifest.clientCapacity,
        migrationUser: manifest.migrationUser,
        iamLogins: manifest.iamLogins,
      },
    };
    await expect(`${JSON.stringify(inventory, null, 2)}\n`).toMatchFileSnapshot(`./inventory/${stack}.json`);
  });
});
