/**
 * Faults, through the serialized SchemaMigrations provider replayed in fresh
 * processes (test/harness/provider.ts) against the embedded PostgreSQL:
 * concurrent applies, a backend killed mid-migration, a failed CONCURRENTLY
 * build, a tampered migration, bad SQL, a wrong password, an unreachable host;
 * and no secret in any output, log line or error.
 */
import * as net from "net";
import type { Client } from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { ADVISORY_LOCK_KEY, readLedger } from "../lib/migrate/engine";
import type { SchemaMigrationsInputs } from "../lib/migrate/inputs";
import { createCloudSqlDatabase, MIGRATOR, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";
import { freePort } from "./harness/postgres";
import { waitFor } from "./harness/wait";
import { failed, localInputs, ok, replay, testMigration, type Replay } from "./harness/provider";

const ID = "lp-schema-migrations/test";
/** Advisory lock a test migration blocks on, so the test can act while it is in flight. */
const GATE = 424_242;
const WRONG_PASSWORD = "Wr0ng-but-still-a-secret";

const databases: string[] = [];
const runs: Replay[] = [];

async function freshDatabase(prefix: string): Promise<string> {
  const name = await createCloudSqlDatabase(prefix);
  databases.push(name);
  return name;
}

/** replay() that keeps every run for the secrets check at the end. */
async function run(...args: Parameters<typeof replay>): Promise<Replay> {
  const r = await replay(...args);
  runs.push(r);
  return r;
}

afterAll(async () => {
  for (const name of databases) await dropDatabase(name);
});

/** Pids of sessions on `db` waiting for the advisory lock (classid, objid). */
async function waitingOn(c: Client, db: string, key: bigint): Promise<number[]> {
  const { rows } = await c.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1 AND l.classid = $2 AND l.objid = $3`,
    [db, Number(key >> 32n), Number(key & 0xffffffffn)],
  );
  return rows.map((r) => r.pid);
}

async function scalar<T>(db: string, sql: string, values: unknown[] = []): Promise<T> {
  return withClient(serverConfig(db), async (c) => (await c.query(sql, values)).rows[0].v as T);
}

const ledgerNames = async (db: string) => (await withClient(migratorConfig(db), readLedger)).map((r) => r.name);

describe("faults", () => {
  test("two concurrent applies: both wait for the lock, then each migration is applied once", async () => {
    const db = await freshDatabase("provider_concurrent");
    const counter = testMigration("9001_apply_counter.sql", "CREATE TABLE apply_counter (n int);\nINSERT INTO apply_counter VALUES (1);");
    const inputs = localInputs(db, { migrations: [...localInputs(db).migrations, counter] });
    await withClient(serverConfig(db), async (holder) => {
      await holder.query("SELECT pg_advisory_lock($1)", [ADVISORY_LOCK_KEY.toString()]);
      const both = Promise.all([run([{ op: "create", args: [inputs] }]), run([{ op: "create", args: [inputs] }])]);
      // A run waits by polling pg_try_advisory_lock (never blocked inside a statement; see lib/migrate acquireLock).
      await waitFor("both applies to poll for the migration lock", async () => {
        const { rows } = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'lp-db schema migrations' AND query LIKE '%pg_try_advisory_lock%'`,
          [db],
        );
        return rows[0].n === 2 ? true : undefined;
      });
      await holder.query("SELECT pg_advisory_unlock($1)", [ADVISORY_LOCK_KEY.toString()]);
      const [a, b] = (await both).map((r) => ok(r.results[0]).outs);
      expect([a.appliedThisRun.length, b.appliedThisRun.length].sort()).toEqual([0, inputs.migrations.length]);
      expect(a.ledgerHead).toBe(b.ledgerHead);
    });
    expect(await scalar<number>(db, "SELECT count(*)::int AS v FROM apply_counter")).toBe(1);
    expect(await ledgerNames(db)).toEqual(inputs.migrations.map((m) => m.name));
  });

  test("the lock wait is bounded: a held lock fails the apply with a message", async () => {
    const db = await freshDatabase("provider_lockwait");
    const inputs = localInputs(db, { tuning: { lockTimeoutMs: 200, maxAttempts: 1 } });
    await withClient(serverConfig(db), async (holder) => {
      await holder.query("SELECT pg_advisory_lock($1)", [ADVISORY_LOCK_KEY.toString()]);
      const r = await run([{ op: "create", args: [inputs] }]);
      expect(failed(r.results[0]).message).toMatch(/holds the migration lock.*200 ms/);
    });
  });

  describe("a backend killed mid-migration", () => {
    const seed = testMigration("9001_kept_rows.sql", "CREATE TABLE kept_rows (id int PRIMARY KEY);\nINSERT INTO kept_rows SELECT generate_series(1, 100);");
    const killed = testMigration(
      "9002_killed.sql",
      `CREATE TABLE killed_partial (id int);
INSERT INTO killed_partial SELECT generate_series(1, 10);
INSERT INTO kept_rows SELECT generate_series(101, 110);
SELECT pg_advisory_xact_lock(${GATE});`,
    );

    async function seeded(prefix: string, tuning: SchemaMigrationsInputs["tuning"]): Promise<{ db: string; inputs: SchemaMigrationsInputs }> {
      const db = await freshDatabase(prefix);
      const base = localInputs(db);
      ok((await run([{ op: "create", args: [{ ...base, migrations: [...base.migrations, seed] }] }])).results[0]);
      return { db, inputs: { ...base, migrations: [...base.migrations, seed, killed], tuning: { ...base.tuning, ...tuning } } };
    }

    /** Asserts nothing of 9002 is visible and the rows of 9001 are all there. */
    async function noPartialState(db: string): Promise<void> {
      expect(await scalar<string | null>(db, "SELECT to_regclass('killed_partial')::text AS v")).toBeNull();
      expect(await scalar<number>(db, "SELECT count(*)::int AS v FROM kept_rows")).toBe(100);
      expect(await ledgerNames(db)).not.toContain(killed.name);
    }

    async function converged(db: string): Promise<void> {
      expect(await scalar<number>(db, "SELECT count(*)::int AS v FROM killed_partial")).toBe(10);
      expect(await scalar<number>(db, "SELECT count(*)::int AS v FROM kept_rows")).toBe(110);
      expect((await ledgerNames(db)).filter((n) => n === killed.name)).toEqual([killed.name]);
    }

    test("with one attempt the apply fails naming the migration; the rerun converges", async () => {
      const { db, inputs } = await seeded("provider_killed_once", { maxAttempts: 1 });
      await withClient(serverConfig(db), async (gate) => {
        await gate.query("SELECT pg_advisory_lock($1)", [GATE]);
        const pending = run([{ op: "create", args: [inputs] }]);
        const [pid] = await waitFor("the migration to block on the gate", async () => {
          const pids = await waitingOn(gate, db, BigInt(GATE));
          return pids.length ? pids : undefined;
        });
        await gate.query("SELECT pg_terminate_backend($1)", [pid]);
        expect(failed((await pending).results[0]).message).toMatch(/9002_killed\.sql/);
        await noPartialState(db);
        await gate.query("SELECT pg_advisory_unlock($1)", [GATE]);
      });
      const rerun = await run([{ op: "create", args: [{ ...inputs, tuning: { ...inputs.tuning, maxAttempts: 3 } }] }]);
      expect(ok(rerun.results[0]).outs.appliedThisRun).toEqual([killed.name]);
      await converged(db);
    });

    test("with retries the same apply reconnects and converges", async () => {
      const { db, inputs } = await seeded("provider_killed_retry", { maxAttempts: 3 });
      await withClient(serverConfig(db), async (gate) => {
        await gate.query("SELECT pg_advisory_lock($1)", [GATE]);
        const pending = run([{ op: "create", args: [inputs] }]);
        const [first] = await waitFor("the migration to block on the gate", async () => {
          const pids = await waitingOn(gate, db, BigInt(GATE));
          return pids.length ? pids : undefined;
        });
        await gate.query("SELECT pg_terminate_backend($1)", [first]);
        await waitFor("the retry to block on the gate", async () => {
          const pids = await waitingOn(gate, db, BigInt(GATE));
          return pids.length && !pids.includes(first) ? pids : undefined;
        });
        await noPartialState(db);
        await gate.query("SELECT pg_advisory_unlock($1)", [GATE]);
        const result = await pending;
        expect(ok(result.results[0]).outs.appliedThisRun).toEqual([killed.name]);
        expect(result.output).toMatch(/retrying/);
      });
      await converged(db);
    });
  });

  test("a failed CONCURRENTLY build leaves an invalid index that the rerun drops and rebuilds", async () => {
    const db = await freshDatabase("provider_cic");
    const base = localInputs(db);
    const table = testMigration("9001_dup_table.sql", "CREATE TABLE dup_t (v int);\nINSERT INTO dup_t VALUES (1), (1), (2);");
    const index = testMigration("9002_dup_index.sql", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dup_t_v_key ON dup_t (v);", { noTransaction: true });
    const inputs = { ...base, migrations: [...base.migrations, table, index] };
    const first = await run([{ op: "create", args: [inputs] }]);
    expect(failed(first.results[0]).message).toMatch(/9002_dup_index\.sql.*line 3/s);
    const validity = () => scalar<boolean | null>(db, "SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('dup_t_v_key')) AS v");
    expect(await validity()).toBe(false);
    expect(await ledgerNames(db)).not.toContain(index.name);

    await withClient(serverConfig(db), (c) => c.query("DELETE FROM dup_t a USING dup_t b WHERE a.ctid > b.ctid AND a.v = b.v"));
    const rerun = await run([{ op: "create", args: [inputs] }]);
    expect(ok(rerun.results[0]).outs.appliedThisRun).toEqual([index.name]);
    expect(rerun.output).toMatch(/dropping INVALID index .*dup_t_v_key/);
    expect(await validity()).toBe(true);
  });

  test("a tampered, already-applied migration is refused, naming the file, and nothing else runs", async () => {
    const db = await freshDatabase("provider_tampered");
    const base = localInputs(db);
    const original = testMigration("9001_tamper_me.sql", "CREATE TABLE tamper_me (id int);");
    const outs = ok((await run([{ op: "create", args: [{ ...base, migrations: [...base.migrations, original] }] }])).results[0]).outs;
    const edited = testMigration("9001_tamper_me.sql", "CREATE TABLE tamper_me (id bigint);");
    const later = testMigration("9002_after_tamper.sql", "CREATE TABLE after_tamper (id int);");
    const r = await run([{ op: "update", args: [ID, outs, { ...base, migrations: [...base.migrations, edited, later] }] }]);
    expect(failed(r.results[0]).message).toMatch(/changed since they were applied: 9001_tamper_me\.sql/);
    expect(await scalar<string | null>(db, "SELECT to_regclass('after_tamper')::text AS v")).toBeNull();
  });

  test("bad SQL leaves no partial state and the error names the file and the position", async () => {
    const db = await freshDatabase("provider_badsql");
    const base = localInputs(db);
    const bad = testMigration("9001_bad_sql.sql", "CREATE TABLE bad_partial (id int);\nINSERT INTO no_such_table VALUES (1);");
    const r = await run([{ op: "create", args: [{ ...base, migrations: [...base.migrations, bad] }] }]);
    const error = failed(r.results[0]);
    expect(error.message).toMatch(/migration 9001_bad_sql\.sql failed at line 3, column 13/);
    expect(error.message).toMatch(/no_such_table/);
    expect(await scalar<string | null>(db, "SELECT to_regclass('bad_partial')::text AS v")).toBeNull();
    expect(await ledgerNames(db)).toEqual(base.migrations.map((m) => m.name));
  });

  describe("connecting", () => {
    test("a wrong password fails with an authentication message that does not contain it", async () => {
      const db = await freshDatabase("provider_badpw");
      const r = await run([{ op: "create", args: [localInputs(db, { password: WRONG_PASSWORD })] }]);
      const message = failed(r.results[0]).message;
      expect(message).toMatch(new RegExp(`${MIGRATOR.name}@127\\.0\\.0\\.1:\\d+/${db}: authentication failed`));
      expect(message).not.toContain(WRONG_PASSWORD);
    });

    test("a host that never answers fails at the configured connect timeout, naming it", async () => {
      const silent = net.createServer(() => undefined); // accepts, never speaks
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const r = await run([{ op: "create", args: [localInputs("nowhere", { port, tuning: { connectTimeoutMs: 300, maxAttempts: 2, retryBaseMs: 10 } })] }]);
        expect(failed(r.results[0]).message).toMatch(/no answer within the 300 ms connect timeout.*gave up after 2 attempts|gave up after 2 attempts.*no answer within the 300 ms connect timeout/s);
      } finally {
        silent.close();
      }
    });

    test("a port nobody listens on fails as unreachable", async () => {
      const port = await freePort();
      const r = await run([{ op: "create", args: [localInputs("nowhere", { port, tuning: { maxAttempts: 1 } })] }]);
      expect(failed(r.results[0]).message).toMatch(/cannot reach the server.*ECONNREFUSED/);
    });
  });

  test("no password in any output, log line or error of the runs above", () => {
    expect(runs.length).toBeGreaterThan(10);
    for (const r of runs) {
      const text = r.output + JSON.stringify(r.results, (key, value: unknown) => (key === "password" ? undefined : value));
      expect(text).not.toContain(MIGRATOR.password);
      expect(text).not.toContain(WRONG_PASSWORD);
    }
  });
});
