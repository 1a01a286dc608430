/**
 * Cloud SQL privilege emulation on the embedded server. Cloud SQL has no
 * superuser: its `postgres` user is a member of the NOLOGIN role
 * `cloudsqlsuperuser`, has CREATEROLE and CREATEDB, and is neither SUPERUSER
 * nor REPLICATION. Here a login user {@link MIGRATOR} gets exactly that and owns a
 * fresh database; migrations in tests run as it.
 *
 * cloudsqlsuperuser is a member of the predefined role `pg_monitor` on Cloud
 * SQL, so its members read every session in pg_stat_activity and the
 * statistics views (Cloud SQL "About PostgreSQL users and roles",
 * https://cloud.google.com/sql/docs/postgres/users); the emulation grants the same.
 *
 * Differences from Cloud SQL, stated honestly:
 *   - Extensions: on Cloud SQL cloudsqlsuperuser may create allow-listed
 *     extensions. Here `pg_trgm` is a trusted extension (PostgreSQL 13+), so the
 *     migrator creates it itself as the database owner; `pg_stat_statements` is
 *     not trusted, so the harness pre-creates it as the real superuser and the
 *     migration's `CREATE EXTENSION IF NOT EXISTS` finds it. The embedded server
 *     does not preload it, so its view is not queryable here.
 *   - pg_cron and pgaudit are not shipped with embedded PostgreSQL; the migrations
 *     take their "not available" path (a NOTICE) here.
 *   - On Cloud SQL a database made through the API is owned by cloudsqlsuperuser;
 *     here the migrator owns it, which gives the same rights via membership.
 *   - PostgreSQL 14 gives schema public to the bootstrap superuser (15+ to
 *     pg_database_owner). Who owns it on Cloud SQL 14 is not documented; the
 *     emulation gives it to pg_database_owner as 15+ does, and 0002 refuses,
 *     naming the statements to run, a public schema it cannot lock down.
 */
import type { ClientConfig } from "pg";
import { createDatabase, serverConfig, withClient } from "./db";

/** The emulated Cloud SQL `postgres`-like user (test-only password). */
export const MIGRATOR = { name: "lp_migrator", password: "migrator-test-only" } as const;
/** Cloud SQL's group role of its administrative user. */
export const CLOUDSQL_SUPERUSER_ROLE = "cloudsqlsuperuser";
/** Serialises role creation across test files (roles are cluster-wide). */
const ROLE_SETUP_LOCK = 4_711_020_260_099;

/** Creates cloudsqlsuperuser and the migrator once per server; safe from parallel test files. */
export async function ensureCloudSqlRoles(server: ClientConfig = serverConfig()): Promise<void> {
  await withClient(server, async (c) => {
    await c.query("BEGIN");
    await c.query("SELECT pg_advisory_xact_lock($1)", [ROLE_SETUP_LOCK]);
    await c.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${CLOUDSQL_SUPERUSER_ROLE}') THEN
        CREATE ROLE ${CLOUDSQL_SUPERUSER_ROLE} NOLOGIN CREATEROLE CREATEDB;
      END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${MIGRATOR.name}') THEN
        CREATE ROLE ${MIGRATOR.name} LOGIN PASSWORD '${MIGRATOR.password}'
          NOSUPERUSER NOREPLICATION NOBYPASSRLS CREATEROLE CREATEDB IN ROLE ${CLOUDSQL_SUPERUSER_ROLE};
      END IF;
      IF NOT pg_has_role('${CLOUDSQL_SUPERUSER_ROLE}', 'pg_monitor', 'MEMBER') THEN
        GRANT pg_monitor TO ${CLOUDSQL_SUPERUSER_ROLE};
      END IF;
    END $$`);
    await c.query("COMMIT");
  });
}

/** A fresh database owned by the migrator, with the extensions a superuser must pre-create here. */
export async function createCloudSqlDatabase(prefix: string): Promise<string> {
  await ensureCloudSqlRoles();
  const name = await createDatabase(prefix);
  await prepareCloudSqlDatabase((database) => serverConfig(database), name);
  return name;
}

/**
 * Makes the existing database `name` look like one Cloud SQL created: owned by
 * the migrator, schema public as 15+ has it, and the allow-listed extensions
 * the migrations create that vanilla PostgreSQL lets only a superuser create
 * (pg_stat_statements always; pg_cron and pgaudit listed in `extensions` where
 * the server has them loaded). Cloud SQL lets cloudsqlsuperuser members create
 * these themselves, who then may use them: so cloudsqlsuperuser gets pg_cron's
 * schema (`server` connects as the superuser).
 */
export async function prepareCloudSqlDatabase(
  server: (database: string) => ClientConfig,
  name: string,
  extensions: readonly ("pg_cron" | "pgaudit")[] = [],
): Promise<void> {
  await withClient(server("postgres"), (c) => c.query(`ALTER DATABASE "${name}" OWNER TO ${MIGRATOR.name}`));
  await withClient(server(name), async (c) => {
    for (const ext of ["pg_stat_statements", ...extensions]) await c.query(`CREATE EXTENSION IF NOT EXISTS ${ext}`);
    if (extensions.includes("pg_cron")) await c.query(`GRANT USAGE ON SCHEMA cron TO ${CLOUDSQL_SUPERUSER_ROLE}`);
    const { rows } = await c.query<{ num: number }>("SELECT current_setting('server_version_num')::int AS num");
    if (rows[0].num < 150_000) await c.query("ALTER SCHEMA public OWNER TO pg_database_owner");
  });
}

/** Connection settings for the migrator on `database`. */
export function migratorConfig(database: string): ClientConfig {
  return { ...serverConfig(database), user: MIGRATOR.name, password: MIGRATOR.password };
}

/** Connection settings for any login role on `database`. */
export function loginConfig(database: string, user: string, password: string): ClientConfig {
  return { ...serverConfig(database), user, password };
}

/**
 * A login like the one Cloud SQL creates for an IAM service account: made by
 * the server's superuser (Cloud SQL's cloudsqladmin), so the migrator has no
 * ADMIN OPTION on it and, from PostgreSQL 16, may not ALTER it. Not removed
 * with the database (roles are cluster-wide): give it a name unique to the test.
 */
export async function createIamLikeLogin(name: string): Promise<void> {
  await withClient(serverConfig(), (c) => c.query(`CREATE ROLE "${name.replace(/"/g, '""')}" LOGIN`));
}
