/**
 * The SchemaMigrations dynamic provider, serialized with Pulumi's closure
 * serializer in a plain `node` child and replayed in fresh processes against
 * the embedded PostgreSQL, as the Cloud SQL-like migrator (test/harness/cloudsql.ts).
 */
import * as fs from "fs";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { ROOT } from "../lib/mock-runtime";
import { ledgerHead, readLedger } from "../lib/migrate/engine";
import { UNKNOWN_SENTINEL, type SchemaMigrationsInputs } from "../lib/migrate/inputs";
import { createCloudSqlDatabase, createIamLikeLogin, MIGRATOR, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";
import { failed, localInputs, ok, replay, serializedProvider, testMigration } from "./harness/provider";

const ID = "lp-schema-migrations/test";
const databases: string[] = [];

/** A fresh Cloud SQL-like database for one test. */
async function freshDatabase(prefix: string): Promise<string> {
  const name = await createCloudSqlDatabase(prefix);
  databases.push(name);
  return name;
}

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
});

/** Every text a run exposes except the state's own (secret) password field. */
function exposed(run: { output: string; results: unknown[] }): string {
  return run.output + JSON.stringify(run.results, (key, value: unknown) => (key === "password" ? undefined : value));
}

describe("serialized provider", () => {
  beforeAll(async () => {
    await serializedProvider();
  });

  test("the serialized text is self-contained: no path of this machine", async () => {
    const text = fs.readFileSync(await serializedProvider(), "utf8");
    expect(text).toContain("exports.handler");
    expect(text).not.toContain(ROOT);
    expect(text).not.toMatch(/\/node_modules\//);
  });

  test("check, create, diff, update, read and delete", async () => {
    const db = await freshDatabase("provider_lifecycle");
    const inputs = localInputs(db);
    const names = inputs.migrations.map((m) => m.name);

    const first = await replay([
      { op: "check", args: [{}, inputs] },
      { op: "create", args: [inputs] },
    ]);
    const checked = ok(first.results[0]);
    expect(checked.inputs.pending).toEqual(names);
    const created = ok(first.results[1]);
    expect(created.id).toBe(`lp-schema-migrations/${db}`);
    const ledger = await withClient(migratorConfig(db), readLedger);
    expect(created.outs).toMatchObject({
      applied: names,
      appliedThisRun: names,
      pending: [],
      ledgerHead: ledgerHead(ledger),
      schemaVersion: names[names.length - 1].replace(/\.sql$/, ""),
      drift: { appliedOutsidePulumi: [], missing: [], checksumMismatch: [] },
    });
    expect(ledger.map((r) => r.name)).toEqual(names);
    expect(exposed(first)).not.toContain(MIGRATOR.password);

    const outs = created.outs as SchemaMigrationsInputs;
    const added = testMigration("9001_provider_widgets.sql", "CREATE TABLE provider_widgets (id int PRIMARY KEY);");
    const next: SchemaMigrationsInputs = { ...inputs, migrations: [...inputs.migrations, added] };
    const reordered = { ...inputs, memberships: {}, maintenance: { retentionMonths: {}, monthsAhead: 2 } };
    const second = await replay([
      { op: "diff", args: [ID, outs, inputs] },
      { op: "diff", args: [ID, outs, reordered] },
      { op: "diff", args: [ID, outs, { ...inputs, host: UNKNOWN_SENTINEL, password: UNKNOWN_SENTINEL, serverCa: UNKNOWN_SENTINEL }] },
      { op: "diff", args: [ID, outs, { ...inputs, tuning: { lockTimeoutMs: 1 } }] },
      { op: "diff", args: [ID, outs, next] },
      { op: "diff", args: [ID, outs, { ...inputs, maintenance: { monthsAhead: 4, retentionMonths: {} } }] },
      { op: "diff", args: [ID, outs, { ...inputs, migrations: UNKNOWN_SENTINEL }] },
      { op: "check", args: [inputs, next] },
      { op: "update", args: [ID, outs, next] },
    ]);
    const diffs = second.results.slice(0, 7).map(ok);
    expect(diffs.map((d) => d.changes)).toEqual([false, false, true, false, true, true, true]);
    for (const d of diffs) expect(d.replaces ?? []).toEqual([]);
    expect(ok(second.results[7]).inputs.pending).toEqual([added.name]);
    const updated = ok(second.results[8]).outs;
    expect(updated.appliedThisRun).toEqual([added.name]);
    expect(updated.applied).toEqual([...names, added.name]);
    expect(updated.schemaVersion).toBe("9001_provider_widgets");

    // Drift made outside Pulumi: a row applied by hand, a row deleted, a checksum changed.
    await withClient(serverConfig(db), async (c) => {
      await c.query(`INSERT INTO lp_meta.schema_ledger (name, sha256, transactional, duration_ms) VALUES ('9999_by_hand.sql', repeat('a', 64), true, 0)`);
      await c.query(`DELETE FROM lp_meta.schema_ledger WHERE name = $1`, [added.name]);
      await c.query(`UPDATE lp_meta.schema_ledger SET sha256 = repeat('b', 64) WHERE name = $1`, [names[0]]);
    });
    const third = await replay([
      { op: "read", args: [ID, updated] },
      { op: "delete", args: [ID, updated] },
    ]);
    const read = ok(third.results[0]);
    expect(read.id).toBe(ID);
    expect(read.props.drift).toEqual({ appliedOutsidePulumi: ["9999_by_hand.sql"], missing: [added.name], checksumMismatch: [names[0]] });
    ok(third.results[1]);
    const tables = await withClient(serverConfig(db), (c) => c.query("SELECT to_regclass('provider_widgets')::text AS t"));
    expect(tables.rows[0].t).toBe("provider_widgets");

    // A refresh that found drift makes the next diff report a change.
    const afterRefresh = await replay([{ op: "diff", args: [ID, read.props, next] }]);
    expect(ok(afterRefresh.results[0]).changes).toBe(true);
  });

  test("a login limit the migrator may not set (IAM-like login, no ADMIN OPTION; PostgreSQL 16+) is reported in the outputs' warnings; the apply succeeds", async () => {
    const db = await freshDatabase("provider_warnings");
    const iam = `${db}_iam@p.iam`;
    await createIamLikeLogin(iam);
    try {
      const inputs = localInputs(db, { memberships: { [iam]: ["lp_app_rw"] }, loginConnectionLimits: { [iam]: 800 } });
      const run = await replay([{ op: "create", args: [inputs] }]);
      const outs = ok(run.results[0]).outs;
      if (inject("pg").major >= 16) {
        expect(outs.warnings).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`cannot set ${iam}'s role settings: .*ALTER ROLE "${iam}" CONNECTION LIMIT 800`))]));
        expect(run.output).toMatch(/\[schema-migrations\] warning: cannot set /);
      } else {
        // ≤15: CREATEROLE alone may alter any non-superuser role, so the limit applies and nothing is reported.
        expect(outs.warnings ?? []).toEqual([]);
        const limit = await withClient(serverConfig(db), (c) => c.query("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", [iam]));
        expect(limit.rows[0].rolconnlimit).toBe(800);
      }
      const member = await withClient(serverConfig(db), (c) => c.query("SELECT pg_has_role($1, 'lp_app_rw', 'MEMBER') AS m", [iam]));
      expect(member.rows[0].m).toBe(true);
    } finally {
      await withClient(serverConfig(), (c) => c.query(`DROP ROLE "${iam}"`)).catch(() => undefined);
    }
  });

  test("a password rotation: diff asks for an update, the update is a no-op that records the new password, and refresh works again", async () => {
    const db = await freshDatabase("provider_rotation");
    const inputs = localInputs(db);
    const first = await replay([{ op: "create", args: [inputs] }]);
    // The state as it was before the rotation: the migrator's old password (the server has the new one, MIGRATOR.password;
    // rotating the shared migrator itself would break the other test files running meanwhile).
    const before = "pre-rotation-test-only";
    const stateBefore = { ...ok(first.results[0]).outs, password: before };
    const run = await replay([
      { op: "read", args: [ID, stateBefore] },
      { op: "diff", args: [ID, stateBefore, inputs] },
      { op: "update", args: [ID, stateBefore, inputs] },
    ]);
    const stale = failed(run.results[0]);
    expect(stale.message).toMatch(/authentication failed.*run `pulumi up` first so the state has the new values, then refresh/);
    const diff = ok(run.results[1]);
    expect(diff.changes).toBe(true);
    expect(diff.replaces ?? []).toEqual([]);
    const updated = ok(run.results[2]).outs;
    expect(updated.appliedThisRun).toEqual([]);
    expect(updated.ledgerHead).toBe(stateBefore.ledgerHead);
    const refreshed = await replay([
      { op: "read", args: [ID, updated] },
      { op: "diff", args: [ID, updated, inputs] },
    ]);
    expect(ok(refreshed.results[0]).props.drift).toEqual({ appliedOutsidePulumi: [], missing: [], checksumMismatch: [] });
    expect(ok(refreshed.results[1]).changes).toBe(false);
    expect(exposed(run) + exposed(refreshed)).not.toContain(MIGRATOR.password);
    expect(stale.message).not.toContain(before);
  });

  test("check names the property of a bad input", async () => {
    const db = "unused";
    const good = localInputs(db);
    const tampered = { ...good.migrations[0], sha256: "0".repeat(64) };
    const run = await replay([
      { op: "check", args: [{}, { ...good, migrations: [tampered] }] },
      { op: "check", args: [{}, { ...good, memberships: { "x@p.iam": ["NOT A ROLE"] } }] },
      { op: "check", args: [{}, { ...good, host: UNKNOWN_SENTINEL, password: UNKNOWN_SENTINEL }] },
    ]);
    expect(ok(run.results[0]).failures).toEqual([expect.objectContaining({ property: "migrations[0].sha256", reason: expect.stringMatching(/does not match its SQL/) })]);
    expect(ok(run.results[1]).failures).toEqual([expect.objectContaining({ property: "memberships.x@p.iam" })]);
    expect(ok(run.results[2]).failures ?? []).toEqual([]);
  });
});

