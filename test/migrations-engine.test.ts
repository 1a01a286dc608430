/**
 * The migration engine (lib/migrate) on its own, with small synthetic
 * migrations, against the embedded server under the Cloud SQL privilege
 * emulation; plus file validation and the CLI.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ADVISORY_LOCK_KEY,
  LedgerMismatchError,
  MigrationError,
  MigrationLockTimeoutError,
  applyMigrations,
  diffLedger,
  ledgerHead,
  readLedger,
  type ApplyOptions,
} from "../lib/migrate/engine";
import { checkOrder, loadMigrations, parseMigration, splitStatements, type MigrationFile } from "../lib/migrate/files";
import { parseStackConfig } from "../config";
import { planCapacity } from "../lib/capacity-plan";
import { loadStackValues } from "../lib/mock-runtime";
import { main as migrateCli } from "../scripts/migrate";
import { MIGRATOR, createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { databaseUrl, dropDatabase, serverConfig, withClient } from "./harness/db";

const UP = "-- Up Migration\n";
const mig = (name: string, body: string, header = "") => parseMigration(name, `${header}${UP}${body}`);

describe("migration files", () => {
  test("the repository's migrations load, in order, with the expected transaction modes", () => {
    const ms = loadMigrations();
    expect(ms.length).toBeGreaterThanOrEqual(10);
    expect(ms.map((m) => m.name)).toEqual([...ms.map((m) => m.name)].sort());
    expect(ms.filter((m) => !m.transactional).map((m) => m.name)).toEqual([
      "0002_roles_and_grants.sql",
      "0004_indexes.sql",
      "0006_partition_keys.sql",
      "0007_partition_conversion.sql",
      "0011_analytics_covering_index.sql",
      "0016_progress_unique_key.sql",
      "0017_analytics_rollup.sql",
    ]);
  });

  test.each([
    ["a bad file name", "4_indexes.sql", `${UP}SELECT 1;`, /4_indexes\.sql: bad file name; rename it/],
    ["upper case in the name", "0001_Indexes.sql", `${UP}SELECT 1;`, /bad file name/],
    ["no Up marker", "0001_a.sql", "SELECT 1;", /0001_a\.sql: no "-- Up Migration" line/],
    ["an empty Up section", "0001_a.sql", `${UP}-- nothing yet\n`, /no SQL statements/],
    ["the no-transaction marker after the Up marker", "0001_a.sql", `${UP}-- lp:no-transaction\nSELECT 1;`, /must be in the header/],
    ["CONCURRENTLY in a transactional migration", "0001_a.sql", `${UP}SELECT 1;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c);`, /line 3: .*add a header line "-- lp:no-transaction"/],
    ["CREATE INDEX CONCURRENTLY without IF NOT EXISTS", "0001_a.sql", `-- lp:no-transaction\n${UP}CREATE INDEX CONCURRENTLY i ON t (c);`, /IF NOT EXISTS/],
    ["DROP INDEX CONCURRENTLY without IF EXISTS", "0001_a.sql", `-- lp:no-transaction\n${UP}DROP INDEX CONCURRENTLY i;`, /IF EXISTS/],
    ["explicit transaction control", "0001_a.sql", `${UP}BEGIN;\nSELECT 1;\nCOMMIT;`, /remove the transaction control statement/],
    ["an unterminated string", "0001_a.sql", `${UP}SELECT 'abc;`, /unterminated string starting at line 2, column 8/],
    ["an unterminated dollar quote", "0001_a.sql", `${UP}DO $x$ BEGIN END $y$;`, /unterminated dollar-quoted string \$x\$/],
  ])("refuses %s, naming the file and the fix", (_what, name, sql, message) => {
    expect(() => parseMigration(name, sql)).toThrow(message);
  });

  const suppressions = loadMigrations().flatMap((m) =>
    m.sql.split("\n").flatMap((line, i, lines) => (/--\s*squawk-ignore/.test(line) ? [[`${m.name}:${i + 1}`, lines.slice(Math.max(0, i - 3), i).join("\n")]] : [])),
  );
  test.each(suppressions)("the squawk suppression at %s has a comment saying why just above it", (_where, above) => {
    expect(above).toMatch(/--\s*Lint: \S.{10,}/);
  });

  test.each([
    ["a reused sequence number", ["0001_a.sql", "0001_b.sql"], /0001_b\.sql: sequence number 0001 is also used by 0001_a\.sql/],
    ["files out of order", ["0002_a.sql", "0001_b.sql"], /0001_b\.sql: migrations must be given in name order/],
  ])("refuses %s", (_what, names, message) => {
    expect(() => checkOrder(names.map((n) => mig(n, "SELECT 1;")))).toThrow(message);
  });

  test("splits statements around quotes, dollar quotes, identifiers and comments, keeping offsets", () => {
    const sql = `SELECT 'a;b', E'c\\';d';\n/* x; /* nested; */ */ CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n-- done;\nSELECT "we;ird" FROM t`;
    const parts = splitStatements(sql);
    expect(parts.map((p) => p.sql)).toEqual([
      "SELECT 'a;b', E'c\\';d';",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;",
      'SELECT "we;ird" FROM t',
    ]);
    expect(parts.map((p) => sql.slice(p.offset, p.offset + 6))).toEqual(["SELECT", "CREATE", "SELECT"]);
  });

  test("the checksum ignores CRLF line endings but not content", () => {
    const lf = mig("0001_a.sql", "SELECT 1;\n");
    expect(parseMigration("0001_a.sql", lf.sql.replace(/\n/g, "\r\n")).sha256).toBe(lf.sha256);
    expect(mig("0001_a.sql", "SELECT 2;\n").sha256).not.toBe(lf.sha256);
  });

  test("the ledger head chains names and checksums in order", () => {
    const a = { name: "0001_a.sql", sha256: "a".repeat(64) };
    const b = { name: "0002_b.sql", sha256: "b".repeat(64) };
    expect(ledgerHead([])).toBe("");
    expect(ledgerHead([a, b])).toMatch(/^[0-9a-f]{64}$/);
    expect(ledgerHead([a, b])).not.toBe(ledgerHead([b, a]));
    expect(ledgerHead([a, { ...b, sha256: "c".repeat(64) }])).not.toBe(ledgerHead([a, b]));
  });

  test("diffLedger sorts files into pending, tampered, unknown and missing", () => {
    const [m1, m2, m3, m4] = ["0001_a.sql", "0002_b.sql", "0003_c.sql", "0004_d.sql"].map((n) => mig(n, "SELECT 1;"));
    const ledger = [
      { name: m1.name, sha256: "0".repeat(64) },
      { name: m3.name, sha256: m3.sha256 },
      { name: "0009_gone.sql", sha256: "1".repeat(64) },
    ];
    const diff = diffLedger(ledger, [m1, m2, m3, m4]);
    expect(diff.pending.map((m) => m.name)).toEqual([]);
    expect(diff.tampered).toEqual(["0001_a.sql"]);
    expect(diff.unknown).toEqual(["0009_gone.sql"]);
    expect(diff.missing).toEqual(["0002_b.sql", "0004_d.sql"]);
  });
});

describe("migration engine on a database", () => {
  let db = "";
  beforeAll(async () => {
    db = await createCloudSqlDatabase("engine");
  });
  afterAll(async () => {
    if (db) await dropDatabase(db);
  });
  /** Each test uses its own schema so tests stay independent within one database. */
  let schemaSeq = 0;
  const fresh = () => `t${++schemaSeq}`;
  const run = (ms: readonly MigrationFile[], options?: ApplyOptions) => withClient(migratorConfig(db), (c) => applyMigrations(c, ms, options));
  const ledgerOf = () => withClient(migratorConfig(db), readLedger);
  const resetLedger = () => withClient(migratorConfig(db), (c) => c.query("DROP SCHEMA IF EXISTS lp_meta CASCADE"));

  test("runs as Cloud SQL's kind of user: not superuser, not replication, CREATEROLE, member of cloudsqlsuperuser", async () => {
    const { rows } = await withClient(migratorConfig(db), (c) =>
      c.query("SELECT rolsuper, rolreplication, rolcreaterole, rolcreatedb, pg_has_role(current_user, 'cloudsqlsuperuser', 'MEMBER') AS member FROM pg_roles WHERE rolname = current_user"),
    );
    expect(rows[0]).toEqual({ rolsuper: false, rolreplication: false, rolcreaterole: true, rolcreatedb: true, member: true });
  });

  test("dry run lists pending migrations and writes nothing", async () => {
    await resetLedger();
    const s = fresh();
    const result = await run([mig("0001_a.sql", `CREATE SCHEMA ${s};`)], { dryRun: true });
    expect(result).toEqual({ applied: [], pending: ["0001_a.sql"], ledgerHead: "", schemaVersion: "" });
    const { rows } = await withClient(migratorConfig(db), (c) => c.query("SELECT to_regnamespace($1) AS s, to_regclass('lp_meta.schema_ledger') AS l", [s]));
    expect(rows[0]).toEqual({ s: null, l: null });
  });

  test("applies in order, records name, checksum and time, and a second run applies nothing", async () => {
    await resetLedger();
    const s = fresh();
    const ms = [mig("0001_a.sql", `CREATE SCHEMA ${s};`), mig("0002_b.sql", `CREATE TABLE ${s}.x (id int);`)];
    const first = await run(ms);
    expect(first.applied).toEqual(["0001_a.sql", "0002_b.sql"]);
    expect(first.schemaVersion).toBe("0002_b");
    const ledger = await ledgerOf();
    expect(ledger.map((r) => [r.name, r.sha256])).toEqual(ms.map((m) => [m.name, m.sha256]));
    expect(first.ledgerHead).toBe(ledgerHead(ms));
    const second = await run(ms);
    expect(second).toEqual({ ...first, applied: [] });
  });

  test.each([
    ["a tampered applied migration, naming the file", (ms: MigrationFile[]) => [mig(ms[0].name, "SELECT 'changed';"), ms[1]], /changed since they were applied: 0001_a\.sql/],
    ["a ledger row with no file", (ms: MigrationFile[]) => [ms[0]], /does not have: 0003_c\.sql/],
    ["a new file sorting before the last applied one", (ms: MigrationFile[]) => [ms[0], mig("0002_b.sql", "SELECT 2;"), ms[1]], /sort before the last applied one: 0002_b\.sql/],
  ])("refuses %s before running anything", async (_what, change, message) => {
    await resetLedger();
    const ms = [mig("0001_a.sql", "SELECT 1;"), mig("0003_c.sql", "SELECT 3;")];
    await run(ms);
    const before = await ledgerOf();
    const err = await run(change(ms)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerMismatchError);
    expect((err as Error).message).toMatch(message);
    expect(await ledgerOf()).toEqual(before);
  });

  test("bad SQL fails with the migration's name and the line and column, and leaves no partial state", async () => {
    await resetLedger();
    const s = fresh();
    const bad = mig("0002_bad.sql", `CREATE TABLE ${s}.y (id int);\nINSERT INTO ${s}.y VALUES (1);\nSELECT id FROM ${s}.y WHERE nope = 1;\n`);
    const err = await run([mig("0001_ok.sql", `CREATE SCHEMA ${s};`), bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    const e = err as MigrationError;
    expect(e.migration).toBe("0002_bad.sql");
    const column = bad.sql.split("\n")[3].indexOf("nope") + 1;
    expect([e.line, e.column, e.code]).toEqual([4, column, "42703"]);
    expect(e.message).toContain(`migration 0002_bad.sql failed at line 4, column ${column}: column "nope" does not exist (SQLSTATE 42703). It was rolled back`);
    expect((await ledgerOf()).map((r) => r.name)).toEqual(["0001_ok.sql"]);
    const { rows } = await withClient(migratorConfig(db), (c) => c.query("SELECT to_regclass($1) AS t", [`${s}.y`]));
    expect(rows[0].t).toBeNull();
  });

  test("a failed CONCURRENTLY build leaves an INVALID index that the next run drops and rebuilds", async () => {
    await resetLedger();
    const s = fresh();
    await withClient(migratorConfig(db), (c) => c.query(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.u (v int); INSERT INTO ${s}.u VALUES (1), (1)`));
    const build = mig("0001_idx.sql", `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_v_key ON ${s}.u (v);`, "-- lp:no-transaction\n");
    await expect(run([build], { maxAttempts: 1 })).rejects.toThrow(/0001_idx\.sql failed at line 3, column 1: could not create unique index "u_v_key".*outside a transaction/);
    const validity = () =>
      withClient(migratorConfig(db), async (c) => (await c.query("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", [`${s}.u_v_key`])).rows);
    expect(await validity()).toEqual([{ indisvalid: false }]);
    await withClient(migratorConfig(db), (c) => c.query(`DELETE FROM ${s}.u WHERE ctid = (SELECT max(ctid) FROM ${s}.u)`));
    const lines: string[] = [];
    const result = await run([build], { log: (l) => lines.push(l) });
    expect(result.applied).toEqual(["0001_idx.sql"]);
    expect(lines.join("\n")).toContain(`dropping INVALID index ${s}.u_v_key`);
    expect(await validity()).toEqual([{ indisvalid: true }]);
  });

  test("waiting for another run's lock is bounded, and the error names the holder", async () => {
    await resetLedger();
    const holder = new Client(migratorConfig(db));
    await holder.connect();
    try {
      await holder.query("SET application_name = 'other-migrator'");
      await holder.query("SELECT pg_advisory_lock($1)", [ADVISORY_LOCK_KEY.toString()]);
      const err = await run([mig("0001_a.sql", "SELECT 1;")], { lockTimeoutMs: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationLockTimeoutError);
      expect((err as Error).message).toMatch(/holds the migration lock \(backend pid \d+ \(other-migrator\)\); gave up after 50 ms/);
      expect(await ledgerOf()).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  test.each([
    ["retries a lock timeout and succeeds once the lock is free", 5, true],
    ["gives up after maxAttempts, naming the SQLSTATE", 1, false],
  ])("%s", async (_what, maxAttempts, succeeds) => {
    await resetLedger();
    const s = fresh();
    await withClient(migratorConfig(db), (c) => c.query(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.busy (id int)`));
    const blocker = new Client(migratorConfig(db));
    await blocker.connect();
    try {
      await blocker.query(`BEGIN; LOCK TABLE ${s}.busy IN ACCESS SHARE MODE`);
      const released: Promise<unknown>[] = [];
      const log = (line: string) => {
        if (line.includes("retrying")) released.push(blocker.query("COMMIT"));
      };
      const outcome = run([mig("0001_alter.sql", `ALTER TABLE ${s}.busy ADD COLUMN note text;`)], { ddlLockTimeoutMs: 50, maxAttempts, log });
      if (succeeds) {
        expect((await outcome).applied).toEqual(["0001_alter.sql"]);
        expect(released.length).toBeGreaterThanOrEqual(1);
      } else {
        await expect(outcome).rejects.toThrow(/0001_alter\.sql failed at line 2, column 1: canceling statement due to lock timeout \(SQLSTATE 55P03\)/);
      }
      await Promise.all(released);
    } finally {
      await blocker.end();
    }
  });

  test("a no-transaction migration failing part-way keeps its earlier statements and re-runs whole", async () => {
    await resetLedger();
    const s = fresh();
    const m = mig("0001_nt.sql", `CREATE SCHEMA IF NOT EXISTS ${s};\nCREATE TABLE IF NOT EXISTS ${s}.a (id int);\nSELECT 1/0;\n`, "-- lp:no-transaction\n");
    await expect(run([m], { maxAttempts: 1 })).rejects.toThrow(/0001_nt\.sql failed at line 5, column 1: division by zero .*statements before the failing one stay applied/);
    const { rows } = await withClient(migratorConfig(db), (c) => c.query("SELECT to_regclass($1)::text AS t", [`${s}.a`]));
    expect(rows[0].t).toBe(`${s}.a`);
    expect(await ledgerOf()).toEqual([]);
  });

  test.each([
    ["with reconnect, a lost connection is retried on a new one", true],
    ["without reconnect, a lost connection fails naming the migration", false],
  ])("%s", async (_what, withReconnect) => {
    await resetLedger();
    const s = fresh();
    await withClient(migratorConfig(db), (c) => c.query(`CREATE SCHEMA ${s}; CREATE SEQUENCE ${s}.tries`));
    // nextval is not rolled back, so only the first attempt drops its own connection.
    const m = mig("0001_drop.sql", `CREATE TABLE ${s}.kept (id int);\nSELECT pg_terminate_backend(pg_backend_pid()) WHERE nextval('${s}.tries') = 1;\n`);
    const clients: Client[] = [];
    const connect = async () => {
      const c = new Client(migratorConfig(db));
      c.on("error", () => undefined); // the terminated session's socket error
      await c.connect();
      clients.push(c);
      return c;
    };
    try {
      const outcome = applyMigrations(await connect(), [m], withReconnect ? { reconnect: connect } : {});
      if (withReconnect) {
        expect((await outcome).applied).toEqual(["0001_drop.sql"]);
        expect(clients).toHaveLength(2);
        expect((await ledgerOf()).map((r) => r.name)).toEqual(["0001_drop.sql"]);
      } else {
        await expect(outcome).rejects.toThrow(/migration 0001_drop\.sql: the database connection was lost .*It was rolled back.*re-run/);
        expect(await ledgerOf()).toEqual([]);
      }
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  });

  describe("CLI (npm run migrate)", () => {
    const cli = async (argv: string[], env: Record<string, string> = {}) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await migrateCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const local = ["--allow-plaintext"];

    test("--dry-run lists the repository's pending migrations", async () => {
      await resetLedger();
      const r = await cli(["--database-url", databaseUrl(db, MIGRATOR), "--dry-run", ...local]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/would apply \d+:\n {2}0001_baseline_schema\.sql/);
      expect(await ledgerOf()).toEqual([]);
    });

    test.each([
      ["no URL", [], {}, /--database-url is required/],
      ["an unknown flag", ["--database-url", "postgresql://u:p@h/db", "--force"], {}, /unknown argument "--force"/],
      ["a non-postgres URL", ["--database-url", "mysql://u:p@h/db", ...local], {}, /must be a postgresql:\/\/ URL/],
      ["a bad lock timeout", ["--database-url", "postgresql://u:p@h/db", "--lock-timeout-ms", "soon"], {}, /whole number of milliseconds/],
      ["neither a server CA nor --allow-plaintext", ["--database-url", "postgresql://u:p@10.0.0.3/db"], {}, /give --server-ca FILE .* or --allow-plaintext for a loopback server/],
      ["--allow-plaintext to a remote host", ["--database-url", "postgresql://u:p@10.0.0.3/db", "--allow-plaintext"], {}, /--allow-plaintext is accepted only for a loopback host .* not 10\.0\.0\.3/],
      ["both a server CA and --allow-plaintext", ["--database-url", "postgresql://u:p@127.0.0.1/db", "--allow-plaintext", "--server-ca", "ca.pem"], {}, /either --server-ca or --allow-plaintext/],
      ["TLS settings in the URL", ["--database-url", "postgresql://u:p@10.0.0.3/db?sslmode=disable", "--server-ca", "ca.pem"], {}, /not as URL parameters/],
    ])("exits with usage on %s", async (_what, argv, env, message) => {
      const r = await cli(argv, env);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    });

    test("a --server-ca that is not a PEM certificate is refused before connecting", async () => {
      const file = path.join(os.tmpdir(), `lp-cli-ca-${process.pid}.pem`);
      fs.writeFileSync(file, "not a certificate");
      try {
        const r = await cli(["--database-url", databaseUrl(db, MIGRATOR), "--server-ca", file]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/holds no PEM certificate/);
      } finally {
        fs.rmSync(file, { force: true });
      }
    });

    test("with --server-ca the session is TLS through lib/pg-connect: a server without TLS is refused", async () => {
      const file = path.join(os.tmpdir(), `lp-cli-ca-ok-${process.pid}.pem`);
      fs.writeFileSync(file, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
      try {
        const r = await cli(["--database-url", databaseUrl(db, MIGRATOR), "--server-ca", file, "--dry-run"]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(new RegExp(`migrate: ${MIGRATOR.name}@127\\.0\\.0\\.1:\\d+/${db}: the server does not accept TLS connections`));
      } finally {
        fs.rmSync(file, { force: true });
      }
    });

    test("a wrong password fails clearly and never prints the password, raw or URL-encoded", async () => {
      const secret = "Sup3r/S3cret@Pw%";
      const r = await cli(["--allow-plaintext"], { DATABASE_URL: databaseUrl(db, { name: MIGRATOR.name, password: secret }) });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`${MIGRATOR.name}@127\\.0\\.0\\.1:\\d+/${db}: authentication failed`));
      expect(r.err + r.out).not.toContain(secret);
      expect(r.err + r.out).not.toContain(encodeURIComponent(secret));
      const unknown = await cli([`--database-url=${databaseUrl(db, { name: MIGRATOR.name, password: secret })}`, `--bogus=${databaseUrl(db, { name: "x", password: secret })}`]);
      expect(unknown.code).toBe(2);
      expect(unknown.err).not.toContain(encodeURIComponent(secret));
    });

    describe("applying, as the provider does", () => {
      let cliDb = "";
      const logins = ["lp-app-staging@rds-lms.iam", "lp-analytics-staging@rds-lms.iam"];
      beforeAll(async () => {
        cliDb = await createCloudSqlDatabase("engine_cli");
        await withClient(migratorConfig(cliDb), async (c) => {
          for (const l of logins) await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${l}') THEN CREATE ROLE "${l}" LOGIN; END IF; END $$`);
        });
      });
      afterAll(async () => {
        if (cliDb) await dropDatabase(cliDb);
        await withClient(serverConfig(), async (c) => {
          for (const l of logins) await c.query(`DROP ROLE IF EXISTS "${l}"`);
        }).catch(() => undefined);
      });

      test("without --stack: the migrations only, and a second run applies nothing", async () => {
        const first = await cli(["--database-url", databaseUrl(cliDb, MIGRATOR), ...local]);
        expect(first.err).toBe("");
        expect(first.code).toBe(0);
        expect(first.out).toMatch(new RegExp(`applied ${loadMigrations().length}: 0001_baseline_schema\\.sql`));
        expect(first.out).toMatch(/partition maintenance and membership reconcile skipped; give --stack NAME/);
        const again = await cli(["--database-url", databaseUrl(cliDb, MIGRATOR), ...local]);
        expect(again.out).toMatch(/applied 0\npending 0/);
      });

      test("with --stack: partition maintenance and the reconcile with the stack's memberships and login limits", async () => {
        const config = parseStackConfig(loadStackValues("staging"));
        const r = await cli(["--database-url", databaseUrl(cliDb, MIGRATOR), ...local, "--stack", "staging"]);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/partition maintenance: created \d+/);
        expect(r.out).toMatch(/membership reconcile: granted lp_app_rw → lp-app-staging@rds-lms\.iam/);
        const roles = await withClient(migratorConfig(cliDb), (c) =>
          c.query<{ rolname: string; rolconnlimit: number; app: boolean }>(
            "SELECT rolname, rolconnlimit, pg_has_role(rolname, 'lp_app_rw', 'MEMBER') AS app FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1",
            [logins],
          ),
        );
        expect(roles.rows).toEqual([
          { rolname: logins[1], rolconnlimit: 20, app: false },
          { rolname: logins[0], rolconnlimit: planCapacity(config).budget.appLoginConnectionLimit, app: true },
        ]);
        const months = await withClient(migratorConfig(cliDb), (c) => c.query<{ m: number }>("SELECT DISTINCT months_ahead AS m FROM lp_ops.partition_settings"));
        expect(months.rows).toEqual([{ m: config.migrations.partitionMonthsAhead }]);
      });
    });
  });
});
