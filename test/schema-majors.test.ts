/**
 * The same schema, roles and grants on every supported PostgreSQL major: each
 * vitest project (one per major, vitest.config.mts) applies the migrations as
 * the Cloud SQL-like user and compares a portable fingerprint of the result
 * with one committed file, so a difference between any two majors fails.
 * Masked: dates (monthly partitions follow today's), PostgreSQL 17's MAINTAIN
 * privilege in owners' ACLs, and extension members (pg_stat_statements' views
 * gain columns with each major).
 */
import * as path from "path";
import type { ClientBase } from "pg";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { STACK_MAJOR, SUPPORTED_MAJORS } from "../lib/cloudsql-catalog";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { MIGRATOR, createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";

const GROUP_ROLES = ["lp_owner", "lp_app_rw", "lp_analytics_ro", "lp_backup_ro"];

/**
 * What the migrations define, in a form that does not depend on the major:
 * catalog text (pg_get_*def) and ACLs, plus what the migration user can do with
 * each group role. Membership rows themselves differ by design (0002's header):
 * 16+ records ADMIN/INHERIT/SET options where ≤15 has CREATEROLE and a plain
 * membership, so the capabilities are compared instead.
 */
async function fingerprint(c: ClientBase): Promise<string> {
  const queries: Record<string, string> = {
    relations: `SELECT n.nspname, c.relname, c.relkind, c.relowner::regrole::text AS owner, c.relacl::text, c.relispartition
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname IN ('public', 'lp_ops') AND c.relkind <> 'S'
                   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2`,
    sequences: `SELECT c.relname, c.relowner::regrole::text AS owner, c.relacl::text FROM pg_class c
                 WHERE c.relnamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace) AND c.relkind = 'S' ORDER BY 1`,
    columns: `SELECT a.attrelid::regclass::text AS rel, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                     pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attgenerated, a.attacl::text
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE c.relnamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace) AND c.relkind IN ('r', 'p', 'm', 'v')
                 AND a.attnum > 0 AND NOT a.attisdropped
                 AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, a.attnum`,
    indexes: `SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE c.relnamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace) ORDER BY 1`,
    constraints: `SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
                   WHERE connamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace)
                     -- 18 records NOT NULL as constraints too; columns.attnotnull covers it on every major
                     AND contype <> 'n' ORDER BY 1, 2`,
    routines: `SELECT p.oid::regprocedure::text AS sig, p.prokind, p.prosecdef, p.proconfig, p.proowner::regrole::text AS owner, p.proacl::text,
                      md5(p.prosrc) AS body
                 FROM pg_proc p WHERE p.pronamespace = 'lp_ops'::regnamespace ORDER BY 1`,
    views: `SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
               AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1`,
    defaultPrivileges: `SELECT defaclrole::regrole::text AS role, defaclnamespace::regnamespace::text AS schema, defaclobjtype, defaclacl::text
                          FROM pg_default_acl ORDER BY 1, 2, 3`,
    schemas: `SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname IN ('public', 'lp_ops') ORDER BY 1`,
    extensions: `SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
    roles: `SELECT rolname, rolcanlogin, rolinherit, rolcreaterole, rolconnlimit,
                   (SELECT setconfig FROM pg_db_role_setting WHERE setrole = r.oid AND setdatabase = 0) AS settings
              FROM pg_roles r WHERE rolname = ANY($1) ORDER BY 1`,
    // What the migration user can do with each group role, on any major:
    // SET ROLE to it, use its privileges, and grant it to a login (16+: ADMIN
    // OPTION; ≤15: CREATEROLE covers every non-superuser role).
    migratorCapabilities: `SELECT r.rolname,
                                  CASE WHEN current_setting('server_version_num')::int >= 160000
                                       THEN pg_has_role($2, r.oid, 'SET')
                                       ELSE pg_has_role($2, r.oid, 'MEMBER') END AS can_set_role,
                                  pg_has_role($2, r.oid, 'USAGE') AS uses_privileges,
                                  CASE WHEN current_setting('server_version_num')::int >= 160000
                                       THEN pg_has_role($2, r.oid, 'MEMBER WITH ADMIN OPTION')
                                       ELSE (SELECT m.rolcreaterole FROM pg_roles m WHERE m.rolname = $2) AND NOT r.rolsuper END AS can_grant
                             FROM pg_roles r WHERE r.rolname = ANY($1) ORDER BY 1`,
    scheduledJobs: `SELECT * FROM lp_ops.scheduled_jobs ORDER BY 1`,
    partitionSettings: `SELECT * FROM lp_ops.partition_settings ORDER BY 1`,
  };
  const out: string[] = [];
  for (const [name, sql] of Object.entries(queries)) {
    const params = sql.includes("$2") ? [GROUP_ROLES, MIGRATOR.name] : sql.includes("$1") ? [GROUP_ROLES] : [];
    const { rows } = await c.query(sql, params);
    // 16+ deparses a view's single-table columns without their alias (e.course_id → course_id).
    if (name === "views") for (const r of rows) r.def = String(r.def).replace(/\b[a-z_]+\.(?=[a-z_])/g, "");
    out.push(`## ${name}`, ...rows.map((r) => JSON.stringify(r)));
  }
  // Monthly partitions are named and bounded by today's date. PostgreSQL 17
  // adds MAINTAIN ("m") to an owner's implicit table privileges.
  return `${out.join("\n")}\n`
    .replace(/=arwdDxtm\//g, "=arwdDxt/")
    .replace(/_p\d{6}/g, "_pYYYYMM")
    .replace(/\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\+00(:00)?|Z)?/g, "<timestamp>");
}

let db = "";
beforeAll(async () => {
  db = await createCloudSqlDatabase("schema_majors");
});
afterAll(async () => {
  if (db) await dropDatabase(db);
});

test("the test matrix runs every supported major, the full suite on the stacks' major", async () => {
  // A path TypeScript does not resolve: the config is ESM, loaded by vitest.
  const config = (await import(path.join(__dirname, "..", "vitest.config.mts"))) as { MATRIX_MAJORS: number[]; STACK_MAJOR: number };
  expect([...config.MATRIX_MAJORS]).toEqual([...SUPPORTED_MAJORS]);
  expect(config.STACK_MAJOR).toBe(STACK_MAJOR);
  expect(SUPPORTED_MAJORS).toContain(inject("pg").major);
});

test("this project's server runs its major", async () => {
  const { rows } = await withClient(serverConfig(), (c) => c.query<{ major: number }>("SELECT current_setting('server_version_num')::int / 10000 AS major"));
  expect(rows[0].major).toBe(inject("pg").major);
});

test("the migrations leave the same schema, roles and grants as on every other major, and re-applying them changes nothing", async () => {
  await withClient(migratorConfig(db), async (c) => {
    const first = await applyMigrations(c, loadMigrations());
    expect(first.pending).toEqual([]);
    const print = await fingerprint(c);
    await c.query("TRUNCATE lp_meta.schema_ledger");
    await applyMigrations(c, loadMigrations());
    expect(await fingerprint(c)).toBe(print);
    await expect(print).toMatchFileSnapshot(path.join(__dirname, "__snapshots__", "schema-majors.txt"));
  });
});
