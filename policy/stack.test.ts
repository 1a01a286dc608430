/**
 * The whole program (index.ts) under Pulumi mocks, checked by the pack: both
 * stacks pass every mandatory policy, and deliberately bad configurations —
 * through stack config where config/ lets them through, through the
 * registered resources where it does not — each produce the expected violation.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { set, type Inputs } from "../test/harness/inputs";
import { runStack, type RecordedResource } from "../test/harness/stack";
import { TYPES } from "./common";
import { evaluate, formatFindings, type Finding } from "./offline";

const recorded: Record<string, readonly RecordedResource[]> = {};

beforeAll(async () => {
  for (const stack of ["prod", "staging"]) recorded[stack] = (await runStack(stack)).recorder.resources;
});

function messages(findings: readonly Finding[], policy: string): string {
  return findings
    .filter((f) => f.policy === policy)
    .map((f) => `${f.resource?.name ?? "(stack)"}: ${f.message}`)
    .join("\n");
}

describe.each(["prod", "staging"])("stack %s", (stack) => {
  test("passes every mandatory policy", async () => {
    const { mandatory } = await evaluate(recorded[stack], { environment: stack });
    expect(formatFindings(mandatory)).toBe("");
  });

  test("passes every mandatory policy as the engine sees it too (secrets decrypted and unmarked)", async () => {
    const { mandatory } = await evaluate(recorded[stack], { environment: stack, showSecretness: false });
    expect(formatFindings(mandatory)).toBe("");
  });

  test("raises no advisory finding but the known one: prod's critical alerts reach e-mail only until Slack is set", async () => {
    const { findings } = await evaluate(recorded[stack], { environment: stack });
    const advisory = findings.filter((f) => f.level === "advisory");
    expect(advisory.map((f) => f.policy)).toEqual(stack === "prod" ? ["critical-alerts-slack"] : []);
  });

  test("the pack sees what it polices: instances, a bucket, keys, users and alert policies", () => {
    const count = (type: string) => recorded[stack].filter((r) => r.type === type).length;
    expect(count(TYPES.sqlInstance)).toBeGreaterThanOrEqual(2);
    expect(count(TYPES.bucket)).toBeGreaterThanOrEqual(1);
    expect(count(TYPES.cryptoKey)).toBeGreaterThanOrEqual(1);
    expect(count(TYPES.sqlUser)).toBeGreaterThanOrEqual(1);
    expect(count(TYPES.alertPolicy)).toBeGreaterThan(0);
  });
});

test("routing alerts to Slack keeps the bot token secret in state", async () => {
  const { recorder } = await runStack("staging", { overrides: { slackChannel: "#db-alerts" }, secrets: { slackAuthToken: "xoxb-0000-test" } });
  expect(recorder.resources.some((r) => r.type === "gcp:monitoring/notificationChannel:NotificationChannel" && r.plainInputs.type === "slack")).toBe(true);
  const { findings } = await evaluate(recorder.resources, { environment: "staging" });
  expect(messages(findings, "no-plaintext-secrets")).toBe("");
  // Under the engine secretness is invisible; the channel's declared secret output is what passes.
  const engineView = await evaluate(recorder.resources, { environment: "staging", showSecretness: false });
  expect(messages(engineView.findings, "no-plaintext-secrets")).toBe("");
});

test("prod with the recovery drill on passes every mandatory policy (the clone keeps the security baseline)", async () => {
  const { recorder } = await runStack("prod", { overrides: { drillEnabled: true } });
  const clones = recorder.resources.filter((r) => r.type === TYPES.sqlInstance && r.plainInputs.clone);
  expect(clones).toHaveLength(1);
  const { mandatory } = await evaluate(recorder.resources, { environment: "prod" });
  expect(formatFindings(mandatory)).toBe("");
});

test("prod is recognised by its labels when no environment is configured", async () => {
  const withoutHa = recorded.prod.map((r) => edit(r, TYPES.sqlInstance, (i) => !i.masterInstanceName && set(i, "settings.availabilityType", "ZONAL")));
  const { mandatory } = await evaluate(withoutHa);
  expect(messages(mandatory, "cloudsql-prod-protection")).toMatch(/availabilityType is not REGIONAL/);
});

describe("bad stack configurations that config/ accepts", () => {
  test.each([
    ["pointInTimeRecovery", false, "cloudsql-backups", /pointInTimeRecoveryEnabled is not true/],
    ["retainedBackups", 3, "cloudsql-backups", /retainedBackups is 3: keep at least 7/],
    ["transactionLogRetentionDays", 1, "cloudsql-backups", /transactionLogRetentionDays is 1: keep at least 3/],
  ])("staging with %s = %s fails %s", async (key, value, policy, message) => {
    const { recorder } = await runStack("staging", { overrides: { [key]: value } });
    const { mandatory } = await evaluate(recorder.resources, { environment: "staging" });
    expect(messages(mandatory, policy)).toMatch(message);
  });
});

/** Returns `r` with `change` applied to a copy of its inputs when it has `type` (and `change` does not return false). */
function edit(r: RecordedResource, type: string, change: (inputs: Inputs) => unknown, extra: Partial<RecordedResource> = {}): RecordedResource {
  if (r.type !== type) return r;
  const inputs = structuredClone(r.plainInputs);
  if (change(inputs) === false) return r;
  return { ...r, inputs, plainInputs: inputs, ...extra };
}

describe("bad resources the components could register (prod)", () => {
  test.each<[string, string, (i: Inputs) => unknown, Partial<RecordedResource>, string, RegExp]>([
    ["a public IP", TYPES.sqlInstance, (i) => set(i, "settings.ipConfiguration.ipv4Enabled", true), {}, "cloudsql-no-public-ip", /ipv4Enabled is not false/],
    ["an authorized network", TYPES.sqlInstance, (i) => set(i, "settings.ipConfiguration.authorizedNetworks", [{ value: "0.0.0.0/0" }]), {}, "cloudsql-no-public-ip", /admits 0\.0\.0\.0\/0/],
    ["no CMEK", TYPES.sqlInstance, (i) => set(i, "encryptionKeyName", undefined), {}, "cloudsql-cmek", /encryptionKeyName is not set/],
    ["no private network", TYPES.sqlInstance, (i) => set(i, "settings.ipConfiguration.privateNetwork", undefined), {}, "cloudsql-private-network", /privateNetwork is not set/],
    ["plaintext allowed", TYPES.sqlInstance, (i) => set(i, "settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED"), {}, "cloudsql-tls", /sslMode is "ALLOW_UNENCRYPTED_AND_ENCRYPTED"/],
    ["no Cloud SQL deletion protection", TYPES.sqlInstance, (i) => set(i, "settings.deletionProtectionEnabled", false), {}, "cloudsql-prod-protection", /deletionProtectionEnabled is not true/],
    ["statement logging", TYPES.sqlInstance, (i) => set(i, "settings.databaseFlags", []), {}, "cloudsql-cis-flags", /log_statement is not set/],
    ["a versioned locked bucket", TYPES.bucket, (i) => set(i, "versioning", { enabled: true }), {}, "bucket-versioning-or-retention", /both versioning and a retention policy/],
    ["a bucket open to ACLs", TYPES.bucket, (i) => set(i, "uniformBucketLevelAccess", false), {}, "bucket-uniform-access", /uniformBucketLevelAccess is not true/],
    ["a bucket without CMEK", TYPES.bucket, (i) => set(i, "encryption", undefined), {}, "bucket-cmek", /defaultKmsKeyName is not set/],
    ["a bucket that may go public", TYPES.bucket, (i) => set(i, "publicAccessPrevention", "inherited"), {}, "bucket-public-access-prevention", /"inherited"/],
    ["a yearly key rotation", TYPES.cryptoKey, (i) => set(i, "rotationPeriod", "31536000s"), {}, "kms-key-rotation", /rotate at least every 90 days/],
    ["an unprotected key", TYPES.cryptoKey, (i) => set(i, "deletionPolicy", "DELETE"), { protect: false }, "kms-key-protected", /neither the protect option/],
    ["a public bucket grant", "gcp:storage/bucketIAMMember:BucketIAMMember", (i) => set(i, "member", "allUsers"), {}, "iam-no-public-members", /to allUsers/],
    ["a secret without replication", TYPES.secret, (i) => set(i, "replication", {}), {}, "secret-replication", /neither auto nor userManaged/],
    ["a literal password", TYPES.sqlUser, (i) => i.type === "BUILT_IN" || false, { propertyDependencies: {} }, "sql-user-password-source", /does not come from a generated secret/],
  ])("%s fails", async (_what, type, change, extra, policy, message) => {
    expect(recorded.prod.some((r) => r.type === type)).toBe(true);
    const broken = recorded.prod.map((r) => edit(r, type, change, extra));
    const { mandatory } = await evaluate(broken, { environment: "prod" });
    expect(messages(mandatory, policy)).toMatch(message);
  });

  test("an instance without its alert policies fails cloudsql-alert-coverage", async () => {
    const replica = recorded.prod.find((r) => r.type === TYPES.sqlInstance && r.plainInputs.masterInstanceName);
    expect(replica).toBeDefined();
    const replicaName = String(replica?.plainInputs.name);
    const withoutAlerts = recorded.prod.filter((r) => !(r.type === TYPES.alertPolicy && JSON.stringify(r.plainInputs.conditions).includes(`:${replicaName}\\"`)));
    expect(withoutAlerts.length).toBeLessThan(recorded.prod.length);
    const { mandatory } = await evaluate(withoutAlerts, { environment: "prod" });
    expect(messages(mandatory, "cloudsql-alert-coverage")).toMatch(new RegExp(`${replica?.name}" has no alert policy on .*replica_lag`));
  });
});
