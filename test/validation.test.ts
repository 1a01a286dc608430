/**
 * One validation for memberships: what the provider's `check` (preview)
 * accepts, the reconcile (`up`, after the migrations committed) accepts too, and
 * what one refuses the other refuses. Checked against the serialized provider
 * and the reconcile on a real database.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { reconcileMemberships } from "../lib/migrate/maintenance";
import { createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";
import { localInputs, ok, replay } from "./harness/provider";

const LOGIN = `valid-${process.pid}-${Date.now() % 1e6}@p.iam`;
let db = "";
beforeAll(async () => {
  db = await createCloudSqlDatabase("validation");
  await withClient(migratorConfig(db), (c) => applyMigrations(c, loadMigrations()));
  // Made by the migrator, so it may ALTER it: the reconcile then runs clean inside the test's transaction.
  await withClient(migratorConfig(db), (c) => c.query(`CREATE ROLE "${LOGIN}" LOGIN`));
});
afterAll(async () => {
  if (db) await dropDatabase(db);
  await withClient(serverConfig(), (c) => c.query(`DROP ROLE IF EXISTS "${LOGIN}"`));
});

type Case = [string, Record<string, string[]>, Record<string, number> | undefined, RegExp | undefined];
const cases: Case[] = [
  ["a valid login and group", { [LOGIN]: ["lp_app_rw"] }, { [LOGIN]: 50 }, undefined],
  ["the structural group lp_owner", { [LOGIN]: ["lp_owner"] }, undefined, /group role "lp_owner" is not one the reconcile manages/],
  ["a group the reconcile does not manage", { [LOGIN]: ["pg_read_all_data"] }, undefined, /group role "pg_read_all_data" is not one the reconcile manages/],
  ["a group role listed as a login", { lp_owner: ["lp_app_rw"] }, undefined, /"lp_owner" is a group role, not a login/],
  ["a login with a space and capitals", { "Bad Login": ["lp_app_rw"] }, undefined, /"Bad Login" is not a database login name/],
  ["a login longer than 63 characters", { [`${"a".repeat(60)}@p.iam`]: ["lp_app_rw"] }, undefined, /is 66 characters; PostgreSQL names hold at most 63/],
  ["a limit for an unlisted login", { [LOGIN]: ["lp_app_rw"] }, { "other@p.iam": 5 }, /must also be listed in memberships/],
  ["a limit of zero", { [LOGIN]: ["lp_app_rw"] }, { [LOGIN]: 0 }, /whole number of connections ≥ 1/],
];

test("preview (the serialized provider's check) and the reconcile accept and refuse the same memberships", async () => {
  const r = await replay(cases.map(([, memberships, limits]) => ({ op: "check", args: [{}, localInputs(db, { memberships, loginConnectionLimits: limits })] })));
  for (const [i, [what, memberships, limits, message]] of cases.entries()) {
    const failures = (ok(r.results[i]).failures ?? []) as { property: string; reason: string }[];
    // In a transaction rolled back: group roles are cluster-wide, and other test files' logins must keep their memberships.
    const reconcile = await withClient(migratorConfig(db), async (c) => {
      await c.query("BEGIN");
      try {
        return await reconcileMemberships(c, memberships, { connectionLimits: limits });
      } finally {
        await c.query("ROLLBACK");
      }
    }).then(
      () => undefined,
      (err: Error) => err.message,
    );
    if (message) {
      expect(failures.map((f) => f.reason).join("\n"), `check: ${what}`).toMatch(message);
      expect(reconcile, `reconcile: ${what}`).toMatch(message);
    } else {
      expect(failures, `check: ${what}`).toEqual([]);
      expect(reconcile, `reconcile: ${what}`).toBeUndefined();
    }
  }
});
