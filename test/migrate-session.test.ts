/**
 * Each migration file starts from a clean session: a setting, role, temporary
 * table or prepared statement left by one file never changes what the next does,
 * and the migration lock survives the reset.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { ADVISORY_LOCK_KEY, applyMigrations } from "../lib/migrate/engine";
import { parseMigration } from "../lib/migrate/files";
import { createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, withClient } from "./harness/db";

let db = "";
beforeAll(async () => {
  db = await createCloudSqlDatabase("session_reset");
  await withClient(migratorConfig(db), (c) => c.query("CREATE SCHEMA elsewhere"));
});
afterAll(async () => {
  if (db) await dropDatabase(db);
});

const migration = (name: string, up: string, noTransaction = false) =>
  parseMigration(name, `${noTransaction ? "-- lp:no-transaction\n" : ""}-- Up Migration\n${up}\n`);

test.each([
  ["a transactional file", false],
  ["a no-transaction file", true],
])("session state set by %s does not leak into the next file", async (_what, noTransaction) => {
  const suffix = noTransaction ? "nt" : "tx";
  const leaky = migration(
    `0001_leaky_${suffix}.sql`,
    [
      "SET search_path = elsewhere, public;",
      "SET statement_timeout = '1s';",
      "SET work_mem = '7MB';",
      `CREATE TEMP TABLE scratch_${suffix} (n int);`,
      `PREPARE probe_${suffix} AS SELECT 1;`,
    ].join("\n"),
    noTransaction,
  );
  const next = migration(
    `0002_next_${suffix}.sql`,
    [
      `CREATE TABLE placed_${suffix} (n int);`,
      // Fails if the previous file's temp table or prepared statement is still there.
      `CREATE TEMP TABLE scratch_${suffix} (n int);`,
      `PREPARE probe_${suffix} AS SELECT 2;`,
      `CREATE TABLE settings_${suffix} AS SELECT current_setting('statement_timeout') AS st, current_setting('work_mem') AS wm, current_user::text AS who,
         pg_catalog.count(*) FILTER (WHERE l.locktype = 'advisory') AS advisory
         FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'advisory' AND l.objid = ${Number(ADVISORY_LOCK_KEY & 0xffffffffn)};`,
    ].join("\n"),
  );
  await withClient(migratorConfig(db), async (c) => {
    await c.query("DROP SCHEMA IF EXISTS lp_meta CASCADE");
    await applyMigrations(c, [leaky, next]);
    const where = await c.query<{ schema: string }>("SELECT relnamespace::regnamespace::text AS schema FROM pg_class WHERE relname = $1", [`placed_${suffix}`]);
    expect(where.rows).toEqual([{ schema: "public" }]);
    const s = await c.query(`SELECT st, wm, who, advisory::int AS advisory FROM public.settings_${suffix}`);
    expect(s.rows).toEqual([{ st: "0", wm: "4MB", who: "lp_migrator", advisory: 1 }]);
  });
});
