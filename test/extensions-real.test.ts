/**
 * The migrations against real pg_cron and pgAudit: Debian's PostgreSQL 15 with
 * both in shared_preload_libraries and the stack's own settings for them
 * (lib/database-flags.ts), under the same Cloud SQL privilege emulation as the
 * embedded suites. Without the Debian packages the suite is skipped — never
 * passed — and says which packages to install (`.ci/run` installs them).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OPERATIONAL_FLAGS, resolveFlags } from "../lib/database-flags";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { MIGRATOR, ensureCloudSqlRoles, prepareCloudSqlDatabase } from "./harness/cloudsql";
import { withClient } from "./harness/db";
import { DEBIAN_PG15, missingDebianPackages, startDebianPostgres, type DebianServer } from "./harness/debian-postgres";

const missing = missingDebianPackages();
if (missing.length > 0) {
  const bar = "!".repeat(78);
  console.warn(
    `\n${bar}\nSKIPPED: the real pg_cron/pgAudit suite (test/extensions-real.test.ts) needs the Debian packages\n` +
      `  ${missing.join(" ")}\nInstall them: apt-get update && apt-get install -y ${Object.keys(DEBIAN_PG15.packages).join(" ")}\n${bar}\n`,
  );
}

/** The application database: pg_cron runs jobs only in cron.database_name, which the stack sets to it. */
const DATABASE = "learning_platform";
/** pg_cron 1.4 (Debian 12's) has no seconds schedules; every minute is its shortest. */
const EVERY_MINUTE = "* * * * *";
/** Longest wait for a job run: one schedule period plus pg_cron's start-up. */
const JOB_RUN_WAIT_MS = 90_000;

describe.skipIf(missing.length > 0)("real pg_cron and pgAudit (Debian PostgreSQL 15)", () => {
  let server: DebianServer;
  const flags = resolveFlags({ tier: "db-perf-optimized-N-2", databaseName: DATABASE });
  const migrator = () => ({ ...server.config(DATABASE), user: MIGRATOR.name, password: MIGRATOR.password });

  beforeAll(async () => {
    server = await startDebianPostgres({
      // Cloud SQL preloads these when cloudsql.enable_pg_cron / cloudsql.enable_pgaudit are on.
      shared_preload_libraries: "pg_stat_statements,pg_cron,pgaudit",
      "cron.database_name": flags["cron.database_name"],
      "pgaudit.log": flags["pgaudit.log"],
      // Jobs run in background workers, not over a libpq login (which would need a password here).
      "cron.use_background_workers": "on",
      max_worker_processes: "16",
      log_line_prefix: "%m [%p] %u@%d ",
    });
    await ensureCloudSqlRoles(server.config());
    await withClient(server.config(), (c) => c.query(`CREATE DATABASE ${DATABASE}`));
    await prepareCloudSqlDatabase((db) => server.config(db), DATABASE, ["pg_cron", "pgaudit"]);
    await withClient(migrator(), (c) => applyMigrations(c, loadMigrations()));
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  });

  test("the server runs the stack's pgaudit.log and cron.database_name", async () => {
    expect(flags["pgaudit.log"]).toBe(OPERATIONAL_FLAGS["pgaudit.log"]);
    const { rows } = await withClient(migrator(), (c) =>
      c.query("SELECT current_setting('pgaudit.log') AS audit, current_setting('cron.database_name') AS cron, current_setting('server_version_num')::int / 10000 AS major"),
    );
    expect(rows[0]).toEqual({ audit: flags["pgaudit.log"], cron: DATABASE, major: 15 });
  });

  test("every job in lp_ops.scheduled_jobs is in cron.job for the application database, as the migration user", async () => {
    await withClient(server.config(DATABASE), async (c) => {
      const wanted = (await c.query("SELECT jobname, schedule, command FROM lp_ops.scheduled_jobs ORDER BY 1")).rows;
      expect(wanted.map((j) => j.jobname)).toEqual(["lp-fold-analytics-rollup", "lp-partition-maintenance", "lp-refresh-analytics-views"]);
      const jobs = (await c.query("SELECT jobname, schedule, command, database, username, active FROM cron.job ORDER BY jobname")).rows;
      expect(jobs).toEqual(wanted.map((j) => ({ ...j, database: DATABASE, username: MIGRATOR.name, active: true })));
    });
  });

  test("re-running the migrations (ledger forgotten) schedules no duplicate and keeps each job's id", async () => {
    const ids = async () => (await withClient(server.config(DATABASE), (c) => c.query("SELECT jobid, jobname FROM cron.job ORDER BY jobname"))).rows;
    const before = await ids();
    await withClient(migrator(), async (c) => {
      await c.query("TRUNCATE lp_meta.schema_ledger");
      const again = await applyMigrations(c, loadMigrations());
      expect(again.applied).toEqual(loadMigrations().map((m) => m.name));
      expect((await c.query("SELECT lp_ops.schedule_jobs() AS n")).rows[0].n).toBe(3);
    });
    expect(await ids()).toEqual(before);
  });

  test(
    "pg_cron runs every job as the migration user and they succeed (cron.job_run_details)",
    async () => {
      const started = new Date();
      await withClient(migrator(), async (c) => {
        // Reschedule through the migrations' own path, then put the schedules back the same way.
        await c.query("UPDATE lp_ops.scheduled_jobs SET schedule = $1", [EVERY_MINUTE]);
        expect((await c.query("SELECT lp_ops.schedule_jobs() AS n")).rows[0].n).toBe(3);
      });
      let runs: { jobname: string; status: string; return_message: string; username: string; database: string }[] = [];
      const deadline = Date.now() + JOB_RUN_WAIT_MS;
      while (Date.now() < deadline) {
        runs = (
          await withClient(server.config(DATABASE), (c) =>
            c.query(
              `SELECT DISTINCT ON (j.jobname) j.jobname, d.status, d.return_message, d.username, d.database
                 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                WHERE d.start_time >= $1 AND d.status IN ('succeeded', 'failed')
                ORDER BY j.jobname, d.start_time`,
              [started],
            ),
          )
        ).rows;
        if (runs.length === 3) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      await withClient(migrator(), async (c) => {
        await c.query("TRUNCATE lp_meta.schema_ledger");
        await applyMigrations(c, loadMigrations());
      });
      expect(runs).toEqual([
        { jobname: "lp-fold-analytics-rollup", status: "succeeded", return_message: expect.stringMatching(/^SELECT 1$/), username: MIGRATOR.name, database: DATABASE },
        { jobname: "lp-partition-maintenance", status: "succeeded", return_message: expect.stringMatching(/^SELECT 1$/), username: MIGRATOR.name, database: DATABASE },
        { jobname: "lp-refresh-analytics-views", status: "succeeded", return_message: expect.stringMatching(/^SELECT 1$/), username: MIGRATOR.name, database: DATABASE },
      ]);
      const schedules = await withClient(server.config(DATABASE), (c) => c.query("SELECT jobname, schedule FROM cron.job ORDER BY 1"));
      expect(schedules.rows).toEqual([
        { jobname: "lp-fold-analytics-rollup", schedule: "* * * * *" },
        { jobname: "lp-partition-maintenance", schedule: "15 2 * * *" },
        { jobname: "lp-refresh-analytics-views", schedule: "5 * * * *" },
      ]);
    },
    JOB_RUN_WAIT_MS + 60_000,
  );

  test("pgaudit is created by 0015, and DDL and role statements are in the server log as AUDIT lines with object names; reads and writes are not", async () => {
    const ext = await withClient(server.config(DATABASE), (c) => c.query("SELECT extname FROM pg_extension WHERE extname = 'pgaudit'"));
    expect(ext.rows).toEqual([{ extname: "pgaudit" }]);
    // A partition maintenance creates (DDL), a grant to a new login (ROLE), and an insert (WRITE, not selected).
    const login = `lp_audit_probe_${process.pid}`;
    await withClient(migrator(), async (c) => {
      await c.query("SELECT * FROM lp_ops.maintain_partitions(now() + interval '8 months')");
      await c.query(`CREATE ROLE ${login} LOGIN`);
      await c.query(`GRANT lp_app_rw TO ${login}`);
      await c.query("INSERT INTO lp_ops.scheduled_jobs VALUES ('lp-audit-probe', '0 0 1 1 *', 'SELECT 1')");
      await c.query("DELETE FROM lp_ops.scheduled_jobs WHERE jobname = 'lp-audit-probe'");
    });
    const audit = server.log().split("\n").filter((l) => l.includes("AUDIT: "));
    const ddl = audit.filter((l) => /AUDIT: SESSION,\d+,\d+,DDL,/.test(l));
    const role = audit.filter((l) => /AUDIT: SESSION,\d+,\d+,ROLE,/.test(l));
    // The migrations' own DDL and maintenance's, each with its object named by the extension's event trigger.
    expect(ddl).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/,DDL,CREATE TABLE,TABLE,public\.users,/),
        expect.stringMatching(/,DDL,CREATE TABLE,TABLE,public\.analytics_events_p\d{6},/),
      ]),
    );
    // Role statements: the probe's, and the migrations' own (0002) as the migration user.
    expect(role).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`,ROLE,CREATE ROLE,,,CREATE ROLE ${login} LOGIN`)),
        expect.stringMatching(new RegExp(`,ROLE,GRANT ROLE,,,GRANT lp_app_rw TO ${login}`)),
        expect.stringMatching(new RegExp(`${MIGRATOR.name}@${DATABASE} .*,ROLE,ALTER ROLE,,,ALTER ROLE lp_app_rw CONNECTION LIMIT`)),
      ]),
    );
    // pgaudit.log = ddl,role: statement text of reads and writes (personal data) stays out of the log.
    expect(audit.filter((l) => /,(READ|WRITE),/.test(l))).toEqual([]);
    await withClient(server.config(), (c) => c.query(`DROP ROLE ${login}`));
  });
});
