/**
 * The membership reconcile reports what it changed, not what it asked for:
 * from PostgreSQL 16 a REVOKE removes only grants the caller made (or made by a
 * role whose privileges it has), so a membership another role granted stays, and
 * the reconcile names it and its grantor in the warnings.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { reconcileMemberships } from "../lib/migrate/maintenance";
import { createCloudSqlDatabase, createIamLikeLogin, migratorConfig, MIGRATOR } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";
import { localInputs, ok, replay } from "./harness/provider";

const tag = `${process.pid}-${Date.now() % 1e6}`;
const BY_ADMIN = `by-admin-${tag}@p.iam`; // granted by the superuser only (Cloud SQL: cloudsqladmin or another admin)
const BY_BOTH = `by-both-${tag}@p.iam`; // granted by the migrator and by the superuser
const BY_US = `by-us-${tag}@p.iam`; // granted by the migrator only
let db = "";
let superuser = "";

beforeAll(async () => {
  db = await createCloudSqlDatabase("reconcile_grantor");
  await withClient(migratorConfig(db), (c) => applyMigrations(c, loadMigrations()));
  for (const l of [BY_ADMIN, BY_BOTH, BY_US]) await createIamLikeLogin(l);
  await withClient(migratorConfig(db), async (c) => {
    await c.query(`GRANT lp_app_rw TO "${BY_BOTH}"`);
    await c.query(`GRANT lp_analytics_ro TO "${BY_US}"`);
  });
  await withClient(serverConfig(db), async (c) => {
    superuser = (await c.query("SELECT current_user AS u")).rows[0].u;
    await c.query(`GRANT lp_app_rw TO "${BY_ADMIN}"`);
    await c.query(`GRANT lp_app_rw TO "${BY_BOTH}"`);
  });
});
afterAll(async () => {
  if (db) await dropDatabase(db);
  await withClient(serverConfig(), async (c) => {
    for (const l of [BY_ADMIN, BY_BOTH, BY_US]) await c.query(`DROP ROLE IF EXISTS "${l}"`);
  });
});

const memberOf = (login: string, group: string) =>
  withClient(serverConfig(db), async (c) => (await c.query("SELECT pg_has_role($1, $2, 'MEMBER') AS m", [login, group])).rows[0].m as boolean);

test("a membership granted by another role is not reported as revoked; the warning names it and its grantor", async () => {
  const major = await withClient(serverConfig(db), async (c) => Number((await c.query("SHOW server_version_num")).rows[0].server_version_num));
  expect(major).toBeGreaterThanOrEqual(160000); // the grantor rule is PostgreSQL 16's
  const result = await withClient(migratorConfig(db), (c) =>
    reconcileMemberships(c, { [BY_ADMIN]: [], [BY_BOTH]: [], [BY_US]: [] }),
  );
  // What really happened in the catalog.
  expect(await memberOf(BY_US, "lp_analytics_ro")).toBe(false);
  expect(await memberOf(BY_ADMIN, "lp_app_rw")).toBe(true);
  expect(await memberOf(BY_BOTH, "lp_app_rw")).toBe(true);
  // What the reconcile says: only the removal that happened.
  // Group roles are cluster-wide, so other test files' logins may show up too: look at this file's only.
  const mine = (lines: string[]) => lines.filter((l) => l.includes(tag));
  expect(mine(result.revoked)).toEqual([`lp_analytics_ro ✕ ${BY_US}`]);
  for (const login of [BY_ADMIN, BY_BOTH]) {
    const w = result.warnings.filter((x) => x.includes(login));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(new RegExp(`cannot remove lp_app_rw from ${login.replace(/[.@]/g, "\\$&")}: granted by ${superuser}`));
    expect(w[0]).toContain(`REVOKE "lp_app_rw" FROM "${login}" GRANTED BY "${superuser}"`);
    expect(w[0]).not.toContain(MIGRATOR.password);
  }
  // A second run changes nothing and says so again, without claiming a revoke.
  const again = await withClient(migratorConfig(db), (c) => reconcileMemberships(c, { [BY_ADMIN]: [], [BY_BOTH]: [], [BY_US]: [] }));
  expect(mine(again.revoked)).toEqual([]);
  expect(mine(again.warnings).filter((x) => /cannot remove/.test(x))).toHaveLength(2);
});

test("the provider's outputs carry the same warning, and its log does not claim the revoke", async () => {
  const r = await replay([{ op: "create", args: [localInputs(db, { memberships: { [BY_ADMIN]: [] } })] }]);
  const outs = ok(r.results[0]).outs as { warnings: string[] };
  // Unlisted logins are reconciled too: both memberships the superuser granted stay, and are named.
  expect(outs.warnings.filter((w) => w.includes(tag))).toHaveLength(2);
  for (const login of [BY_ADMIN, BY_BOTH]) {
    expect(outs.warnings).toContainEqual(expect.stringMatching(new RegExp(`cannot remove lp_app_rw from ${login.replace(/[.@]/g, "\\$&")}: granted by ${superuser}`)));
  }
  expect(r.output).toMatch(/membership reconcile: granted none; revoked /);
  expect(r.output).not.toMatch(new RegExp(`revoked [^\\n]*${tag}`));
});
