/**
 * What a blocked or interrupted lock step leaves for the operator, against
 * embedded PostgreSQL under the Cloud SQL privilege emulation: a lock-retry
 * error names only the sessions whose locks conflict with the lock the step
 * asks for, and a cutover bound left by a conversion whose session died is
 * removed by partition maintenance before it can reject a write.
 */
import { Client } from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { runPartitionMaintenance } from "../lib/migrate/maintenance";
import { createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";
import { waitFor } from "./harness/wait";

const migrations = loadMigrations();
const upTo = (n: number) => migrations.filter((m) => Number(m.name.slice(0, 4)) <= n);

const databases: string[] = [];
const sessions: Client[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
  for (const db of databases) await dropDatabase(db);
});

async function freshDatabase(prefix: string, upToMigration: number): Promise<string> {
  const db = await createCloudSqlDatabase(prefix);
  databases.push(db);
  await withClient(migratorConfig(db), (c) => applyMigrations(c, upTo(upToMigration)));
  return db;
}

/** A migrator session with an open transaction that ran `sql` (and holds its locks); ended after the file. */
async function holding(db: string, applicationName: string, sql: string): Promise<Client> {
  const c = new Client({ ...migratorConfig(db), application_name: applicationName });
  await c.connect();
  sessions.push(c);
  await c.query("BEGIN");
  await c.query(sql);
  return c;
}

const boundsOf = (db: string, table: string) =>
  withClient(serverConfig(db), async (c) =>
    (await c.query<{ conname: string }>("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname LIKE '%history_bound'", [`public.${table}`])).rows.map(
      (r) => r.conname,
    ),
  );

describe("lock-retry errors", () => {
  test("maintenance blocked by a SHARE lock names that session, not a long read its ATTACH never waited for", async () => {
    const db = await freshDatabase("leftover_blockers", 11);
    await holding(db, "long-analytics-report", "SELECT count(*) FROM analytics_events");
    await holding(db, "index-builder", "LOCK TABLE analytics_events IN SHARE MODE");
    const message = await withClient(migratorConfig(db), async (c) => {
      await c.query("SET lp.lock_retry_total_ms = 300");
      return runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {}, asOf: new Date("2032-01-10T00:00:00Z") }).then(
        () => "",
        (err: Error) => err.message,
      );
    });
    expect(message).toMatch(/^partition maintenance \(create analytics_events_p203201\): could not lock public\.analytics_events .*blocked by pid \d+ \(application_name index-builder, holds ShareLock/);
    expect(message).not.toMatch(/long-analytics-report/);
  });

  test("a lock mode the helper does not know is refused, naming the modes it knows", async () => {
    const db = await freshDatabase("leftover_mode", 2);
    await expect(
      withClient(migratorConfig(db), (c) => c.query("SELECT lp_ops.with_lock_retries('t', 'public.users', ARRAY['SELECT 1'], p_lock_mode => 'RowShareLock')")),
    ).rejects.toThrow(/lock mode RowShareLock is not one of AccessExclusiveLock, ShareUpdateExclusiveLock, ShareLock/);
  });
});

describe("a conversion whose session died", () => {
  test("leaves its bound; maintenance keeps it while the cutover is far, removes it within a week of it, and later inserts succeed", async () => {
    const db = await freshDatabase("leftover_bound", 6);
    // A transaction that drew an id holds a lock on the id sequence, which only the swap (step 5) needs to
    // change (ALTER SEQUENCE ... OWNED BY): the conversion validates its bound, then waits in the swap.
    await holding(db, "id-reserver", "SELECT nextval('audit_log_id_seq')");
    const converter = new Client({ ...migratorConfig(db), application_name: "converter" });
    converter.on("error", () => undefined); // its backend is terminated below
    await converter.connect();
    sessions.push(converter);
    const pid = (await converter.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    await converter.query("SET lp.lock_retry_total_ms = 600000; SET ROLE lp_owner");
    const converting = converter.query("CALL lp_ops.convert_to_monthly_partitions('audit_log', 'created_at')").catch((err: Error) => err);
    await waitFor("the conversion to validate its bound and wait for the swap", async () => {
      const { rows } = await withClient(serverConfig(db), (c) =>
        c.query("SELECT 1 FROM pg_constraint WHERE conname = 'audit_log_history_bound' AND convalidated AND EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND NOT granted)", [pid]),
      );
      return rows.length ? true : undefined;
    });
    await withClient(serverConfig(db), (c) => c.query("SELECT pg_terminate_backend($1)", [pid]));
    expect(String(await converting)).toMatch(/terminat/);
    expect(await boundsOf(db, "audit_log")).toEqual(["audit_log_history_bound"]);

    // Far from its cutover (a conversion picks one at least a month ahead): a running conversion's bound looks the same, so it stays.
    const far = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {} }));
    expect(far.removedBounds).toEqual([]);
    expect(await boundsOf(db, "audit_log")).toEqual(["audit_log_history_bound"]);

    // The same bound three days before its cutover: what the daily maintenance finds once the clock gets there.
    await withClient(migratorConfig(db), (c) =>
      c.query(`SET ROLE lp_owner;
               ALTER TABLE audit_log DROP CONSTRAINT audit_log_history_bound;
               DO $$ BEGIN
                 EXECUTE format('ALTER TABLE audit_log ADD CONSTRAINT audit_log_history_bound CHECK (created_at < %L::timestamptz) NOT VALID',
                                date_trunc('hour', now()) + interval '3 days');
               END $$;`),
    );
    await expect(
      withClient(migratorConfig(db), (c) => c.query("INSERT INTO audit_log (action, entity_type, created_at) VALUES ('x', 'y', now() + interval '4 days')")),
    ).rejects.toThrow(/violates check constraint "audit_log_history_bound"/);
    const near = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {} }));
    expect(near.removedBounds).toEqual([expect.stringMatching(/^audit_log_history_bound: left by a stopped conversion; cutover \d{4}-\d{2}-\d{2} \d{2}:00 UTC$/)]);
    expect(await boundsOf(db, "audit_log")).toEqual([]);
    await withClient(migratorConfig(db), (c) => c.query("INSERT INTO audit_log (action, entity_type, created_at) VALUES ('x', 'y', now() + interval '4 days')"));
  });
});
