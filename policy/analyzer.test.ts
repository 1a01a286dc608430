/**
 * The pack as the Pulumi CLI runs it: @pulumi/pulumi's policy-pack runner loads
 * policy/ (package.json, index.ts through ts-node with type checking) and serves
 * the analyzer gRPC protocol. The test speaks that protocol the way the engine
 * does: analyzer info, then Analyze and AnalyzeStack on protobuf properties with
 * the engine's unknown and secret encodings.
 */
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "../lib/mock-runtime";
import { TYPES } from "./common";
import { UNKNOWN_VALUE } from "./offline";
import { PACK_NAME, policies } from "./policies";

// Untyped protocol modules of @pulumi/pulumi and its gRPC/protobuf dependencies.
/* eslint-disable @typescript-eslint/no-explicit-any */
const grpc = require("@grpc/grpc-js") as any;
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as any;
const pb = require("@pulumi/pulumi/proto/analyzer_pb") as any;
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as any;
const { Empty } = require("google-protobuf/google/protobuf/empty_pb") as any;
const rpc = require("@pulumi/pulumi/runtime/rpc") as { specialSigKey: string; specialSecretSig: string };

let pack: ChildProcess;
let client: any;
let stderr = "";

/** Starts the runner the way the CLI's Node.js host does: cwd is the pack, the program is ".". */
beforeAll(async () => {
  const runner = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
  pack = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
  pack.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    pack.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^(\d+)\s*$/m.exec(out);
      if (match) resolve(match[1]);
    });
    pack.on("exit", (code) => reject(new Error(`policy pack exited with ${code}:\n${out}\n${stderr}`)));
  });
  client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
  client?.close();
  pack?.kill();
});

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

function options(extra: { protect?: boolean; secretOutputs?: string[] } = {}): any {
  const opts = new pb.AnalyzerResourceOptions();
  opts.setProtect(extra.protect ?? false);
  opts.setAdditionalsecretoutputsList(extra.secretOutputs ?? []);
  return opts;
}

const urnOf = (type: string, name: string) => `urn:pulumi:prod::lp-db::${type}::${name}`;

async function analyze(type: string, name: string, props: Record<string, unknown>, extra: { protect?: boolean; secretOutputs?: string[] } = {}) {
  const req = new pb.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(urnOf(type, name));
  req.setProperties(Struct.fromJavaScript(props));
  req.setOptions(options(extra));
  const res = await call<any>("analyze", req);
  return (res.getDiagnosticsList() as any[]).map((d) => ({
    policy: d.getPolicyname() as string,
    message: d.getMessage() as string,
    level: Object.keys(pb.EnforcementLevel).find((k) => pb.EnforcementLevel[k] === d.getEnforcementlevel()),
  }));
}

const secret = (value: unknown) => ({ [rpc.specialSigKey]: rpc.specialSecretSig, value });

const compliantInstance = {
  name: "lp-prod",
  databaseVersion: "POSTGRES_18",
  encryptionKeyName: UNKNOWN_VALUE,
  settings: {
    tier: "db-perf-optimized-N-16",
    availabilityType: "REGIONAL",
    deletionProtectionEnabled: true,
    userLabels: { environment: "prod", "managed-by": "pulumi" },
    ipConfiguration: { ipv4Enabled: false, privateNetwork: UNKNOWN_VALUE, sslMode: "ENCRYPTED_ONLY" },
    backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true, transactionLogRetentionDays: 14, backupRetentionSettings: { retainedBackups: 30 } },
    databaseFlags: [
      ["cloudsql.enable_pgaudit", "on"],
      ["log_connections", "on"],
      ["log_disconnections", "on"],
      ["log_statement", "ddl"],
      ["log_min_messages", "warning"],
      ["log_min_error_statement", "error"],
      ["log_min_duration_statement", "-1"],
      ["log_error_verbosity", "default"],
      ["cloudsql.iam_authentication", "on"],
      ["pgaudit.log", "ddl,role"],
    ].map(([n, value]) => ({ name: n, value })),
    maintenanceWindow: { day: 7, hour: 7 },
    insightsConfig: { queryInsightsEnabled: true },
  },
};

describe("the pack under the Pulumi analyzer protocol", () => {
  test("loads and describes every policy with its enforcement level", async () => {
    const info = await call<any>("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe(PACK_NAME);
    expect(info.getVersion()).toBe("1.0.0");
    const served = (info.getPoliciesList() as any[]).map((p) => [p.getName(), p.getEnforcementlevel(), p.getRemediationSteps()]);
    expect(served).toEqual(
      policies.map((p) => [p.name, pb.EnforcementLevel[(p.enforcementLevel ?? "advisory").toUpperCase()], p.remediationSteps]),
    );
  });

  test("a compliant prod instance whose key and network are not known yet passes", async () => {
    expect(await analyze(TYPES.sqlInstance, "primary", compliantInstance)).toEqual([]);
  });

  test("a public, plaintext instance is refused with mandatory violations", async () => {
    const bad = structuredClone(compliantInstance);
    bad.settings.ipConfiguration = { ...bad.settings.ipConfiguration, ipv4Enabled: true, sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" };
    const found = await analyze(TYPES.sqlInstance, "primary", bad);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ policy: "cloudsql-no-public-ip", level: "MANDATORY", message: expect.stringMatching(/ipv4Enabled is not false/) }),
        expect.objectContaining({ policy: "cloudsql-tls", level: "MANDATORY", message: expect.stringMatching(/ALLOW_UNENCRYPTED_AND_ENCRYPTED/) }),
      ]),
    );
  });

  test("an unknown sslMode is reported as not checkable during preview (advisory), not as a violation", async () => {
    const pending = structuredClone(compliantInstance);
    pending.settings.ipConfiguration.sslMode = UNKNOWN_VALUE;
    expect(await analyze(TYPES.sqlInstance, "primary", pending)).toEqual([
      { policy: "cloudsql-tls", level: "ADVISORY", message: expect.stringMatching(/can't run policy 'cloudsql-tls' .* during preview/) },
    ]);
  });

  test("secrets arrive decrypted and unmarked, so a credential needs a declared secret property", async () => {
    const channel = { type: "slack", sensitiveLabels: secret({ authToken: "xoxb-1" }) };
    expect(await analyze("gcp:monitoring/notificationChannel:NotificationChannel", "slack", channel)).toEqual([
      expect.objectContaining({ policy: "no-plaintext-secrets", level: "MANDATORY" }),
    ]);
    expect(await analyze("gcp:monitoring/notificationChannel:NotificationChannel", "slack", channel, { secretOutputs: ["sensitiveLabels"] })).toEqual([]);
  });

  test("KMS keys: protect is visible to policies", async () => {
    const key = { keyRing: "projects/p/locations/us-central1/keyRings/r", rotationPeriod: "7776000s", labels: { environment: "prod", "managed-by": "pulumi" } };
    expect(await analyze(TYPES.cryptoKey, "key", key)).toEqual([expect.objectContaining({ policy: "kms-key-protected" })]);
    expect(await analyze(TYPES.cryptoKey, "key", key, { protect: true })).toEqual([]);
  });

  test("AnalyzeStack: a primary without alerts and migrations, and a literal sql.User password, are violations", async () => {
    const resource = (type: string, name: string, props: Record<string, unknown>, deps: Record<string, string[]> = {}) => {
      const r = new pb.AnalyzerResource();
      r.setType(type);
      r.setName(name);
      r.setUrn(urnOf(type, name));
      r.setProperties(Struct.fromJavaScript(props));
      r.setOptions(options());
      r.setDependenciesList([...new Set(Object.values(deps).flat())]);
      const map = r.getPropertydependenciesMap();
      for (const [key, urns] of Object.entries(deps)) {
        const d = new pb.AnalyzerPropertyDependencies();
        d.setUrnsList(urns);
        map.set(key, d);
      }
      return r;
    };
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList([
      resource(TYPES.sqlInstance, "primary", { ...compliantInstance, encryptionKeyName: "k" }),
      resource(TYPES.randomPassword, "pw", { length: 32 }),
      resource(TYPES.sqlUser, "generated", { name: "a", type: "BUILT_IN", password: "x" }, { password: [urnOf(TYPES.randomPassword, "pw")] }),
      resource(TYPES.sqlUser, "literal", { name: "b", type: "BUILT_IN", password: "hunter2" }),
    ]);
    const res = await call<any>("analyzeStack", req);
    const found = (res.getDiagnosticsList() as any[]).map((d) => `${d.getPolicyname()}: ${d.getMessage()}`).join("\n");
    expect(found).toMatch(/cloudsql-alert-coverage: [^\n]*\n[^\n]*"primary" has no alert policy on cloudsql\.googleapis\.com\/database\/up/);
    expect(found).toMatch(/cloudsql-migrations: [^\n]*\n[^\n]*"primary" has no migrations resource/);
    expect(found).toMatch(/sql-user-password-source: [^\n]*\n[^\n]*"literal": password does not come from a generated secret/);
    expect(found).not.toMatch(/"generated"/);
    // The engine prefixes each message with the policy's description.
    expect(found).toContain(`cloudsql-migrations: ${policies.find((p) => p.name === "cloudsql-migrations")?.description}\n`);
  });
});
