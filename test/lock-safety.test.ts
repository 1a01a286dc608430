/**
 * Migration and maintenance steps that take strong locks, against embedded
 * PostgreSQL under the Cloud SQL privilege emulation: each lock is requested
 * under a short lock_timeout and retried (lp_ops.with_lock_retries), so a
 * blocked step never queues writers for long, fails with the blocking session
 * named (only sessions whose locks conflict with the step's), and a
 * conversion that cannot finish leaves no bound behind: it removes its own,
 * and maintenance removes one left by a conversion whose session died.
 *
 * Lock waits are asserted through lock_timeout behaviour and pg_locks, never
 * wall-clock: a writer or reader with a 250 ms lock_timeout must get through.
 */
import { Client } from "pg";
import { afterAll, describe, expect, test, vi } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { runPartitionMaintenance } from "../lib/migrate/maintenance";
import { createCloudSqlDatabase, createIamLikeLogin, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";
import { waitFor } from "./harness/wait";

const migrations = loadMigrations();
const upTo = (n: number) => migrations.filter((m) => Number(m.name.slice(0, 4)) <= n);
/** What an application session tolerates behind a migration step (GUIDE: writers never wait more than 250 ms). */
const WRITER_LOCK_TIMEOUT = "250ms";

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

/** A migrator session left open (a reader, a holder), ended after the file. */
async function session(db: string, applicationName: string): Promise<Client> {
  const c = new Client({ ...migratorConfig(db), application_name: applicationName });
  await c.connect();
  sessions.push(c);
  return c;
}

/** A session that has run `sql` in a transaction it keeps open (a long read, a held lock); returns it and its pid. */
async function openTransaction(db: string, applicationName: string, sql: string): Promise<{ client: Client; pid: number }> {
  const client = await session(db, applicationName);
  await client.query("BEGIN");
  await client.query(sql);
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  return { client, pid };
}

/** True while some session waits (not granted) for a lock on public.<table>. */
async function someoneWaitsFor(db: string, table: string): Promise<boolean> {
  return withClient(serverConfig(db), async (c) => {
    const { rows } = await c.query(`SELECT 1 FROM pg_locks WHERE locktype = 'relation' AND NOT granted AND relation = to_regclass($1)`, [`public.${table}`]);
    return rows.length > 0;
  });
}

/** Runs `sql` in a fresh session with the application's lock_timeout; rejects if it waited longer. */
async function asApplication(db: string, sql: string, values: unknown[] = []): Promise<void> {
  await withClient(migratorConfig(db), async (c) => {
    await c.query(`SET lock_timeout = '${WRITER_LOCK_TIMEOUT}'`);
    await c.query(sql, values);
  });
}

const constraintsOf = async (db: string, table: string) =>
  withClient(serverConfig(db), async (c) => (await c.query<{ conname: string }>("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) ORDER BY 1", [`public.${table}`])).rows.map((r) => r.conname));
const historyBounds = async (db: string, table: string) => (await constraintsOf(db, table)).filter((c) => c.endsWith("_history_bound"));

describe("0002 hands tables to lp_owner one at a time", () => {
  test("a long read of audit_log does not stall SELECT on users while 0002 waits, and 0002 finishes once the read ends", async () => {
    const db = await freshDatabase("lock_0002", 1);
    const { client: reader } = await openTransaction(db, "long-audit-report", "SELECT count(*) FROM audit_log");
    const migrating = withClient(migratorConfig(db), (c) => applyMigrations(c, upTo(2), { maxAttempts: 1 }));
    migrating.catch(() => undefined);
    await waitFor("0002 to wait for audit_log's lock", async () => ((await someoneWaitsFor(db, "audit_log")) ? true : undefined));
    await asApplication(db, "SELECT count(*) FROM users");
    await reader.query("COMMIT");
    await migrating;
    const owners = await withClient(serverConfig(db), (c) =>
      c.query<{ relname: string; owner: string }>("SELECT relname, relowner::regrole::text AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"),
    );
    expect(owners.rows.filter((r) => r.owner !== "lp_owner")).toEqual([]);
  });

  test("a read that never ends fails 0002 within its bound, naming the table and the blocking session", async () => {
    const db = await freshDatabase("lock_0002_stuck", 1);
    await withClient(serverConfig(db), (c) => c.query(`ALTER DATABASE "${db}" SET lp.lock_retry_total_ms = 300`));
    const { client: reader, pid } = await openTransaction(db, "stuck-audit-report", "SELECT count(*) FROM audit_log");
    await expect(withClient(migratorConfig(db), (c) => applyMigrations(c, upTo(2), { maxAttempts: 1 }))).rejects.toThrow(
      new RegExp(`0002_roles_and_grants\\.sql failed.*0002 ownership: could not lock public\\.audit_log within 300 ms .*blocked by pid ${pid} \\(application_name stuck-audit-report, holds AccessShareLock on public\\.audit_log.*Blocking sessions now: pid ${pid}: application_name stuck-audit-report, query started 20`),
    );
    await reader.query("ROLLBACK");
  });
});

describe("partition maintenance", () => {
  test("creates next months' partitions while a long analytics read holds the parent, and writers keep going", async () => {
    const db = await freshDatabase("lock_maint_read", 11);
    const { client: reader } = await openTransaction(db, "long-analytics-read", "SELECT count(*) FROM analytics_events");
    const result = await withClient(migratorConfig(db), (c) =>
      runPartitionMaintenance(c, { monthsAhead: 2, retentionMonths: {}, asOf: new Date("2031-03-10T00:00:00Z") }),
    );
    expect(result.created).toEqual(expect.arrayContaining(["analytics_events_p203103", "analytics_events_p203104", "analytics_events_p203105"]));
    await asApplication(db, "INSERT INTO analytics_events (event_type, occurred_at) VALUES ('view', '2031-04-02T00:00:00Z')");
    await reader.query("COMMIT");
    // The partition is a full member: indexes attached, grants copied.
    const idx = await withClient(serverConfig(db), (c) =>
      c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'analytics_events_p203104'::regclass AND indisvalid"),
    );
    expect(idx.rows[0].n).toBeGreaterThanOrEqual(4);
  });

  test("a session holding a conflicting lock fails maintenance within its bound, naming partition maintenance and the blocker", async () => {
    const db = await freshDatabase("lock_maint_stuck", 11);
    const { client: holder, pid } = await openTransaction(db, "stuck-ddl", "LOCK TABLE analytics_events IN SHARE UPDATE EXCLUSIVE MODE");
    await expect(
      withClient(migratorConfig(db), async (c) => {
        await c.query("SET lp.lock_retry_total_ms = 300");
        return runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {}, asOf: new Date("2032-01-10T00:00:00Z") });
      }),
    ).rejects.toThrow(new RegExp(`partition maintenance \\(create analytics_events_p203201\\): could not lock public\\.analytics_events within 300 ms .*pid ${pid} \\(application_name stuck-ddl, holds ShareUpdateExclusiveLock on public\\.analytics_events\\).*Blocking sessions now: pid ${pid}: application_name stuck-ddl, query started 20`));
    await holder.query("ROLLBACK");
  });

  test("copies a direct grant to an IAM login (a name that needs quoting) onto new partitions", async () => {
    const db = await freshDatabase("lock_maint_iam", 11);
    const iam = `analyst-sa-${db.slice(-6)}@my-project-1.iam`;
    await createIamLikeLogin(iam);
    await withClient(migratorConfig(db), (c) => c.query(`GRANT SELECT ON analytics_events TO "${iam}"`));
    const result = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {}, asOf: new Date("2033-06-01T00:00:00Z") }));
    expect(result.created).toContain("analytics_events_p203306");
    const acl = await withClient(serverConfig(db), (c) =>
      c.query<{ ok: boolean }>("SELECT has_table_privilege($1, 'public.analytics_events_p203306', 'SELECT') AS ok", [iam]),
    );
    expect(acl.rows[0].ok).toBe(true);
    await withClient(serverConfig(db), (c) => c.query(`DROP OWNED BY "${iam}"; DROP ROLE "${iam}"`)).catch(() => undefined);
  });

  test("retention counts from the server's clock, not the deployer's", async () => {
    const db = await freshDatabase("lock_maint_clock", 11);
    const before = await withClient(serverConfig(db), async (c) => (await c.query("SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'analytics_events'::regclass")).rows[0].n as number);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2045-01-01T00:00:00Z"));
    try {
      const result = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, { monthsAhead: 3, retentionMonths: { analytics_events: 1, audit_log: 1 } }));
      expect(result.dropped).toEqual([]);
      expect(result.created.filter((p) => p.includes("2045"))).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
    const after = await withClient(serverConfig(db), async (c) => (await c.query("SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'analytics_events'::regclass")).rows[0].n as number);
    expect(after).toBe(before);
  });
});

describe("0011 and the history partition", () => {
  test("retention keeps the history partition 0011 still needs, and 0011 applies once retention has dropped it", async () => {
    const db = await freshDatabase("lock_0011_history", 10);
    const far = { monthsAhead: 1, retentionMonths: { analytics_events: 1 }, asOf: new Date("2040-01-15T00:00:00Z") };
    const first = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, far));
    expect(first.dropped).not.toContain("analytics_events_p_history");
    expect(first.held).toEqual([expect.stringMatching(/^analytics_events_p_history: .*0011/)]);
    expect(await withClient(serverConfig(db), async (c) => (await c.query("SELECT to_regclass('public.analytics_events_p_history')::text AS t")).rows[0].t)).toBe(
      "analytics_events_p_history",
    );
    // The operator releases the hold (the runbook's choice); retention then drops the partition, and 0011 still applies.
    await withClient(migratorConfig(db), (c) => c.query("DELETE FROM lp_ops.partition_holds WHERE partition_name = 'analytics_events_p_history'"));
    const second = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, far));
    expect(second.dropped).toContain("analytics_events_p_history");
    await withClient(migratorConfig(db), (c) => applyMigrations(c, upTo(11)));
    const valid = await withClient(serverConfig(db), (c) =>
      c.query<{ v: boolean }>("SELECT indisvalid AS v FROM pg_index WHERE indexrelid = 'public.analytics_events_course_occurred_cov_idx'::regclass"),
    );
    expect(valid.rows[0].v).toBe(true);
  });
});

describe("partition conversion that cannot finish", () => {
  const convert = (db: string, setup = "") =>
    withClient(migratorConfig(db), async (c) => {
      if (setup) await c.query(setup);
      await c.query("SET ROLE lp_owner");
      await c.query("CALL lp_ops.convert_to_monthly_partitions('analytics_events', 'occurred_at')");
    });
  const cutoverOf = async (db: string) =>
    withClient(serverConfig(db), async (c) => (await c.query<{ t: Date }>("SELECT cutover AS t FROM lp_ops.partition_conversion WHERE parent_table = 'analytics_events'")).rows[0].t);

  test("a row dated beyond the cutover is reported up front by id and count; no bound is left, and later inserts succeed", async () => {
    const db = await freshDatabase("lock_conv_future", 6);
    const id = await withClient(migratorConfig(db), async (c) =>
      Number((await c.query("INSERT INTO analytics_events (event_type, occurred_at) VALUES ('clock-skew', now() + interval '8 months') RETURNING id")).rows[0].id),
    );
    await expect(convert(db)).rejects.toThrow(
      new RegExp(
        `convert_to_monthly_partitions\\(public\\.analytics_events\\): step 0 \\(pre-check\\): 1 row dated at or after the cutover \\d{4}-\\d{2}-01.*ids: ${id}\\b.*` +
          `UPDATE lp_ops\\.partition_conversion SET cutover`,
      ),
    );
    expect(await constraintsOf(db, "analytics_events")).not.toContain("analytics_events_history_bound");
    const cutover = await cutoverOf(db);
    await asApplication(db, "INSERT INTO analytics_events (event_type, occurred_at) VALUES ('late', $1::timestamptz + interval '1 day')", [cutover]);
  });

  test("a swap lock held by another session: writers wait at most the short lock_timeout, the bound is removed, the error names table, step and deadline", async () => {
    const db = await freshDatabase("lock_conv_swap", 6);
    // The swap moves the id sequence to the new parent; an open transaction that drew an id holds it.
    const { client: holder, pid } = await openTransaction(db, "id-reserver", "SELECT nextval('public.analytics_events_id_seq')");

    const writer = await session(db, "app-writer");
    await writer.query(`SET lock_timeout = '${WRITER_LOCK_TIMEOUT}'`);
    const writes = { ok: 0, errors: [] as string[] };
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        try {
          await writer.query("INSERT INTO analytics_events (event_type) VALUES ('view')");
          writes.ok++;
        } catch (err) {
          writes.errors.push((err as Error).message);
        }
      }
    })();
    try {
      await expect(convert(db, "SET lp.lock_retry_total_ms = 1500")).rejects.toThrow(
        new RegExp(
          `convert_to_monthly_partitions\\(public\\.analytics_events\\): step 5 \\(swap\\) failed: .*could not lock .*blocked by .*pid ${pid} \\(application_name id-reserver, holds RowExclusiveLock on public\\.analytics_events_id_seq.*` +
            `the bound analytics_events_history_bound was removed.*deadline \\d{4}-\\d{2}-01`,
        ),
      );
      // Some writes committed while the swap kept trying, and none waited past the application's lock_timeout.
      await waitFor("a write after the failed swap", async () => (writes.ok > 0 ? true : undefined));
    } finally {
      stop = true;
      await loop;
    }
    expect(writes.errors).toEqual([]);
    expect(await constraintsOf(db, "analytics_events")).not.toContain("analytics_events_history_bound");
    const cutover = await cutoverOf(db);
    await asApplication(db, "INSERT INTO analytics_events (event_type, occurred_at) VALUES ('late', $1::timestamptz + interval '1 day')", [cutover]);

    // Once the holder is gone a re-run converts the table, keeping every row.
    await holder.query("ROLLBACK");
    await withClient(migratorConfig(db), (c) => c.query("DELETE FROM analytics_events WHERE event_type = 'late'"));
    const rows = await withClient(serverConfig(db), async (c) => (await c.query("SELECT count(*)::int AS n FROM analytics_events")).rows[0].n as number);
    await convert(db);
    const after = await withClient(serverConfig(db), (c) =>
      c.query<{ kind: string; n: number }>("SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'public.analytics_events'::regclass) AS kind, (SELECT count(*)::int FROM analytics_events) AS n"),
    );
    expect(after.rows[0]).toEqual({ kind: "p", n: rows });
  });
});

describe("lock-retry errors", () => {
  test("maintenance blocked by a SHARE lock names that session, not a long read its ATTACH never waited for", async () => {
    const db = await freshDatabase("leftover_blockers", 11);
    await openTransaction(db, "long-analytics-report", "SELECT count(*) FROM analytics_events");
    await openTransaction(db, "index-builder", "LOCK TABLE analytics_events IN SHARE MODE");
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
    await openTransaction(db, "id-reserver", "SELECT nextval('audit_log_id_seq')");
    const converter = await session(db, "converter");
    converter.on("error", () => undefined); // its backend is terminated below
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
    expect(await historyBounds(db, "audit_log")).toEqual(["audit_log_history_bound"]);

    // Far from its cutover (a conversion picks one at least a month ahead): a running conversion's bound looks the same, so it stays.
    const far = await withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {} }));
    expect(far.removedBounds).toEqual([]);
    expect(await historyBounds(db, "audit_log")).toEqual(["audit_log_history_bound"]);

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
    expect(await historyBounds(db, "audit_log")).toEqual([]);
    await withClient(migratorConfig(db), (c) => c.query("INSERT INTO audit_log (action, entity_type, created_at) VALUES ('x', 'y', now() + interval '4 days')"));
  });
});
