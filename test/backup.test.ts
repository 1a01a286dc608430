/**
 * Backup and recovery under Pulumi mocks: the export bucket, the scheduled
 * exports and their IAM (least privilege), the recovery objectives output and
 * the recovery drill, for each stack.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { parseStackConfig, type StackConfig } from "../config";
import { loadStackValues, runProgram, type RecordedResource, type RunResult } from "../lib/mock-runtime";
import { BackupBucket, MIN_STORAGE_DAYS, kmsLocationFor, storageTransitions, type BackupBucketArgs } from "../components/backup-bucket";
import {
  BUCKET_WRITER_ROLE,
  EXPORT_PERMISSIONS,
  EXPORT_RETRY,
  POLL_PERMISSIONS,
  ScheduledExport,
  WORKFLOW_INVOKER_ROLE,
  exportRetryWaitSeconds,
  exportWorkflowSource,
  type ScheduledExportArgs,
} from "../components/scheduled-export";
import { PG_CRON_FLAG, RecoveryDrill, cloneDatabaseFlags, drillTrigger } from "../components/recovery-drill";
import { recoveryObjectivesOf } from "../lib/recovery-objectives";
import { drillArgsWith } from "./harness/drill-args";
import { promiseOf, runStack, SECRET, type MockRecorder } from "./harness/stack";

const DAY = 86_400;
const T = {
  bucket: "gcp:storage/bucket:Bucket",
  keyRing: "gcp:kms/keyRing:KeyRing",
  key: "gcp:kms/cryptoKey:CryptoKey",
  keyMember: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  bucketMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  projectMember: "gcp:projects/iAMMember:IAMMember",
  customRole: "gcp:projects/iAMCustomRole:IAMCustomRole",
  account: "gcp:serviceaccount/account:Account",
  workflow: "gcp:workflows/workflow:Workflow",
  job: "gcp:cloudscheduler/job:Job",
  instance: "gcp:sql/databaseInstance:DatabaseInstance",
  clock: "pulumi-nodejs:dynamic/backup:DrillClock",
  verification: "pulumi-nodejs:dynamic/backup:DrillVerification",
} as const;

const config = (stack: string, overrides: Record<string, unknown> = {}): StackConfig => {
  const v = loadStackValues(stack, overrides);
  return parseStackConfig({ project: v.project, region: v.region, values: v.values });
};

/** Every resource under the component named `root` (children, grandchildren, …). */
function descendants(recorder: MockRecorder, root: string): RecordedResource[] {
  const names = new Set([root]);
  const out: RecordedResource[] = [];
  for (const r of recorder.resources) {
    if (r.parent !== undefined && names.has(r.parent)) {
      names.add(r.name);
      out.push(r);
    }
  }
  return out;
}

const isIam = (r: RecordedResource) => /IAM(Member|Binding|Policy)|iAM(Member|Binding|Policy)/.test(r.type);

const stacks = ["prod", "staging"] as const;
const runs: Record<string, RunResult> = {};

beforeAll(async () => {
  for (const stack of stacks) runs[stack] = await runStack(stack);
  runs["prod+drill"] = await runStack("prod", { overrides: { drillEnabled: true } });
}, 240_000);

describe.each(stacks)("%s: the export bucket", (stack) => {
  const get = (type: string, name: string) => runs[stack].recorder.get(type, name);

  test("location, uniform access, public access prevention, CMEK with the bucket's own key", () => {
    const c = config(stack);
    const bucket = get(T.bucket, "backup-bucket").inputs;
    const key = get(T.key, "backup-key");
    const ring = get(T.keyRing, "backup-keyring").inputs;
    expect(bucket).toMatchObject({
      location: c.backup.bucketLocation.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      forceDestroy: false,
      labels: c.labels,
    });
    expect(ring.location).toBe(kmsLocationFor(c.backup.bucketLocation));
    expect((bucket.encryption as { defaultKmsKeyName: string }).defaultKmsKeyName).toBe(
      `projects/${c.project}/locations/${ring.location}/keyRings/${ring.name}/cryptoKeys/${key.inputs.name}`,
    );
    expect(key.inputs.rotationPeriod).toBe(`${c.encryption.rotationDays * DAY}s`);
    expect(key.inputs.deletionPolicy).toBe("PREVENT");
    expect(key.protect).toBe(true);
  });

  test("retention policy (locked as configured), soft delete, and no object versioning", () => {
    const c = config(stack);
    const bucket = get(T.bucket, "backup-bucket");
    expect(bucket.inputs.retentionPolicy).toEqual({ retentionPeriod: String(c.backup.retentionDays * DAY), isLocked: c.backup.lockRetention });
    expect(bucket.inputs.softDeletePolicy).toEqual({ retentionDurationSeconds: c.backup.softDeleteDays * DAY });
    expect(bucket.inputs.versioning).toEqual({ enabled: false });
    expect(bucket.protect).toBe(c.backup.lockRetention);
  });

  test("lifecycle: colder classes by age (only where the minimum storage duration fits), delete at the retention period", () => {
    const c = config(stack);
    const rules = get(T.bucket, "backup-bucket").inputs.lifecycleRules as { action: { type: string; storageClass?: string }; condition: { age: number } }[];
    expect(rules).toEqual([
      ...storageTransitions(c.backup.retentionDays).map((t) => ({
        action: { type: "SetStorageClass", storageClass: t.storageClass },
        condition: { age: t.ageDays },
      })),
      { action: { type: "Delete" }, condition: { age: c.backup.retentionDays } },
    ]);
    for (const rule of rules.filter((r) => r.action.type === "SetStorageClass")) {
      const cls = rule.action.storageClass as keyof typeof MIN_STORAGE_DAYS;
      expect(c.backup.retentionDays - rule.condition.age).toBeGreaterThanOrEqual(MIN_STORAGE_DAYS[cls]);
    }
  });

  test("the Cloud Storage service agent may use the bucket's key, and only that key; the bucket waits for the grant", () => {
    const grant = get(T.keyMember, "backup-storage-agent-key");
    expect(grant.inputs).toEqual({
      cryptoKeyId: (get(T.bucket, "backup-bucket").inputs.encryption as { defaultKmsKeyName: string }).defaultKmsKeyName,
      role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      member: "serviceAccount:service-123456789@gs-project-accounts.iam.gserviceaccount.com",
    });
    const storageAgentGrants = runs[stack].recorder.ofType(T.keyMember).filter((r) => String(r.inputs.member).includes("gs-project-accounts"));
    expect(storageAgentGrants.map((r) => r.name)).toEqual(["backup-storage-agent-key"]);
    expect(get(T.bucket, "backup-bucket").dependsOn).toContain("backup-storage-agent-key");
  });
});

describe.each(stacks)("%s: scheduled exports", (stack) => {
  const get = (type: string, name: string) => runs[stack].recorder.get(type, name);

  test("Cloud Scheduler starts the export workflow on the configured schedule, as the trigger account", () => {
    const c = config(stack);
    // Outside the 03:00–07:00 UTC automated backup window.
    expect([c.backup.exportSchedule, c.backup.exportTimeZone]).toEqual(["0 23 * * *", "Etc/UTC"]);
    const job = get(T.job, "backup-export-job").inputs;
    const workflow = get(T.workflow, "backup-export-workflow").inputs;
    expect(job).toMatchObject({ schedule: c.backup.exportSchedule, timeZone: c.backup.exportTimeZone, region: c.region });
    expect(job.httpTarget).toMatchObject({
      httpMethod: "POST",
      uri: `https://workflowexecutions.googleapis.com/v1/projects/${c.project}/locations/${c.region}/workflows/${workflow.name}/executions`,
      oauthToken: {
        serviceAccountEmail: `db-${stack}-export-trg@${c.project}.iam.gserviceaccount.com`,
        scope: "https://www.googleapis.com/auth/cloud-platform",
      },
    });
    expect(get(T.job, "backup-export-job").dependsOn).toContain("backup-export-trigger-invoker");
  });

  test("the workflow runs as its own account and exports each database, serverless, to a timestamped object", () => {
    const c = config(stack);
    const workflow = get(T.workflow, "backup-export-workflow").inputs;
    expect(workflow.serviceAccount).toBe(`db-${stack}-export-run@${c.project}.iam.gserviceaccount.com`);
    const source = JSON.parse(String(workflow.sourceContents));
    const loop = source.main.steps[1].exportEach.for;
    expect(loop.in).toEqual(c.backup.exportDatabases);
    const call = loop.steps[0].export.try;
    expect(call.call).toBe("googleapis.sqladmin.v1.instances.export");
    expect(call.args).toMatchObject({ project: c.project, instance: `${c.namePrefix}-${stack}` });
    expect(call.args.body.exportContext).toEqual({
      fileType: "SQL",
      offload: true,
      databases: ["${db}"],
      uri: `\${"gs://${c.project}-${c.namePrefix}-${stack}-exports/exports/" + db + "/" + stamp + ".sql.gz"}`,
    });
  });

  test("least privilege: exactly these grants, each on one resource except where GCP has no resource-level IAM", () => {
    const c = config(stack);
    const recorder = runs[stack].recorder;
    const backupIam = [...descendants(recorder, "backup"), ...descendants(recorder, "backup-export")].filter(isIam);
    const grants = backupIam.map((r) => ({
      name: r.name,
      type: r.type,
      role: r.inputs.role,
      on: r.inputs.cryptoKeyId ? "key" : r.inputs.bucket ? `bucket ${String(r.inputs.bucket)}` : `project ${String(r.inputs.project)}`,
      condition: (r.inputs.condition as { expression?: string } | undefined)?.expression ?? null,
    }));
    const instance = `${c.namePrefix}-${stack}`;
    expect(grants.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "backup-export-runner-export", type: T.projectMember, role: `projects/${c.project}/roles/lpDb_${stack}CloudSqlExport`, on: `project ${c.project}`, condition: `resource.type == "sqladmin.googleapis.com/Instance" && resource.name == "projects/${c.project}/instances/${instance}"` },
      // operations.get is authorised on the project: an instance condition here would 403 the poll mid-export.
      { name: "backup-export-runner-poll", type: T.projectMember, role: `projects/${c.project}/roles/lpDb_${stack}CloudSqlExportPoll`, on: `project ${c.project}`, condition: null },
      { name: "backup-export-sql-writer", type: T.bucketMember, role: BUCKET_WRITER_ROLE, on: `bucket ${c.project}-${instance}-exports`, condition: null },
      { name: "backup-export-trigger-invoker", type: T.projectMember, role: WORKFLOW_INVOKER_ROLE, on: `project ${c.project}`, condition: null },
      { name: "backup-storage-agent-key", type: T.keyMember, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", on: "key", condition: null },
    ]);
    expect(get(T.customRole, "backup-export-export-role").inputs.permissions).toEqual([...EXPORT_PERMISSIONS]);
    expect(get(T.customRole, "backup-export-poll-role").inputs.permissions).toEqual([...POLL_PERMISSIONS]);
    // The conditioned role holds export only; the unconditioned one only the read that polling needs.
    expect(EXPORT_PERMISSIONS).toEqual(["cloudsql.instances.export"]);
    expect(POLL_PERMISSIONS).toEqual(["cloudsql.instances.get"]);
  });

  test("Cloud SQL's own service account writes the export files: object create on the bucket, nothing more", () => {
    const writer = get(T.bucketMember, "backup-export-sql-writer").inputs;
    const primaryAccount = "p123456789-abcd@gcp-sa-cloud-sql.iam.gserviceaccount.com";
    expect(writer).toMatchObject({ role: "roles/storage.objectCreator", member: `serviceAccount:${primaryAccount}` });
    const elsewhere = runs[stack].recorder.resources.filter((r) => isIam(r) && String(r.inputs.member ?? "").includes(primaryAccount));
    expect(elsewhere.map((r) => r.name)).toEqual(["backup-export-sql-writer"]);
  });
});

describe.each(stacks)("%s: ordering", (stack) => {
  test.each([
    ["backup-keyring", T.keyRing, ["db-services-storage", "db-services-cloudkms"]],
    ["backup-bucket", T.bucket, ["db-services-storage", "backup-storage-agent-key"]],
    ["backup-export-runner", T.account, ["db-services-iam"]],
    ["backup-export-export-role", T.customRole, ["db-services-iam"]],
    ["backup-export-poll-role", T.customRole, ["db-services-iam"]],
    ["backup-export-workflow", T.workflow, ["db-services-workflows"]],
    ["backup-export-job", T.job, ["db-services-cloudscheduler", "backup-export-trigger-invoker"]],
    ["backup-export-sql-writer", T.bucketMember, ["db-services-storage"]],
  ] as const)("%s waits for %s's prerequisites", (name, type, prerequisites) => {
    expect(runs[stack].recorder.get(type, name).dependsOn).toEqual(expect.arrayContaining([...prerequisites]));
  });
});

describe.each(stacks)("%s: recovery objectives output", (stack) => {
  test("the settings that determine RPO and RTO, from the stack config", () => {
    const c = config(stack);
    expect(runs[stack].outputs.recoveryObjectives).toEqual({
      backupStartTime: c.instance.backup.startTime,
      retainedBackups: c.instance.backup.retainedBackups,
      pointInTimeRecovery: c.instance.backup.pointInTimeRecovery,
      transactionLogRetentionDays: c.instance.backup.transactionLogRetentionDays,
      backupLocation: c.instance.backup.location ?? "",
      export: {
        schedule: c.backup.exportSchedule,
        timeZone: c.backup.exportTimeZone,
        retentionDays: c.backup.retentionDays,
        bucketLocation: c.backup.bucketLocation,
      },
      rpoWithoutPitrHours: 24,
      rtoTargetMinutes: 30,
    });
  });
});

describe("recovery objectives come from the instance's declared settings", () => {
  const exports = { schedule: "0 3 * * *", timeZone: "Etc/UTC", retentionDays: 7, bucketLocation: "US-CENTRAL1" };
  test.each([
    ["PITR on", { enabled: true, pointInTimeRecoveryEnabled: true, startTime: "02:00", transactionLogRetentionDays: 7, backupRetentionSettings: { retainedBackups: 9 }, location: "us" }, { pointInTimeRecovery: true, retainedBackups: 9, backupStartTime: "02:00", backupLocation: "us" }],
    ["backups off", { enabled: false, pointInTimeRecoveryEnabled: true, startTime: "02:00", transactionLogRetentionDays: 7, backupRetentionSettings: { retainedBackups: 9 } }, { pointInTimeRecovery: false, backupLocation: "" }],
    ["PITR off", { enabled: true, pointInTimeRecoveryEnabled: false, startTime: "04:30", transactionLogRetentionDays: 1, backupRetentionSettings: { retainedBackups: 7 } }, { pointInTimeRecovery: false, transactionLogRetentionDays: 1 }],
  ])("%s", async (_what, backupConfiguration, expected) => {
    const settings = { backupConfiguration } as unknown as Parameters<typeof recoveryObjectivesOf>[0];
    expect(await promiseOf(recoveryObjectivesOf(settings, exports))).toMatchObject({ ...expected, export: exports, rtoTargetMinutes: 30 });
  });
});

describe("retention and lifecycle per stack", () => {
  test.each([
    ["prod", { location: "NAM4", kms: "us", retentionSeconds: 35 * DAY, locked: true, softDeleteSeconds: 30 * DAY, deleteAge: 35, classes: [] }],
    ["staging", { location: "US-CENTRAL1", kms: "us-central1", retentionSeconds: 7 * DAY, locked: false, softDeleteSeconds: 7 * DAY, deleteAge: 7, classes: [] }],
  ] as const)("%s", (stack, expected) => {
    const r = runs[stack].recorder;
    const bucket = r.get(T.bucket, "backup-bucket").inputs;
    const rules = bucket.lifecycleRules as { action: { type: string; storageClass?: string }; condition: { age: number } }[];
    expect({
      location: bucket.location,
      kms: r.get(T.keyRing, "backup-keyring").inputs.location,
      retentionSeconds: Number((bucket.retentionPolicy as { retentionPeriod: string }).retentionPeriod),
      locked: (bucket.retentionPolicy as { isLocked: boolean }).isLocked,
      softDeleteSeconds: (bucket.softDeletePolicy as { retentionDurationSeconds: number }).retentionDurationSeconds,
      deleteAge: rules.find((x) => x.action.type === "Delete")?.condition.age,
      classes: rules.filter((x) => x.action.type === "SetStorageClass").map((x) => x.action.storageClass),
    }).toEqual(expected);
  });

  test.each([
    [7, []],
    [59, []],
    [60, [["NEARLINE", 30]]],
    [180, [["NEARLINE", 30], ["COLDLINE", 90]]],
    [730, [["NEARLINE", 30], ["COLDLINE", 90], ["ARCHIVE", 365]]],
  ] as const)("retention %i days moves to %j", (days, expected) => {
    expect(storageTransitions(days).map((t) => [t.storageClass, t.ageDays])).toEqual(expected);
  });

  test.each([
    ["NAM4", "us"],
    ["EUR4", "eu"],
    ["US", "us"],
    ["us-central1", "us-central1"],
    ["US-EAST1", "us-east1"],
    ["MARS", undefined],
  ])("a bucket in %s needs its key in %s", (location, kms) => {
    expect(kmsLocationFor(location)).toBe(kms);
  });
});

describe("the recovery drill", () => {
  test.each(stacks)("%s: no drill resources unless lp-db:drillEnabled", (stack) => {
    const r = runs[stack].recorder;
    expect(r.resources.filter((x) => x.type.startsWith("lp:backup:RecoveryDrill") || x.type.includes("dynamic/backup"))).toEqual([]);
    expect(r.ofType(T.instance).filter((x) => "clone" in x.inputs)).toEqual([]);
    expect(runs[stack].outputs.recoveryDrill).toBeNull();
  });

  test("enabled: an isolated, private, CMEK, unprotected clone of the primary, then the verification", () => {
    const c = config("prod", { drillEnabled: true });
    const r = runs["prod+drill"].recorder;
    const drill = descendants(r, "recovery-drill");
    expect(drill.map((x) => `${x.type} ${x.name}`).sort()).toEqual([
      `${T.instance} recovery-drill-clone`,
      `${T.clock} recovery-drill-clock`,
      `${T.verification} recovery-drill-verification`,
    ]);
    const clone = r.get(T.instance, "recovery-drill-clone");
    const primary = r.get(T.instance, "db-primary-instance");
    expect(clone.inputs.clone).toEqual({ sourceInstanceName: `${c.namePrefix}-prod`, allocatedIpRange: expect.any(String) });
    expect(clone.inputs.deletionProtection).toBe(false);
    expect(clone.inputs.encryptionKeyName).toBe(primary.inputs.encryptionKeyName);
    expect(clone.inputs.databaseVersion).toBe(primary.inputs.databaseVersion);
    expect(clone.inputs.settings).toMatchObject({
      tier: c.instance.tier,
      availabilityType: "ZONAL",
      deletionProtectionEnabled: false,
      backupConfiguration: { enabled: false },
      ipConfiguration: {
        ipv4Enabled: false,
        sslMode: (primary.inputs.settings as { ipConfiguration: { sslMode: string } }).ipConfiguration.sslMode,
        privateNetwork: (primary.inputs.settings as { ipConfiguration: { privateNetwork: string } }).ipConfiguration.privateNetwork,
      },
      userLabels: { ...c.labels, purpose: "recovery-drill" },
    });
    const primarySettings = primary.inputs.settings as Record<string, unknown>;
    expect((primarySettings.databaseFlags as unknown[]).length).toBeGreaterThan(0);
    // The primary's flags, except pg_cron: off, so no scheduled job changes the clone while it is verified.
    const primaryFlags = primarySettings.databaseFlags as { name: string; value: string }[];
    expect(primaryFlags).toContainEqual({ name: PG_CRON_FLAG, value: "on" });
    const cloneFlags = (clone.inputs.settings as { databaseFlags: { name: string; value: string }[] }).databaseFlags;
    expect(cloneFlags.filter((f) => f.name === PG_CRON_FLAG)).toEqual([{ name: PG_CRON_FLAG, value: "off" }]);
    expect(cloneFlags.filter((f) => f.name !== PG_CRON_FLAG)).toEqual(primaryFlags.filter((f) => f.name !== PG_CRON_FLAG));
    // In the stack's project (not the provider's default), named after the clock that timed it.
    expect(clone.inputs.project).toBe(c.project);
    expect(clone.inputs.name).toBe(`${c.namePrefix}-prod-recovery-drill-clock-id`);
    expect(clone.inputs.settings).toMatchObject({
      maintenanceWindow: primarySettings.maintenanceWindow,
      insightsConfig: primarySettings.insightsConfig,
    });
    expect(clone.protect).toBe(false);
    expect(clone.dependsOn).toContain("recovery-drill-clock");
    // The clone is a new instance: nothing in the drill is a replica of, or writes to, the primary.
    expect(clone.inputs.masterInstanceName).toBeUndefined();
  });

  test("the verification gets the clone's address and credentials as a secret, the checks and the 30-minute target", () => {
    const r = runs["prod+drill"].recorder;
    const v = r.get(T.verification, "recovery-drill-verification");
    expect(v.dependsOn).toContain("recovery-drill-clone");
    expect(v.inputs.target).toBe(SECRET);
    expect(v.additionalSecretOutputs).toContain("target");
    const target = v.plainInputs.target as { host: string; user: string; password: string; database: string; serverCa: string };
    expect(target).toMatchObject({ user: "lp_migrator", database: "learning_platform", host: expect.stringMatching(/^10\./) });
    expect(target.serverCa).toContain("BEGIN CERTIFICATE");
    expect(JSON.stringify(v.inputs)).not.toContain(target.password);
    expect(v.inputs).toMatchObject({
      rowBounds: { users: { min: 1 }, courses: { min: 1 }, enrollments: { min: 1 } },
      partitionedTables: ["analytics_events", "audit_log"],
      partitionMonthsAhead: 3,
      pointInTime: "",
      targetMinutes: 30,
    });
    // The head the migrations resource reports for the primary, and the clone waits for that resource.
    expect(v.inputs.expectedLedgerHead).toBe((runs["prod+drill"].outputs.schema as { ledgerHead: string }).ledgerHead);
    const clone = r.get(T.instance, "recovery-drill-clone");
    expect(clone.dependsOn).toEqual(expect.arrayContaining(["db-schema", "db-keys-us-central1-sqladmin-encrypter", "db-access-database", "recovery-drill-clock"]));
  });

  test("the drill never changes the primary: its inputs are the same with and without the drill", () => {
    const without = runs.prod.recorder.get(T.instance, "db-primary-instance");
    const withDrill = runs["prod+drill"].recorder.get(T.instance, "db-primary-instance");
    expect(withDrill.inputs).toEqual(without.inputs);
    const names = (run: RunResult) => run.recorder.resources.map((x) => `${x.type} ${x.name}`);
    const added = names(runs["prod+drill"]).filter((n) => !names(runs.prod).includes(n));
    expect(added.sort()).toEqual(
      [`lp:backup:RecoveryDrill recovery-drill`, `${T.instance} recovery-drill-clone`, `${T.clock} recovery-drill-clock`, `${T.verification} recovery-drill-verification`].sort(),
    );
  });

  test("a point in time reaches the clone and the clock (so a new point restarts the clock)", async () => {
    const { recorder } = await runStack("staging", { overrides: { drillEnabled: true, drillPointInTime: "2026-11-20T03:15:00Z" } });
    expect((recorder.get(T.instance, "recovery-drill-clone").inputs.clone as { pointInTime: string }).pointInTime).toBe("2026-11-20T03:15:00Z");
    expect(recorder.get(T.clock, "recovery-drill-clock").inputs.trigger).toMatch(/^learning-platform-staging@2026-11-20T03:15:00Z# /);
    expect(recorder.get(T.verification, "recovery-drill-verification").inputs.pointInTime).toBe("2026-11-20T03:15:00Z");
  });
});

describe("recovery drill: clone settings and clock", () => {
  test("the clone takes the primary's SSL mode (client certificates required stays required)", async () => {
    const { recorder } = await runStack("staging", { overrides: { drillEnabled: true, sslMode: "TRUSTED_CLIENT_CERTIFICATE_REQUIRED", migrationConnection: "connector" } });
    const sslOf = (name: string) => (recorder.get(T.instance, name).inputs.settings as { ipConfiguration: { sslMode: string } }).ipConfiguration.sslMode;
    expect(sslOf("db-primary-instance")).toBe("TRUSTED_CLIENT_CERTIFICATE_REQUIRED");
    expect(sslOf("recovery-drill-clone")).toBe("TRUSTED_CLIENT_CERTIFICATE_REQUIRED");
  });

  test("pg_cron is turned off on the clone even when the primary has no flags", () => {
    expect(cloneDatabaseFlags(undefined)).toEqual([{ name: PG_CRON_FLAG, value: "off" }]);
    expect(cloneDatabaseFlags([{ name: "work_mem", value: "65536" }, { name: PG_CRON_FLAG, value: "on" }])).toEqual([
      { name: "work_mem", value: "65536" },
      { name: PG_CRON_FLAG, value: "off" },
    ]);
  });

  const base = {
    project: "p",
    region: "us-central1",
    source: "lp-prod",
    runId: "",
    databaseVersion: "POSTGRES_18",
    encryptionKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
    allocatedIpRange: "range-a",
  };
  test.each<[string, Partial<typeof base> & { pointInTime?: string }]>([
    ["a new run id (repeat the drill)", { runId: "2026-11-26" }],
    ["a point in time", { pointInTime: "2026-11-20T03:15:00Z" }],
    ["another project", { project: "q" }],
    ["another region", { region: "europe-west1" }],
    ["another database version", { databaseVersion: "POSTGRES_17" }],
    ["another key", { encryptionKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k2" }],
    ["another IP range", { allocatedIpRange: "range-b" }],
  ])("the clock restarts for %s (anything that makes a new clone)", (_what, change) => {
    expect(drillTrigger({ ...base, ...change })).not.toBe(drillTrigger(base));
  });

  test("a run id reaches the clock's trigger", async () => {
    const { recorder } = await runProgram({ stack: "staging", load: () => (new RecoveryDrill("d", drillArgsWith({ runId: "second" })), {}) });
    expect(recorder.get(T.clock, "d-clock").inputs.trigger).toMatch(/^learning-platform-prod@latest#second /);
  });
});

describe("inventory", () => {
  test.each([
    ["prod", { bucket: 1, keyRing: 1, key: 1, keyMember: 1, bucketMember: 1, projectMember: 3, customRole: 2, account: 2, workflow: 1, job: 1 }],
    ["staging", { bucket: 1, keyRing: 1, key: 1, keyMember: 1, bucketMember: 1, projectMember: 3, customRole: 2, account: 2, workflow: 1, job: 1 }],
  ] as const)("%s: backup resources by type", (stack, expected) => {
    const r = runs[stack].recorder;
    const mine = [...descendants(r, "backup"), ...descendants(r, "backup-export")];
    const counts = Object.fromEntries(
      Object.entries(T)
        .map(([k, type]) => [k, mine.filter((x) => x.type === type).length] as const)
        .filter(([, n]) => n > 0),
    );
    expect(counts).toEqual(expected);
  });
});

describe("argument validation", () => {
  const bucketArgs: BackupBucketArgs = {
    bucketName: "lp-test-exports",
    location: "US-CENTRAL1",
    retentionDays: 30,
    lockRetention: false,
    softDeleteDays: 7,
    labels: {},
    keyRotationDays: 90,
  };
  const exportArgs: ScheduledExportArgs = {
    project: "rds-lms",
    region: "us-central1",
    instanceName: "lp-test",
    instanceServiceAccountEmail: "sa@gcp-sa-cloud-sql.iam.gserviceaccount.com",
    bucketName: "lp-test-exports",
    databases: ["learning_platform"],
    schedule: "0 3 * * *",
    timeZone: "Etc/UTC",
    accountIdPrefix: "db-test",
    roleIdPrefix: "lpDbTest",
    labels: {},
  };
  const drillArgs = drillArgsWith({ sourceInstanceName: "lp-test", password: "test-only" });
  const build = (fn: () => void) => runProgram({ stack: "staging", load: () => (fn(), {}) });

  test.each<[string, () => void, RegExp]>([
    ["unknown bucket location", () => new BackupBucket("b", { ...bucketArgs, location: "MOON1" }), /location "MOON1" is not a Cloud Storage region, predefined dual-region \(NAM4/],
    ["bad bucket name", () => new BackupBucket("b", { ...bucketArgs, bucketName: "Backups!" }), /bucketName "Backups!" must be 3–63 lowercase/],
    ["soft delete out of range", () => new BackupBucket("b", { ...bucketArgs, softDeleteDays: 3 }), /softDeleteDays 3 must be 7–90/],
    ["retention of zero days", () => new BackupBucket("b", { ...bucketArgs, retentionDays: 0 }), /retentionDays 0 must be a whole number of days/],
    ["yearly key rotation", () => new BackupBucket("b", { ...bucketArgs, keyRotationDays: 365 }), /keyRotationDays 365 must be 1 to 90/],
    ["existing key in the wrong location", () => new BackupBucket("b", { ...bucketArgs, location: "NAM4", existingKeyId: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k" }), /existingKeyId .* is not in location "us", where a key for a bucket in NAM4 must be/],
    ["no database to export", () => new ScheduledExport("e", { ...exportArgs, databases: [] }), /databases must name at least one database/],
    ["service account prefix too long", () => new ScheduledExport("e", { ...exportArgs, accountIdPrefix: "learning-platform-staging" }), /accountIdPrefix "learning-platform-staging" must be 3–19/],
    ["bad role id prefix", () => new ScheduledExport("e", { ...exportArgs, roleIdPrefix: "lp-db" }), /roleIdPrefix "lp-db" must be letters, digits or underscores/],
    ["point in time not RFC3339 UTC", () => new RecoveryDrill("d", { ...drillArgs, pointInTime: "2026-11-20 03:15" }), /pointInTime "2026-11-20 03:15" must be an RFC3339 UTC timestamp/],
    ["bad run id", () => new RecoveryDrill("d", { ...drillArgs, runId: "Run 2!" }), /runId "Run 2!" must be at most 20 lowercase letters/],
    ["point in time in the future", () => new RecoveryDrill("d", { ...drillArgs, pointInTime: "2999-01-01T00:00:00Z" }), /pointInTime "2999-01-01T00:00:00Z" is in the future/],
  ])("%s", async (_what, fn, message) => {
    await expect(build(fn)).rejects.toThrow(message);
  });

  test("an existing key in the right location is used instead of creating one", async () => {
    const keyId = "projects/p/locations/us/keyRings/r/cryptoKeys/k";
    const { recorder } = await build(() => new BackupBucket("b", { ...bucketArgs, location: "NAM4", existingKeyId: keyId }));
    expect(recorder.ofType(T.key)).toEqual([]);
    expect(recorder.get(T.keyMember, "b-storage-agent-key").inputs.cryptoKeyId).toBe(keyId);
    expect((recorder.get(T.bucket, "b-bucket").inputs.encryption as { defaultKmsKeyName: string }).defaultKmsKeyName).toBe(keyId);
  });

  test("the workflow source exports one file per database", () => {
    const src = JSON.parse(exportWorkflowSource({ project: "p", instance: "i", bucket: "b", databases: ["a", "c"], objectPrefix: "x" }));
    expect(src.main.steps[1].exportEach.for.in).toEqual(["a", "c"]);
    expect(src.main.steps[1].exportEach.for.steps[0].export.try.args.body.exportContext.uri).toBe('${"gs://b/x/" + db + "/" + stamp + ".sql.gz"}');
  });

  test("an export refused because another operation runs on the instance (HTTP 409) is retried with bounded backoff; nothing else is", () => {
    const src = JSON.parse(exportWorkflowSource({ project: "p", instance: "i", bucket: "b", databases: ["a"], objectPrefix: "x" }));
    const step = src.main.steps[1].exportEach.for.steps[0].export;
    expect(step.try.call).toBe("googleapis.sqladmin.v1.instances.export");
    expect(step.retry.predicate).toBe("${operation_in_progress}");
    expect(step.retry.max_retries).toBe(EXPORT_RETRY.maxRetries);
    expect(step.retry.backoff).toEqual({ initial_delay: EXPORT_RETRY.initialDelaySeconds, max_delay: EXPORT_RETRY.maxDelaySeconds, multiplier: EXPORT_RETRY.multiplier });
    // Bounded: the last attempt starts within the backup window's length, so a backup that holds the instance is waited out once.
    expect(exportRetryWaitSeconds()).toBeGreaterThanOrEqual(3600);
    expect(exportRetryWaitSeconds()).toBeLessThanOrEqual(4 * 3600);
    const predicate = src.operation_in_progress;
    expect(predicate.params).toEqual(["e"]);
    expect(predicate.steps[0].check.switch).toEqual([{ condition: '${"code" in e and e.code == 409}', return: true }]);
    expect(predicate.steps[1]).toEqual({ otherwise: { return: false } });
  });
});
