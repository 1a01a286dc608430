/**
 * The SchemaMigrations input rules (what `check` reports and the constructor
 * refuses), and the diff rules, as pure functions.
 */
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { describe, expect, test } from "vitest";
import { SCHEMA_MIGRATIONS_TYPE, SchemaMigrations } from "../components/schema-migrations";
import { changedConnectionFields, diffSchema } from "../lib/migrate/diff";
import { pendingNames, UNKNOWN_SENTINEL, validateInputs, type SchemaMigrationsInputs, type SchemaMigrationsOutputs } from "../lib/migrate/inputs";
import { parseMigration } from "../lib/migrate/files";

const m1 = parseMigration("0001_a.sql", "-- Up Migration\nCREATE TABLE a (id int);\n");
const m2 = parseMigration("0002_b.sql", "-- Up Migration\nCREATE TABLE b (id int);\n");
const asInput = (m: { name: string; sha256: string; sql: string }) => ({ name: m.name, sha256: m.sha256, sql: m.sql });

const valid: SchemaMigrationsInputs = {
  stack: "staging",
  host: "10.0.0.3",
  database: "learning_platform",
  user: "lp_migrator",
  password: "x",
  serverCa: "-----BEGIN CERTIFICATE-----\n",
  migrations: [asInput(m1), asInput(m2)],
  memberships: { "lp-app@p.iam": ["lp_app_rw"] },
  maintenance: { monthsAhead: 3, retentionMonths: { analytics_events: 13 } },
};

describe("validateInputs", () => {
  test("valid inputs, and IAM user names, pass", () => {
    expect(validateInputs(valid)).toEqual([]);
    expect(validateInputs({ ...valid, user: "deployer@my-project.iam" })).toEqual([]);
  });

  test.each<[string, Partial<SchemaMigrationsInputs>, string, RegExp]>([
    ["an empty host", { host: "" }, "host", /private IP/],
    ["a database that is not an identifier", { database: "Learning-Platform" }, "database", /not a lowercase PostgreSQL identifier/],
    ["a user name with spaces", { user: "lp migrator" }, "user", /not a built-in or IAM database user name/],
    ["migrations that are not a list", { migrations: "0001_a.sql" as never }, "migrations", /expected an array/],
    ["a bad migration name", { migrations: [{ ...asInput(m1), name: "1_a.sql" }] }, "migrations[0]", /bad file name/],
    ["a checksum that does not match the SQL", { migrations: [{ ...asInput(m1), sha256: "0".repeat(64) }] }, "migrations[0].sha256", /does not match its SQL/],
    ["migrations out of order", { migrations: [asInput(m2), asInput(m1)] }, "migrations[1]", /must come after 0002_b\.sql/],
    ["a group role that is not an identifier", { memberships: { "lp-app@p.iam": ["App RW"] } }, "memberships.lp-app@p.iam", /group role "App RW" is not one the reconcile manages/],
    ["a login limit of 0", { loginConnectionLimits: { "lp-app@p.iam": 0 } }, "loginConnectionLimits.lp-app@p.iam", /whole number of connections ≥ 1/],
    ["a limit for a login without memberships", { loginConnectionLimits: { "other@p.iam": 10 } }, "loginConnectionLimits.other@p.iam", /also be listed in memberships/],
    ["zero months ahead", { maintenance: { monthsAhead: 0, retentionMonths: {} } }, "maintenance.monthsAhead", /≥ 1/],
    ["a fractional retention", { maintenance: { monthsAhead: 3, retentionMonths: { audit_log: 1.5 } } }, "maintenance.retentionMonths.audit_log", /whole number/],
  ])("%s is reported on its property", (_what, change, property, reason) => {
    expect(validateInputs({ ...valid, ...change })).toEqual([{ property, reason: expect.stringMatching(reason) }]);
  });

  test("unknown values (a first preview) are not failures", () => {
    expect(validateInputs({ ...valid, host: UNKNOWN_SENTINEL, database: UNKNOWN_SENTINEL, user: UNKNOWN_SENTINEL, memberships: UNKNOWN_SENTINEL as never })).toEqual([]);
  });

  test("the constructor refuses invalid migrations with a ResourceError naming the property, before registering anything", async () => {
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "lp-db", "validation", false);
    const monitor = settings.getMonitor() as unknown as { registerResource(req: { getName(): string }, cb: (...args: unknown[]) => void): void };
    const original = monitor.registerResource.bind(monitor);
    const registered: string[] = [];
    monitor.registerResource = (req, cb) => {
      registered.push(req.getName());
      original(req, cb);
    };
    expect(
      () =>
        new SchemaMigrations("bad", {
          stack: "staging",
          host: "10.0.0.3",
          database: "d",
          user: "u",
          password: "p",
          serverCa: "c",
          migrations: [m2, m1],
          memberships: {},
          maintenance: { monthsAhead: 3, retentionMonths: {} },
        }),
    ).toThrow(/SchemaMigrations bad: migrations\[1\]: 0001_a\.sql must come after 0002_b\.sql/);
    await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    expect(registered).toEqual([]);
  });
});

test("the password stays secret in the state: registered with additionalSecretOutputs and as a secret input", async () => {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "lp-db", "secrets", false);
  type Request = { getType(): string; getAdditionalsecretoutputsList(): string[]; getObject(): { toJavaScript(): Record<string, unknown> } };
  const monitor = settings.getMonitor() as unknown as { registerResource(req: Request, cb: (...args: unknown[]) => void): void };
  const original = monitor.registerResource.bind(monitor);
  const seen: Request[] = [];
  monitor.registerResource = (req, cb) => {
    if (req.getType() === SCHEMA_MIGRATIONS_TYPE) seen.push(req);
    original(req, cb);
  };
  const resource = new SchemaMigrations("secrets", {
    stack: "staging",
    host: valid.host,
    database: valid.database,
    user: valid.user,
    password: "plain-text-given",
    serverCa: "-----BEGIN CERTIFICATE-----\n",
    migrations: [m1],
    memberships: valid.memberships,
    maintenance: valid.maintenance,
  });
  await new Promise((resolve) => resource.urn.apply(resolve));
  expect(seen).toHaveLength(1);
  expect(seen[0].getAdditionalsecretoutputsList()).toContain("password");
  expect(seen[0].getObject().toJavaScript().password).toMatchObject({ [rpc.specialSigKey]: rpc.specialSecretSig, value: "plain-text-given" });
});

describe("diff and pending", () => {
  const olds = { ...valid, applied: [m1.name, m2.name], pending: [], drift: { appliedOutsidePulumi: [], missing: [], checksumMismatch: [] } } as unknown as SchemaMigrationsOutputs;

  test.each<[string, Partial<SchemaMigrationsInputs>, boolean]>([
    ["nothing changed", {}, false],
    ["only the tuning changed", { tuning: { lockTimeoutMs: 1, maxAttempts: 2 } }, false],
    ["the memberships in another order", { memberships: { "lp-app@p.iam": ["lp_app_rw"] } }, false],
    // A no-op update, so the state (all `read` sees) catches up with a rotation.
    ["the password rotated", { password: "rotated" }, true],
    ["the server CA rotated", { serverCa: "-----BEGIN CERTIFICATE-----\nNEW\n" }, true],
    ["the host moved", { host: "10.0.0.9" }, true],
    ["the port changed", { port: 6432 }, true],
    ["another migration user", { user: "lp_migrator2" }, true],
    ["a server name to check", { serverName: "p:db" }, true],
    ["through the Cloud SQL connector now", { connector: { instanceConnectionName: "p:r:db" } }, true],
    ["connection values not known yet", { host: UNKNOWN_SENTINEL, password: UNKNOWN_SENTINEL }, true],
    ["a migration added", { migrations: [asInput(m1), asInput(m2), asInput(parseMigration("0003_c.sql", "-- Up Migration\nSELECT 1;\n"))] }, true],
    ["a migration's content changed", { migrations: [asInput(m1), asInput(parseMigration("0002_b.sql", "-- Up Migration\nCREATE TABLE b (id bigint);\n"))] }, true],
    ["a membership added", { memberships: { "lp-app@p.iam": ["lp_app_rw"], "lp-analytics@p.iam": ["lp_analytics_ro"] } }, true],
    ["a login connection limit added", { loginConnectionLimits: { "lp-app@p.iam": 800 } }, true],
    ["no login limits given, as before the input existed", { loginConnectionLimits: {} }, false],
    ["a maintenance setting changed", { maintenance: { monthsAhead: 4, retentionMonths: { analytics_events: 13 } } }, true],
    ["the migrations not known yet", { migrations: UNKNOWN_SENTINEL as never }, true],
  ])("%s → changes: %s, never a replacement", (_what, change, changes) => {
    const result = diffSchema(olds, { ...valid, ...change });
    expect(result.changes).toBe(changes);
    expect(result.replaces).toEqual([]);
  });

  test("changedConnectionFields names what changed; the database name and tuning are not connection fields", () => {
    expect(changedConnectionFields(olds, { ...valid, password: "rotated", serverCa: "other", tuning: { lockTimeoutMs: 1 } })).toEqual(["password", "serverCa"]);
    expect(changedConnectionFields(olds, { ...valid, host: UNKNOWN_SENTINEL })).toEqual(["host"]);
    expect(changedConnectionFields(olds, valid)).toEqual([]);
  });

  test("drift found by a refresh makes the next diff a change", () => {
    expect(diffSchema({ ...olds, drift: { appliedOutsidePulumi: [], missing: [m2.name], checksumMismatch: [] } }, valid).changes).toBe(true);
  });

  test("pending: new names and changed checksums", () => {
    const edited = asInput(parseMigration("0002_b.sql", "-- Up Migration\nCREATE TABLE b (id bigint);\n"));
    expect(pendingNames(undefined, [asInput(m1), asInput(m2)])).toEqual([m1.name, m2.name]);
    expect(pendingNames([asInput(m1), asInput(m2)], [asInput(m1), edited])).toEqual([m2.name]);
    expect(pendingNames([asInput(m1), asInput(m2)], [asInput(m1), asInput(m2)])).toEqual([]);
  });
});
