/**
 * The migration engine shared by `npm run migrate` and the migrations dynamic
 * provider.
 *
 * Stable API:
 *   - {@link applyMigrations}(client, migrations, options?) → {@link ApplyResult}
 *   - {@link readLedger}(client) → {@link LedgerRow}[] (empty when the ledger does not exist)
 *   - {@link diffLedger}(ledger, migrations) → {@link LedgerDiff}
 *   - {@link ledgerHead}(rows) → hex sha256 chain over (name, sha256) in order
 *   - {@link acquireLock}(client, timeoutMs) / {@link releaseLock}(client): the migration lock, for
 *     steps that must not overlap a run (partition maintenance, role reconcile)
 *   - {@link MigrationError} (migration, line, column, code), {@link MigrationLockTimeoutError},
 *     {@link LedgerMismatchError} (tampered, unknown, missing)
 *
 * Semantics:
 *   - One session advisory lock ({@link ADVISORY_LOCK_KEY}) per database; waiting for it is
 *     bounded by `lockTimeoutMs`, after which the error names the holder.
 *   - With `stack`, the run first checks (and on first use records) the database's stack
 *     (lib/migrate/stack-binding): a database bound to another stack is refused before
 *     anything is written.
 *   - The ledger `lp_meta.schema_ledger` records name, sha256 and applied_at. A changed
 *     applied migration, a ledger row with no file, or a new file sorting before the last
 *     applied one is refused before anything runs.
 *   - A transactional migration runs statement by statement inside one transaction with
 *     its ledger row; a failure rolls all of it back. A `-- lp:no-transaction` migration runs
 *     statement by statement in autocommit and is recorded after its last statement; before
 *     each `CREATE INDEX CONCURRENTLY` an INVALID index of that name (left by an earlier
 *     failed build) is dropped so it is rebuilt rather than skipped by IF NOT EXISTS.
 *   - Transient errors (lock_not_available, serialization_failure, deadlock_detected and,
 *     when `reconnect` is given, a lost connection) are retried with exponential backoff up
 *     to `maxAttempts`; other errors fail at once with the migration's name and the line
 *     and column in its file.
 *   - Before and after each migration the whole session is reset ({@link SESSION_RESET_SQL}: every
 *     setting, the role, temporary tables, prepared statements, cursors, listens); the
 *     migration lock is kept.
 *   - A migration's NOTICEs and WARNINGs (e.g. lp_ops.with_lock_retries' retries) go to `log`.
 *   - A `CREATE INDEX CONCURRENTLY` on a partition that partition retention has dropped
 *     (listed in lp_ops.dropped_partitions) is skipped; any other missing table fails.
 *
 * Why not node-pg-migrate's runner: its ledger (`pgmigrations`) has no checksums; its lock
 * either fails at once or waits forever; an SQL migration cannot be marked no-transaction;
 * it sends a migration's SQL as one multi-statement query (an implicit transaction, so
 * `CREATE INDEX CONCURRENTLY` fails, and errors cannot be placed in the file); and it loads
 * from a directory path. We do use its SQL-format parser and MigrationBuilder to turn a
 * file into its Up SQL and transaction mode, so files stay node-pg-migrate migrations.
 */
import { createHash } from "crypto";
import type * as pg from "pg";
import type { MigrationBuilder } from "node-pg-migrate";
import { addBlockerDetails } from "./blockers";
import { checkOrder, lineColumn, splitStatements, upSection, type MigrationFile, type Statement } from "./files";
import { bindStack, checkStackBinding } from "./stack-binding";

/** Key of the session advisory lock that serialises migration runs on one database. */
export const ADVISORY_LOCK_KEY = 4_711_020_260_004n;
/** Default bound on waiting for another run's lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
/** Default attempts per migration when errors are transient. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** lock_timeout for each migration's DDL unless the migration sets its own: never queue long behind traffic. */
export const DEFAULT_DDL_LOCK_TIMEOUT_MS = 5_000;
/** Backoff between attempts: base × 2^(attempt-1), capped. */
export const RETRY_BASE_MS = 200;
export const RETRY_MAX_MS = 5_000;
/** Schema and table of the ledger. */
export const LEDGER_TABLE = "lp_meta.schema_ledger";

export interface ApplyOptions {
  /** Bound on waiting for the advisory lock held by another run (ms). */
  readonly lockTimeoutMs?: number;
  /** Attempts per migration for transient errors (≥ 1). */
  readonly maxAttempts?: number;
  /** lock_timeout set before each migration (ms); migrations may override it. */
  readonly ddlLockTimeoutMs?: number;
  /** Progress lines (no secrets). */
  readonly log?: (line: string) => void;
  /** List pending migrations without applying anything (takes no lock, writes nothing). */
  readonly dryRun?: boolean;
  /**
   * Opens a new connection after the current one is lost, so a connection reset can be
   * retried. The caller owns (and ends) every client it hands out. Without it a lost
   * connection fails the run; a transactional migration in flight is rolled back by the server.
   */
  readonly reconnect?: () => Promise<pg.ClientBase>;
  /**
   * The stack this run applies for: recorded on the database's first apply, and a
   * database bound to another stack is refused before anything is written
   * (lib/migrate/stack-binding). @default undefined (no stack check: migrations only)
   */
  readonly stack?: string;
}

export interface ApplyResult {
  /** Migrations applied by this call (in dry-run: none). */
  readonly applied: string[];
  /** Migrations still pending after this call (in dry-run: those that would be applied). */
  readonly pending: string[];
  /** sha256 chain over the ledger after this call; "" for an empty ledger. */
  readonly ledgerHead: string;
  /** Name (without .sql) of the last applied migration; "" for an empty ledger. */
  readonly schemaVersion: string;
}

export interface LedgerRow {
  readonly name: string;
  readonly sha256: string;
  readonly appliedAt: Date;
}

export interface LedgerDiff {
  /** Files not yet applied, in order. */
  readonly pending: MigrationFile[];
  /** Applied migrations whose file content changed since. */
  readonly tampered: string[];
  /** Ledger rows with no file: applied by a newer checkout or by hand. */
  readonly unknown: string[];
  /** Unapplied files that sort before the last applied one (added out of order). */
  readonly missing: string[];
}

/** A migration failed; names the file and, when the server says, the line and column. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration: string,
    readonly line?: number,
    readonly column?: number,
    readonly code?: string,
  ) {
    super(message);
    // Explicit: the closure serializer (dynamic provider) turns super(message) into Error.call(this, message), which sets nothing.
    this.message = message;
    this.name = "MigrationError";
  }
}

export class MigrationLockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.message = message; // see MigrationError
    this.name = "MigrationLockTimeoutError";
  }
}

export class LedgerMismatchError extends Error {
  constructor(
    message: string,
    readonly diff: Pick<LedgerDiff, "tampered" | "unknown" | "missing">,
  ) {
    super(message);
    this.message = message; // see MigrationError
    this.name = "LedgerMismatchError";
  }
}

// Arrays, not Sets: the dynamic provider serializes this module, and Pulumi's closure
// serializer turns a captured Set into a plain object whose .has() throws.
const TRANSIENT_CODES: readonly string[] = ["55P03", "40001", "40P01"];
const CONNECTION_CODES: readonly string[] = ["57P01", "57P02", "57P03", "08000", "08003", "08006"];
const CONNECTION_ERRNOS: readonly string[] = ["ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT"];

type PgError = Error & { code?: string; position?: string; where?: string };

function isConnectionError(err: unknown): boolean {
  const e = err as PgError;
  return (
    (e.code !== undefined && (CONNECTION_CODES.includes(e.code) || CONNECTION_ERRNOS.includes(e.code))) ||
    /Connection terminated|Client has encountered a connection error|not queryable/i.test(e.message ?? "")
  );
}

function isTransient(err: unknown): boolean {
  const code = (err as PgError).code;
  return (code !== undefined && TRANSIENT_CODES.includes(code)) || isConnectionError(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** sha256 chain: h0 = "", h_i = sha256(h_{i-1} + "\n" + name + " " + sha256). */
export function ledgerHead(rows: readonly Pick<LedgerRow, "name" | "sha256">[]): string {
  return rows.reduce((h, r) => createHash("sha256").update(`${h}\n${r.name} ${r.sha256}`).digest("hex"), "");
}

/** Reads the ledger in applied order; [] when it does not exist yet. */
export async function readLedger(client: pg.ClientBase): Promise<LedgerRow[]> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [LEDGER_TABLE]);
  if (!exists.rows[0].t) return [];
  const { rows } = await client.query<{ name: string; sha256: string; applied_at: Date }>(
    `SELECT name, sha256, applied_at FROM ${LEDGER_TABLE} ORDER BY name`,
  );
  return rows.map((r) => ({ name: r.name, sha256: r.sha256, appliedAt: r.applied_at }));
}

/** Compares the ledger with the migration files. */
export function diffLedger(ledger: readonly Pick<LedgerRow, "name" | "sha256">[], migrations: readonly MigrationFile[]): LedgerDiff {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const applied = new Map(ledger.map((r) => [r.name, r]));
  const last = ledger.reduce((max, r) => (r.name > max ? r.name : max), "");
  const tampered = ledger.filter((r) => byName.has(r.name) && byName.get(r.name)!.sha256 !== r.sha256).map((r) => r.name);
  const unknown = ledger.filter((r) => !byName.has(r.name)).map((r) => r.name);
  const notApplied = migrations.filter((m) => !applied.has(m.name));
  return {
    pending: notApplied.filter((m) => m.name > last),
    tampered,
    unknown,
    missing: notApplied.filter((m) => m.name < last).map((m) => m.name),
  };
}

function refuseMismatch(diff: LedgerDiff): void {
  const problems: string[] = [];
  if (diff.tampered.length) {
    problems.push(
      `applied migration(s) changed since they were applied: ${diff.tampered.join(", ")}. ` +
        "Restore the original file(s) from version control and put the change in a new migration",
    );
  }
  if (diff.unknown.length) {
    problems.push(
      `the database has applied migration(s) this checkout does not have: ${diff.unknown.join(", ")}. ` +
        "Update the checkout (a newer version was deployed) before migrating",
    );
  }
  if (diff.missing.length) {
    problems.push(
      `new migration(s) sort before the last applied one: ${diff.missing.join(", ")}. ` +
        "Renumber them after the last applied migration",
    );
  }
  if (problems.length) throw new LedgerMismatchError(`refusing to migrate: ${problems.join("; ")}`, diff);
}

/** The Up statements of a migration, via node-pg-migrate's SQL-format parser and MigrationBuilder. */
async function upStatements(m: MigrationFile): Promise<Statement[]> {
  const npm = await import("node-pg-migrate");
  const { getActions } = (await import("node-pg-migrate/sqlMigration" as string)) as {
    getActions(content: string): { up: (pgm: MigrationBuilder) => void };
  };
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const pgm = new npm.MigrationBuilder({ query: () => Promise.reject(new Error("no queries while building")), select: () => Promise.reject(new Error("no queries while building")) } as never, undefined, false, silent);
  if (!m.transactional) pgm.noTransaction();
  getActions(m.sql).up(pgm);
  const steps = pgm.getSqlSteps();
  const section = upSection(m.sql);
  if (steps.length !== 1 || !steps[0].startsWith(section.text)) {
    throw new MigrationError(`${m.name}: node-pg-migrate read a different Up section than expected; report this`, m.name);
  }
  if (pgm.isUsingTransaction() !== m.transactional) throw new MigrationError(`${m.name}: transaction mode mismatch`, m.name);
  return splitStatements(section.text, section.offset);
}

async function rollbackQuietly(client: pg.ClientBase): Promise<void> {
  try {
    await client.query("ROLLBACK");
  } catch {
    /* nothing in progress, or the connection is gone */
  }
}

/**
 * What DISCARD ALL does, minus the two parts that cannot apply here: it may not
 * run inside a transaction block, and its pg_advisory_unlock_all() would release
 * the migration lock this session holds. RESET ALL leaves the role alone (role
 * is exempt from RESET ALL), so RESET ROLE runs too; SET SESSION AUTHORIZATION
 * DEFAULT is left out because a file cannot change it without superuser.
 */
export const SESSION_RESET_SQL = "RESET ROLE; RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *; DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES";

/** Returns the session to its login state (settings, role, temp objects, prepared statements, cursors), keeping the migration lock. */
async function resetSession(client: pg.ClientBase): Promise<void> {
  await client.query(SESSION_RESET_SQL);
}

const CIC = /^create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?("?)([A-Za-z_][\w$]*)\1\s+on\s+(?:only\s+)?(?:("?)([A-Za-z_][\w$]*)\3\.)?/i;

/**
 * Before a `CREATE INDEX CONCURRENTLY`: drops an INVALID index of that name (an
 * earlier build failed) so it is rebuilt; returns true when a valid one already
 * exists, so the statement is skipped (what IF NOT EXISTS means, and PostgreSQL
 * rejects CONCURRENTLY on a partitioned table before it looks at IF NOT EXISTS).
 */
async function prepareConcurrentIndex(client: pg.ClientBase, stmt: string, log: (l: string) => void): Promise<boolean> {
  const m = CIC.exec(stmt);
  if (!m) return false;
  const [, , index, , schema] = m;
  if (await droppedByRetention(client, stmt, log)) return true;
  const { rows } = await client.query<{ fq: string; valid: boolean }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS fq, i.indisvalid AND i.indisready AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1
        AND n.nspname = COALESCE($2, (current_schemas(false))[1])`,
    [index, schema ?? null],
  );
  for (const r of rows) {
    if (r.valid) {
      log(`  index ${r.fq} exists and is valid; skipped`);
      return true;
    }
    log(`  dropping INVALID index ${r.fq} left by an earlier failed build; rebuilding it`);
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${r.fq}`);
  }
  return false;
}

const CIC_TABLE = /\bon\s+(?:only\s+)?(?:("?)([A-Za-z_][\w$]*)\1\.)?("?)([A-Za-z_][\w$]*)\3\s*\(/i;

/**
 * True when the table a `CREATE INDEX CONCURRENTLY` names no longer exists
 * because partition retention dropped it (lp_ops.dropped_partitions, written by
 * lp_ops.maintain_partitions): the index has nothing left to cover, so the
 * statement is skipped. Any other missing table still fails.
 */
async function droppedByRetention(client: pg.ClientBase, stmt: string, log: (l: string) => void): Promise<boolean> {
  const t = CIC_TABLE.exec(stmt);
  if (!t) return false;
  const [, , schema, , table] = t;
  const missing = await client.query<{ missing: boolean; ledger: boolean }>(
    `SELECT to_regclass(format('%I.%I', COALESCE($1, (current_schemas(false))[1]), $2::text)) IS NULL AS missing,
            to_regclass('lp_ops.dropped_partitions') IS NOT NULL AS ledger`,
    [schema ?? null, table],
  );
  if (!missing.rows[0].missing || !missing.rows[0].ledger) return false;
  const dropped = await client.query("SELECT 1 FROM lp_ops.dropped_partitions WHERE partition_name = $1", [table]);
  if (dropped.rowCount === 0) return false;
  log(`  ${table} was dropped by partition retention; its index is skipped`);
  return true;
}

function describe(m: MigrationFile, stmt: Statement | undefined, err: unknown, attempts: number): MigrationError {
  const e = err as PgError;
  let pos = stmt ? lineColumn(m.sql, stmt.offset) : undefined;
  if (stmt && e.position) pos = lineColumn(m.sql, stmt.offset + Number(e.position) - 1);
  const where = pos ? ` at line ${pos.line}, column ${pos.column}` : "";
  const code = e.code ? ` (SQLSTATE ${e.code})` : "";
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  const state = m.transactional
    ? "It was rolled back; nothing from it was recorded."
    : "It runs outside a transaction: statements before the failing one stay applied and the whole migration re-runs next time.";
  const context = e.where ? `\n  context: ${e.where.split("\n")[0]}` : "";
  if (isConnectionError(err)) {
    return new MigrationError(
      `migration ${m.name}: the database connection was lost${tries} (${e.message}). ${state} Check the database is up and re-run`,
      m.name,
      pos?.line,
      pos?.column,
      e.code,
    );
  }
  return new MigrationError(`migration ${m.name} failed${where}${tries}: ${e.message}${code}. ${state}${context}`, m.name, pos?.line, pos?.column, e.code);
}

/**
 * How often a waiting run probes the migration lock. Waiting is by polling
 * pg_try_advisory_lock, never inside a blocking pg_advisory_lock call: a session
 * blocked in a statement holds a snapshot, and the lock holder's CREATE INDEX
 * CONCURRENTLY waits for every older snapshot, so the two would deadlock. 100 ms
 * starts a waiting run within a tenth of a second of the release for one cheap query per probe.
 */
export const LOCK_POLL_MS = 100;

/**
 * Takes the migration lock (session advisory lock {@link ADVISORY_LOCK_KEY}; re-entrant
 * within a session), waiting at most `timeoutMs`; throws {@link MigrationLockTimeoutError} naming
 * the holder. For steps that must not overlap a migration run (maintenance,
 * role reconcile). Release with {@link releaseLock} or by closing the session.
 */
export async function acquireLock(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [ADVISORY_LOCK_KEY.toString()]);
    if (rows[0].ok) return;
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(LOCK_POLL_MS, left));
  }
  const holder = await client.query<{ pid: number; app: string; since: Date | null }>(
    `SELECT a.pid, a.application_name AS app, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
    [ADVISORY_LOCK_KEY.toString()],
  );
  const h = holder.rows[0];
  const who = h ? `backend pid ${h.pid}${h.app ? ` (${h.app})` : ""}` : "another session";
  throw new MigrationLockTimeoutError(
    `another migration run holds the migration lock (${who}); gave up after ${timeoutMs} ms. ` +
      "Wait for it to finish, or if it is stuck, end that backend with pg_terminate_backend(pid) and re-run",
  );
}

/** Releases the migration lock taken by {@link acquireLock} on this session (no error if not held). */
export async function releaseLock(client: pg.ClientBase): Promise<void> {
  await client.query("SELECT pg_advisory_unlock($1)", [ADVISORY_LOCK_KEY.toString()]).catch(() => undefined);
}

async function ensureLedger(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS lp_meta`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
      name text PRIMARY KEY,
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      transactional boolean NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by name NOT NULL DEFAULT session_user,
      duration_ms integer NOT NULL)`);
}

async function record(client: pg.ClientBase, m: MigrationFile, started: number): Promise<void> {
  await client.query(`INSERT INTO ${LEDGER_TABLE} (name, sha256, transactional, duration_ms) VALUES ($1, $2, $3, $4)`, [
    m.name,
    m.sha256,
    m.transactional,
    Date.now() - started,
  ]);
}

/** Applies one migration once; on failure throws the raw error with the failing statement attached. */
async function applyOnce(client: pg.ClientBase, m: MigrationFile, statements: Statement[], ddlLockTimeoutMs: number, log: (l: string) => void): Promise<void> {
  const started = Date.now();
  let current: Statement | undefined;
  // NOTICEs and WARNINGs (lock retries, skipped steps) go to the progress log.
  const onNotice = (n: { severity?: string; message?: string }) => log(`  ${m.name}: ${n.severity ?? "NOTICE"}: ${n.message ?? ""}`);
  client.on("notice", onNotice);
  try {
    await resetSession(client);
    if (m.transactional) {
      await client.query("BEGIN");
      await client.query("SELECT set_config('lock_timeout', $1, true)", [`${ddlLockTimeoutMs}ms`]);
      for (current of statements) await client.query(current.sql);
      current = undefined;
      await client.query("RESET ROLE");
      await record(client, m, started);
      await client.query("COMMIT");
    } else {
      await client.query("SELECT set_config('lock_timeout', $1, false)", [`${ddlLockTimeoutMs}ms`]);
      for (current of statements) {
        if (!(await prepareConcurrentIndex(client, current.sql, log))) await client.query(current.sql);
      }
      current = undefined;
      await client.query("RESET ROLE");
      await record(client, m, started);
    }
  } catch (err) {
    if (m.transactional) await rollbackQuietly(client);
    (err as { statement?: Statement }).statement = current;
    throw err;
  } finally {
    client.off("notice", onNotice);
    await resetSession(client).catch(() => undefined);
  }
}

/**
 * Applies the pending migrations in order under the migration lock. See the
 * module comment for the guarantees.
 */
export async function applyMigrations(client: pg.ClientBase, migrations: readonly MigrationFile[], options: ApplyOptions = {}): Promise<ApplyResult> {
  const log = options.log ?? (() => undefined);
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const ddlLockTimeoutMs = options.ddlLockTimeoutMs ?? DEFAULT_DDL_LOCK_TIMEOUT_MS;
  checkOrder(migrations);
  const statements = new Map<string, Statement[]>();
  for (const m of migrations) statements.set(m.name, await upStatements(m));

  if (options.dryRun) {
    if (options.stack) await checkStackBinding(client, options.stack);
    const ledger = await readLedger(client);
    const diff = diffLedger(ledger, migrations);
    refuseMismatch(diff);
    const last = ledger[ledger.length - 1];
    return { applied: [], pending: diff.pending.map((m) => m.name), ledgerHead: ledgerHead(ledger), schemaVersion: last ? last.name.replace(/\.sql$/, "") : "" };
  }

  let c = client;
  await acquireLock(c, lockTimeoutMs);
  const applied: string[] = [];
  try {
    if (options.stack) await bindStack(c, options.stack);
    await ensureLedger(c);
    const diff = diffLedger(await readLedger(c), migrations);
    refuseMismatch(diff);
    log(diff.pending.length ? `${diff.pending.length} pending: ${diff.pending.map((m) => m.name).join(", ")}` : "no pending migrations");
    for (const m of diff.pending) {
      for (let attempt = 1; ; attempt++) {
        try {
          log(`applying ${m.name}${m.transactional ? "" : " (outside a transaction)"}`);
          await applyOnce(c, m, statements.get(m.name)!, ddlLockTimeoutMs, log);
          applied.push(m.name);
          break;
        } catch (err) {
          const stmt = (err as { statement?: Statement }).statement;
          if (!isTransient(err) || attempt >= maxAttempts) {
            await addBlockerDetails(c, err);
            throw describe(m, stmt, err, attempt);
          }
          if (isConnectionError(err)) {
            if (!options.reconnect) throw describe(m, stmt, err, attempt);
            c = await options.reconnect();
            await acquireLock(c, lockTimeoutMs);
            const after = diffLedger(await readLedger(c), migrations);
            refuseMismatch(after);
            if (!after.pending.some((p) => p.name === m.name)) {
              applied.push(m.name); // committed before the connection dropped
              break;
            }
          }
          const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
          log(`  ${m.name}: transient error (${(err as PgError).code ?? (err as Error).message}); retrying in ${wait} ms (attempt ${attempt + 1} of ${maxAttempts})`);
          await sleep(wait);
        }
      }
    }
    const ledger = await readLedger(c);
    const last = ledger[ledger.length - 1];
    return {
      applied,
      pending: diffLedger(ledger, migrations).pending.map((m) => m.name),
      ledgerHead: ledgerHead(ledger),
      schemaVersion: last ? last.name.replace(/\.sql$/, "") : "",
    };
  } finally {
    await releaseLock(c);
  }
}
