/**
 * The SchemaMigrations resource as index.ts registers it, under Pulumi mocks:
 * its type token, its explicit dependencies, its secret password and inputs
 * that carry migrations by content, never by path.
 */
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, test } from "vitest";
import { SCHEMA_MIGRATIONS_TYPE } from "../components/schema-migrations";
import { UNKNOWN_SENTINEL } from "../lib/migrate/inputs";
import { loadMigrations } from "../lib/migrate/files";
import { ROOT } from "../lib/mock-runtime";
import { runStack, SECRET } from "./harness/stack";

describe.each(["prod", "staging"])("stack %s", (stack) => {
  test("registers one SchemaMigrations on the primary, after the instance, database, migration user and IAM logins", async () => {
    const { recorder, outputs } = await runStack(stack);
    const [schema, ...others] = recorder.ofType(SCHEMA_MIGRATIONS_TYPE);
    expect(others).toEqual([]);
    expect(schema.name).toBe("db-schema");

    const primary = recorder.ofType("gcp:sql/databaseInstance:DatabaseInstance").find((r) => r.inputs.masterInstanceName === undefined);
    const database = recorder.ofType("gcp:sql/database:Database")[0];
    const users = recorder.ofType("gcp:sql/user:User");
    const migrationUser = users.find((u) => u.inputs.type === "BUILT_IN");
    const iamUsers = users.filter((u) => u.inputs.type === "CLOUD_IAM_SERVICE_ACCOUNT");
    expect(primary && database && migrationUser).toBeTruthy();
    expect(iamUsers.length).toBeGreaterThan(0);
    // The recorder lists every dependency (explicit and through inputs, e.g. the password's generator).
    expect(schema.dependsOn).toEqual(expect.arrayContaining([primary!.name, database.name, migrationUser!.name, ...iamUsers.map((u) => u.name)]));

    expect(schema.inputs.password).toBe(SECRET);
    expect(schema.plainInputs.password).toEqual(migrationUser!.plainInputs.password);
    // host and serverCa are outputs of the primary (lib/mock-runtime COMPUTED: a mock private IP, a CA naming the instance).
    expect(schema.propertyDependencies.host).toEqual([primary!.name]);
    expect(schema.inputs.host).toMatch(/^10\.20\.0\.\d+$/);
    expect(schema.propertyDependencies.serverCa).toEqual([primary!.name]);
    // Every CA the instance lists is trusted, so a server CA rotation never breaks migrations.
    expect(schema.inputs.serverCa).toContain(`MOCK-${primary!.name}-current\n`);
    expect(schema.inputs.serverCa).toContain(`MOCK-${primary!.name}-next\n`);
    expect(schema.inputs.allowPlaintext).toBe(false);
    expect(schema.inputs.database).toBe(database.inputs.name);
    expect(schema.inputs.user).toBe(migrationUser!.inputs.name);
    expect(schema.inputs.memberships).toEqual(Object.fromEntries(iamUsers.map((u) => [u.inputs.name, expect.any(Array)])));
    expect(schema.inputs.maintenance).toEqual({
      monthsAhead: expect.any(Number),
      retentionMonths: { analytics_events: expect.any(Number), audit_log: expect.any(Number) },
    });

    const migrations = schema.inputs.migrations as { name: string; sha256: string; sql: string }[];
    expect(migrations.map((m) => [m.name, m.sha256])).toEqual(loadMigrations().map((m) => [m.name, m.sha256]));
    expect(JSON.stringify(schema.inputs)).not.toContain(ROOT);
    expect((outputs.schema as { pending: string[] }).pending).toEqual(migrations.map((m) => m.name));
  });
});

test("the unknown sentinel the provider checks for is the SDK's", () => {
  expect(UNKNOWN_SENTINEL).toBe(rpc.unknownValue);
});

test("the registered type carries the module, as pulumi.dynamic.Resource forms it", () => {
  expect(SCHEMA_MIGRATIONS_TYPE).toBe("pulumi-nodejs:dynamic/lp/database:SchemaMigrations");
});

test.each([
  ["direct", undefined],
  ["connector", { ipType: "PRIVATE" }],
])("migrationConnection %s: the migrations resource gets connector %j", async (connection, connector) => {
  const { recorder } = await runStack("prod", {
    overrides: { migrationConnection: connection, sslMode: connection === "connector" ? "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" : "ENCRYPTED_ONLY" },
  });
  const [schema] = recorder.ofType(SCHEMA_MIGRATIONS_TYPE);
  const primary = recorder.ofType("gcp:sql/databaseInstance:DatabaseInstance").find((r) => r.inputs.masterInstanceName === undefined);
  if (connector === undefined) {
    expect(schema.inputs.connector).toBeUndefined();
  } else {
    expect(schema.inputs.connector).toEqual({ ...connector, instanceConnectionName: `rds-lms:us-central1:${primary!.inputs.name}` });
  }
});

test.each([
  // prod: db-perf-optimized-N-16 runs 4 poolers per node, each opening up to poolMaxPoolSize (200) server connections.
  ["prod", "lp-app@rds-lms.iam", 4 * 200],
])("%s: the app login's connection limit covers what the poolers may open for it", async (stack, appLogin, limit) => {
  const { recorder } = await runStack(stack);
  const [schema] = recorder.ofType(SCHEMA_MIGRATIONS_TYPE);
  // Only logins of lp_app_rw get a planned limit; the analytics login keeps its group's.
  expect(schema.inputs.loginConnectionLimits).toEqual({ [appLogin]: limit });
});

test.each(["prod", "staging"])("%s: the migrations resource carries its stack name, which binds the database to it", async (stack) => {
  const { recorder } = await runStack(stack);
  const [schema] = recorder.ofType(SCHEMA_MIGRATIONS_TYPE);
  expect(schema.inputs.stack).toBe(stack);
});
