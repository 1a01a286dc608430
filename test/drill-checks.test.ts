/**
 * The recovery drill's verification checks against the embedded PostgreSQL,
 * on a clone made by logical dump and restore.
 *
 * Why a dump and restore in Node: the embedded server ships no pg_dump or
 * psql, and Debian's pg_dump (v15) cannot dump a v18 server. So the harness
 * does what pg_dump + pg_restore would, in the same order:
 *   1. schema — the clone gets the repository's migrations (the schema's
 *      source of truth), then every partition the source created at run time
 *      (partition maintenance), from the source's catalog (`pg_get_expr` of
 *      each partition bound);
 *   2. data — every ordinary table (including each partition) is emptied and
 *      copied in batches from one repeatable-read snapshot of the source, as
 *      JSON text through `jsonb_populate_recordset` (never parsed in Node,
 *      which would round numeric values), identity values kept,
 *      generated columns recomputed, triggers and foreign keys off during
 *      the load (`session_replication_role = replica`, as pg_restore
 *      --disable-triggers does);
 *   3. sequences — set to the source's positions.
 * `CREATE DATABASE … TEMPLATE` would be a file copy, not a restore; it is used
 * only to fork the already-restored clone into the tampered variants.
 * The harness checks its own result: every table's contents hash the same on
 * the source and the clone.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Client } from "pg";
import { ROOT } from "../lib/mock-runtime";
import { LEDGER_TABLE, applyMigrations, ledgerHead, readLedger } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { runPartitionMaintenance } from "../lib/migrate/maintenance";
import {
  RTO_TARGET_MINUTES,
  checkPartitions,
  describeFailures,
  parseRowBounds,
  quoteTable,
  recoveryTime,
  requiredMonths,
  runDrillChecks,
  type DrillExpectations,
} from "../lib/drill-checks";
import { verificationProvider, type VerificationInputs } from "../components/drill-verification";
import { createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { createDatabase, dropDatabase, serverConfig, withClient } from "./harness/db";

const PARTITIONED = ["analytics_events", "audit_log"];
const MONTHS_AHEAD = 3;
const KEY_TABLES = ["users", "courses", "enrollments", "analytics_events", "audit_log"];
const BATCH_ROWS = 500;
const databases: string[] = [];

/** Ordinary tables (partitions included) that belong to the application, not to an extension or the system. */
async function userTables(c: Client): Promise<string[]> {
  const { rows } = await c.query<{ t: string }>(`
    SELECT format('%I.%I', n.nspname, cl.relname) AS t
      FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
     WHERE cl.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = cl.oid AND d.deptype = 'e')
     ORDER BY 1`);
  return rows.map((r) => r.t);
}

/** Partitions of partitioned tables: parent, child, bound clause and owner. */
async function partitions(c: Client): Promise<{ parent: string; child: string; bound: string; owner: string }[]> {
  const { rows } = await c.query<{ parent: string; child: string; bound: string; owner: string }>(`
    SELECT format('%I.%I', pn.nspname, p.relname) AS parent, format('%I.%I', cn.nspname, ch.relname) AS child,
           pg_get_expr(ch.relpartbound, ch.oid) AS bound, pg_get_userbyid(ch.relowner) AS owner
      FROM pg_inherits i
      JOIN pg_class ch ON ch.oid = i.inhrelid JOIN pg_namespace cn ON cn.oid = ch.relnamespace
      JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
     WHERE p.relkind = 'p'
     ORDER BY 1, 2`);
  return rows;
}

/** A content hash per table (row text sorted, so physical order does not matter). */
async function tableHashes(database: string): Promise<Record<string, string>> {
  return withClient(serverConfig(database), async (c) => {
    const out: Record<string, string> = {};
    for (const t of await userTables(c)) {
      const { rows } = await c.query<{ h: string | null; n: string }>(
        `SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) AS h, count(*)::text AS n FROM ONLY ${t} x`,
      );
      out[t] = `${rows[0].n}:${rows[0].h ?? "-"}`;
    }
    return out;
  });
}

/** Logical dump of `source` restored into a new database; returns its name. */
async function dumpAndRestore(source: string, prefix: string): Promise<string> {
  const clone = await createCloudSqlDatabase(prefix);
  databases.push(clone);
  // 1. Schema: the migrations, then the partitions made at run time.
  await withClient(migratorConfig(clone), (c) => applyMigrations(c, loadMigrations()));
  await withClient(serverConfig(source), (src) =>
    withClient(serverConfig(clone), async (dst) => {
      await src.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      for (const p of await partitions(src)) {
        await dst.query(`CREATE TABLE IF NOT EXISTS ${p.child} PARTITION OF ${p.parent} ${p.bound}`);
        await dst.query(`ALTER TABLE ${p.child} OWNER TO "${p.owner}"`);
      }
      // 2. Data, from one snapshot.
      const tables = await userTables(src);
      expect(await userTables(dst)).toEqual(tables);
      await dst.query("BEGIN");
      await dst.query("SET LOCAL session_replication_role = replica");
      await dst.query(`TRUNCATE ${tables.join(", ")}`);
      for (const t of tables) {
        const cols = (
          await src.query<{ a: string }>(
            "SELECT quote_ident(attname) AS a FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            [t],
          )
        ).rows.map((r) => r.a);
        const list = cols.join(", ");
        for (let offset = 0; ; offset += BATCH_ROWS) {
          // As text, never parsed in Node: a JS number would round numeric values.
          const { rows } = await src.query<{ batch: string; n: number }>(
            `SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb)::text AS batch, count(*)::int AS n
               FROM (SELECT * FROM ONLY ${t} ORDER BY ctid LIMIT $1 OFFSET $2) x`,
            [BATCH_ROWS, offset],
          );
          if (rows[0].n === 0) break;
          await dst.query(
            `INSERT INTO ${t} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)`,
            [rows[0].batch],
          );
        }
      }
      // 3. Sequences.
      const seqs = await src.query<{ s: string; last_value: string | null }>(
        "SELECT format('%I.%I', schemaname, sequencename) AS s, last_value::text FROM pg_sequences",
      );
      for (const s of seqs.rows) {
        await dst.query(s.last_value === null ? `SELECT setval($1::regclass, 1, false)` : `SELECT setval($1::regclass, $2::bigint, true)`, [
          s.s,
          ...(s.last_value === null ? [] : [s.last_value]),
        ]);
      }
      await dst.query("COMMIT");
      await src.query("COMMIT");
    }),
  );
  return clone;
}

/** A copy of an already-restored clone, to tamper with. */
async function fork(clone: string, prefix: string): Promise<string> {
  const name = await createDatabase(prefix);
  await dropDatabase(name);
  await withClient(serverConfig(), (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${clone}"`));
  databases.push(name);
  return name;
}

let source = "";
let clone = "";
let expected: DrillExpectations;
const asOf = new Date();

beforeAll(async () => {
  source = await createCloudSqlDatabase("drill_source");
  databases.push(source);
  await withClient(migratorConfig(source), async (c) => {
    await applyMigrations(c, loadMigrations());
    await runPartitionMaintenance(c, { monthsAhead: MONTHS_AHEAD, retentionMonths: { analytics_events: 13, audit_log: 84 }, asOf });
  });
  await withClient(serverConfig(source), async (c) => {
    await c.query(`INSERT INTO users (email, full_name, country_code)
                   SELECT 'user' || i || '@example.test', 'User ' || i, 'US' FROM generate_series(1, 60) i`);
    await c.query(`INSERT INTO courses (instructor_id, title, slug, status)
                   SELECT i, 'Course ' || i, 'course-' || i, 'published' FROM generate_series(1, 6) i`);
    await c.query(`INSERT INTO enrollments (user_id, course_id, progress_percent)
                   SELECT u, 1 + (u % 6), (u * 7) % 100 FROM generate_series(1, 60) u`);
    await c.query(`INSERT INTO analytics_events (user_id, course_id, event_type, properties, occurred_at)
                   SELECT 1 + (i % 60), 1 + (i % 6), 'lesson_view', jsonb_build_object('i', i), now() - (i % 5) * interval '1 minute'
                     FROM generate_series(1, 1200) i`);
    await c.query(`INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details)
                   SELECT 1 + (i % 60), 'update', 'course', 1 + (i % 6), '{}' FROM generate_series(1, 300) i`);
  });
  clone = await dumpAndRestore(source, "drill_clone");
  const counts = await withClient(serverConfig(source), async (c) => {
    const out: Record<string, number> = {};
    for (const t of KEY_TABLES) out[t] = Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteTable(t)}`)).rows[0].n);
    return out;
  });
  expected = {
    ledgerHead: await withClient(serverConfig(source), async (c) => ledgerHead(await readLedger(c))),
    rowBounds: Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, { min: n, max: n }])),
    partitionedTables: PARTITIONED,
    partitionMonthsAhead: MONTHS_AHEAD,
    asOf,
  };
}, 240_000);

afterAll(async () => {
  for (const db of databases) await dropDatabase(db);
});

/** Runs the checks as the migration user, like the drill does. */
const check = (database: string, exp: DrillExpectations = expected) => withClient(migratorConfig(database), (c) => runDrillChecks(c, exp));

describe("the dump-and-restore clone", () => {
  test("holds exactly the source's rows, table by table, and the same partitions", async () => {
    const [a, b] = await Promise.all([tableHashes(source), tableHashes(clone)]);
    expect(Object.keys(a).length).toBeGreaterThan(KEY_TABLES.length);
    for (const t of Object.keys(a)) expect({ t, hash: b[t] }).toEqual({ t, hash: a[t] });
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(a['public.users']).toMatch(/^60:/);
    const parts = (db: string) => withClient(serverConfig(db), async (c) => (await partitions(c)).map((p) => `${p.child} ${p.bound}`));
    expect(await parts(clone)).toEqual(await parts(source));
  });

  test("the expected ledger head is the head of every migration in the repository (what index.ts expects)", () => {
    const files = loadMigrations();
    expect(expected.ledgerHead).toBe(ledgerHead(files));
    expect(expected.ledgerHead).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("the drill checks", () => {
  test("pass on a faithful clone: ledger, every key table's rows, every partitioned table", async () => {
    const report = await check(clone);
    expect(report.checks.map((c) => [c.check, c.subject, c.ok])).toEqual([
      ["ledger", "", true],
      ...KEY_TABLES.map((t) => ["rows", t, true]),
      ...PARTITIONED.map((t) => ["partitions", t, true]),
    ]);
    expect(report.passed).toBe(true);
    expect(describeFailures(report)).toBe("");
  });

  test("fail on a clone whose ledger differs (a migration missing), and only on the ledger", async () => {
    const db = await fork(clone, "drill_ledger");
    await withClient(serverConfig(db), (c) =>
      c.query(`DELETE FROM ${LEDGER_TABLE} WHERE name = (SELECT max(name) FROM ${LEDGER_TABLE})`),
    );
    const report = await check(db);
    expect(report.passed).toBe(false);
    expect(report.checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["ledger"]);
    expect(describeFailures(report)).toMatch(new RegExp(`^ledger: head [0-9a-f]{12} after \\d+ migrations .*expected ${expected.ledgerHead.slice(0, 12)}$`));
  });

  test("fail on a clone whose ledger records a different checksum", async () => {
    const db = await fork(clone, "drill_checksum");
    await withClient(serverConfig(db), (c) =>
      c.query(`UPDATE ${LEDGER_TABLE} SET sha256 = repeat('0', 64) WHERE name = (SELECT min(name) FROM ${LEDGER_TABLE})`),
    );
    expect((await check(db)).checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["ledger"]);
  });

  test("fail on a clone whose rows differ, naming the table and the count", async () => {
    const db = await fork(clone, "drill_rows");
    await withClient(serverConfig(db), (c) => c.query("DELETE FROM enrollments WHERE id % 10 = 0"));
    const report = await check(db);
    expect(report.passed).toBe(false);
    expect(report.checks.filter((c) => !c.ok)).toEqual([{ check: "rows", subject: "enrollments", ok: false, detail: "54 rows, expected 60..60" }]);
  });

  test("fail when a month's partition is missing", async () => {
    const db = await fork(clone, "drill_parts");
    const last = requiredMonths(asOf, MONTHS_AHEAD)[MONTHS_AHEAD];
    await withClient(serverConfig(db), async (c) => {
      const { rows } = await c.query<{ child: string }>(
        `SELECT c.oid::regclass::text AS child FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'audit_log'::regclass AND pg_get_expr(c.relpartbound, c.oid) LIKE '%' || $1 || '%' || 'TO%'`,
        [last],
      );
      expect(rows).toHaveLength(1);
      await c.query(`DROP TABLE ${rows[0].child}`);
    });
    const report = await check(db);
    expect(report.checks.filter((c) => !c.ok)).toEqual([
      { check: "partitions", subject: "audit_log", ok: false, detail: `no partition for ${last.slice(0, 7)}` },
    ]);
  });

  test("a missing table or an unpartitioned one fails its check instead of passing silently", async () => {
    const report = await check(clone, { ...expected, rowBounds: { lessons_archive: { min: 0 } }, partitionedTables: ["users", "nope"] });
    expect(report.checks.map((c) => `${c.check} ${c.subject}: ${c.detail}`).filter((l) => !l.startsWith("ledger"))).toEqual([
      "rows lessons_archive: table is missing",
      "partitions users: table is not partitioned",
      "partitions nope: table is missing",
    ]);
    expect(report.passed).toBe(false);
  });

  test("partition coverage is read from the bounds, whatever the partitions are called", async () => {
    const db = await fork(clone, "drill_renamed");
    await withClient(serverConfig(db), async (c) => {
      const { rows } = await c.query<{ child: string }>("SELECT inhrelid::regclass::text AS child FROM pg_inherits WHERE inhparent = 'analytics_events'::regclass");
      for (const [i, r] of rows.entries()) await c.query(`ALTER TABLE ${r.child} RENAME TO ae_part_${i}`);
    });
    const results = await withClient(migratorConfig(db), (c) => checkPartitions(c, ["analytics_events"], asOf, MONTHS_AHEAD));
    expect(results.map((r) => r.ok)).toEqual([true]);
  });
});

describe("the drill's verification provider (run in process, not serialized)", () => {
  const inputs = (database: string): VerificationInputs => ({
    cloneName: `clone-${database}`,
    target: { host: serverConfig().host as string, port: serverConfig().port, database, user: migratorConfig(database).user as string, password: migratorConfig(database).password as string, allowPlaintext: true },
    expectedLedgerHead: expected.ledgerHead,
    rowBounds: expected.rowBounds as VerificationInputs["rowBounds"],
    partitionedTables: PARTITIONED,
    partitionMonthsAhead: MONTHS_AHEAD,
    pointInTime: asOf.toISOString(),
    startedAt: new Date(Date.now() - 12 * 60_000).toISOString(),
    targetMinutes: RTO_TARGET_MINUTES,
  });

  test("reports the checks and the measured recovery time against the target", async () => {
    const result = await verificationProvider.create!(inputs(clone));
    expect(result.id).toBe(`clone-${clone}-verified`);
    expect(result.outs.recoveryMinutes).toBeGreaterThanOrEqual(12);
    expect(result.outs.recoveryMinutes).toBeLessThan(RTO_TARGET_MINUTES);
    expect(result.outs.withinTarget).toBe(true);
    expect(result.outs.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(JSON.stringify(result.outs)).not.toContain(migratorConfig(clone).password as string);
  });

  test("a slow recovery is reported as over the target", async () => {
    const result = await verificationProvider.create!({ ...inputs(clone), startedAt: new Date(Date.now() - 45 * 60_000).toISOString() });
    expect(result.outs.withinTarget).toBe(false);
    expect(result.outs.recoveryMinutes).toBeGreaterThanOrEqual(45);
  });

  test("a failed check fails the drill with the reasons and the way out", async () => {
    const db = await fork(clone, "drill_provider_rows");
    await withClient(serverConfig(db), (c) => c.query("DELETE FROM audit_log WHERE id % 3 = 0"));
    await expect(verificationProvider.create!(inputs(db))).rejects.toThrow(
      `recovery drill on clone clone-${db} failed: rows audit_log: 200 rows, expected 300..300. ` +
        "The clone is left in place for inspection; set lp-db:drillEnabled false to delete it.",
    );
  });

  test("an unreachable clone is a connection error naming the target, without the password", async () => {
    const bad = { ...inputs(clone), target: { ...inputs(clone).target, port: 1, connectTimeoutMs: 2_000 } };
    const err = await verificationProvider.create!(bad).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/lp_migrator@127\.0\.0\.1:1\//);
    expect(String((err as Error).message)).not.toContain(migratorConfig(clone).password as string);
  });
});

describe("the drill's providers as Pulumi runs them: serialized, replayed in a fresh process without ts-node", () => {
  const run = promisify(execFile);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "lp-drill-provider-"));
  const env = { ...process.env, NODE_OPTIONS: "" };
  let providers: Record<string, string> = {};

  beforeAll(async () => {
    const out = path.join(scratch, "providers.json");
    await run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "test/harness/drill-provider-child.ts"), out], { cwd: ROOT, env });
    providers = JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, string>;
  }, 120_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  /** Runs provider calls in a fresh Node process (test/harness/provider-replay.cjs). */
  async function replay(type: string, ops: { op: string; args: unknown[] }[]) {
    const id = `${type.split(":").pop()}-${Date.now()}`;
    const files = ["provider.js", "ops.json", "results.json"].map((f) => path.join(scratch, `${id}-${f}`));
    fs.writeFileSync(files[0], providers[type]);
    fs.writeFileSync(files[1], JSON.stringify(ops));
    await run(process.execPath, [path.join(ROOT, "test/harness/provider-replay.cjs"), ...files], { cwd: ROOT, env });
    return (JSON.parse(fs.readFileSync(files[2], "utf8")) as { results: { ok: boolean; value?: any; error?: { message: string } }[] }).results; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  test("the serialized texts are self-contained: no path of this machine", () => {
    expect(Object.keys(providers).sort()).toEqual(["pulumi-nodejs:dynamic/backup:DrillClock", "pulumi-nodejs:dynamic/backup:DrillVerification"]);
    for (const text of Object.values(providers)) {
      expect(text).toContain("exports.handler");
      expect(text).not.toContain(ROOT);
      expect(text).not.toMatch(/\/node_modules\//);
    }
  });

  test("the clock records its start and restarts only for a new clone", async () => {
    const [created, same, changed] = await replay("pulumi-nodejs:dynamic/backup:DrillClock", [
      { op: "create", args: [{ trigger: "p@latest" }] },
      { op: "diff", args: ["id", { trigger: "p@latest" }, { trigger: "p@latest" }] },
      { op: "diff", args: ["id", { trigger: "p@latest" }, { trigger: "p@2026-11-20T03:15:00Z" }] },
    ]);
    expect(Date.parse(created.value.outs.startedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(same.value).toMatchObject({ changes: false, replaces: [] });
    expect(changed.value).toMatchObject({ changes: true, replaces: ["trigger"], deleteBeforeReplace: true });
  });

  test("the verification passes on the faithful clone and fails on a tampered one", async () => {
    const db = await fork(clone, "drill_replay_rows");
    await withClient(serverConfig(db), (c) => c.query("DELETE FROM audit_log WHERE id <= 10"));
    const target = (database: string) => ({ ...serverConfig(database), user: migratorConfig(database).user, password: migratorConfig(database).password, allowPlaintext: true });
    const inputs = (database: string) => ({
      cloneName: database,
      target: target(database),
      expectedLedgerHead: expected.ledgerHead,
      rowBounds: expected.rowBounds,
      partitionedTables: PARTITIONED,
      partitionMonthsAhead: MONTHS_AHEAD,
      pointInTime: "",
      startedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
      targetMinutes: RTO_TARGET_MINUTES,
    });
    const [good, bad] = await replay("pulumi-nodejs:dynamic/backup:DrillVerification", [
      { op: "create", args: [inputs(clone)] },
      { op: "create", args: [inputs(db)] },
    ]);
    expect(good.ok).toBe(true);
    expect(good.value.outs).toMatchObject({ cloneName: clone, withinTarget: true, targetMinutes: RTO_TARGET_MINUTES });
    expect(good.value.outs.recoveryMinutes).toBeGreaterThanOrEqual(5);
    expect(bad).toMatchObject({ ok: false, error: { message: expect.stringContaining("rows audit_log: 290 rows, expected 300..300") } });
  });
});

describe("pure helpers", () => {
  test.each([
    [["users=1"], { users: { min: 1 } }],
    [["users=1..10", "lp_meta.schema_ledger=7"], { users: { min: 1, max: 10 }, "lp_meta.schema_ledger": { min: 7 } }],
  ])("parseRowBounds(%j)", (entries, bounds) => {
    expect(parseRowBounds(entries)).toEqual(bounds);
  });

  test.each([
    [["users"], /"users": expected "<table>=<min>"/],
    [["users=5..1"], /the maximum is below the minimum/],
    [["users=1", "users=2"], /table "users" is listed twice/],
  ])("parseRowBounds(%j) throws", (entries, message) => {
    expect(() => parseRowBounds(entries)).toThrow(message);
  });

  test("requiredMonths: the recovery month and the months ahead, across a year end", () => {
    expect(requiredMonths(new Date("2026-11-26T23:59:00Z"), 3)).toEqual(["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"]);
  });

  test("recoveryTime: minutes to one decimal, compared with the target", () => {
    expect(recoveryTime(new Date("2026-11-26T03:00:00Z"), new Date("2026-11-26T03:29:30Z"))).toEqual({ minutes: 29.5, withinTarget: true });
    expect(recoveryTime(new Date("2026-11-26T03:00:00Z"), new Date("2026-11-26T03:31:00Z"))).toEqual({ minutes: 31, withinTarget: false });
    expect(() => recoveryTime(new Date("2026-11-26T04:00:00Z"), new Date("2026-11-26T03:00:00Z"))).toThrow(/is after the end/);
  });

  test("quoteTable refuses anything but a plain identifier", () => {
    expect(quoteTable("lp_meta.schema_ledger")).toBe('"lp_meta"."schema_ledger"');
    expect(() => quoteTable('users"; DROP TABLE users; --')).toThrow(/must be a lowercase identifier/);
  });
});

describe("docs/runbook.md", () => {
  const runbook = fs.readFileSync(path.join(ROOT, "docs/runbook.md"), "utf8");
  /** The SQL block that follows `<!-- runbook-sql: <name> -->`. */
  const sqlBlock = (name: string): string => {
    const m = new RegExp(`<!-- runbook-sql: ${name} -->\\s*\`\`\`sql\\n([\\s\\S]*?)\`\`\``).exec(runbook);
    if (!m) throw new Error(`docs/runbook.md has no runbook-sql block "${name}"`);
    return m[1];
  };

  test("the manual ledger-head query gives the head the drill compares (lib/migrate ledgerHead)", async () => {
    const { rows } = await withClient(migratorConfig(clone), (c) => c.query<{ ledger_head: string; migrations: string }>(sqlBlock("ledger-head")));
    expect(rows[0].ledger_head).toBe(expected.ledgerHead);
    expect(Number(rows[0].migrations)).toBe(loadMigrations().length);
  });

  test("the manual row-count query lists the key tables with the source's counts", async () => {
    const { rows } = await withClient(migratorConfig(clone), (c) => c.query<{ table_name: string; row_count: string }>(sqlBlock("row-counts")));
    expect(Object.fromEntries(rows.map((r) => [r.table_name, { min: Number(r.row_count), max: Number(r.row_count) }]))).toEqual(expected.rowBounds);
  });

  test("the manual partition query lists every partition with its range, up to the last month ahead", async () => {
    const { rows } = await withClient(migratorConfig(clone), (c) => c.query<{ parent: string; bounds: string }>(sqlBlock("partitions")));
    const counts = await withClient(serverConfig(clone), async (c) => (await partitions(c)).length);
    expect(rows).toHaveLength(counts);
    const last = requiredMonths(asOf, MONTHS_AHEAD)[MONTHS_AHEAD];
    for (const table of PARTITIONED) {
      expect(rows.filter((r) => r.parent === table).map((r) => r.bounds).join("\n")).toContain(`FROM ('${last}`);
    }
  });

  test("every link into the runbook from the docs, README and components lands on an anchor", () => {
    const anchors = new Set([...runbook.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]));
    const sources = [
      "README.md",
      ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`),
      ...fs.readdirSync(path.join(ROOT, "components")).map((f) => `components/${f}`),
    ];
    const links = sources.flatMap((f) =>
      [...fs.readFileSync(path.join(ROOT, f), "utf8").matchAll(/runbook\.md#([-a-z0-9]+)|\]\(#([-a-z0-9]+)\)/g)]
        .filter((m) => m[1] !== undefined || f === "docs/runbook.md")
        .map((m) => ({ f, anchor: m[1] ?? m[2] })),
    );
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !anchors.has(l.anchor))).toEqual([]);
    for (const required of ["restore-from-a-backup", "point-in-time-clone", "import-an-export", "promote-a-replica", "verify-a-restored-instance"]) {
      expect(anchors).toContain(required);
    }
  });
});
