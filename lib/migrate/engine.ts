/**
 * The migration engine shared by `npm run migrate` and the migrations dynamic
 * provider.
 *
 * Stable API (this module re-exports what lives beside it: the ledger in ./ledger, the
 * migration lock in ./lock, the errors in ./errors, running one migration in ./statements):
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
import type * as pg from "pg";
import { addBlockerDetails } from "./blockers";
import { describeFailure, isConnectionError, isTransient, type PgError } from "./errors";
import { checkOrder, type MigrationFile, type Statement } from "./files";
import { diffLedger, ensureLedger, ledgerHead, readLedger, refuseMismatch } from "./ledger";
import { acquireLock, releaseLock, sleep } from "./lock";
import { upStatements, applyOnce } from "./statements";
import { bindStack, checkStackBinding } from "./stack-binding";

export { MigrationError } from "./errors";
export { LEDGER_TABLE, LedgerMismatchError, diffLedger, ledgerHead, readLedger, type LedgerDiff, type LedgerRow } from "./ledger";
export { ADVISORY_LOCK_KEY, LOCK_POLL_MS, MigrationLockTimeoutError, acquireLock, releaseLock } from "./lock";
export { SESSION_RESET_SQL } from "./statements";

/** Default bound on waiting for another run's lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
/** Default attempts per migration when errors are transient. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** lock_timeout for each migration's DDL unless the migration sets its own: never queue long behind traffic. */
export const DEFAULT_DDL_LOCK_TIMEOUT_MS = 5_000;
/** Backoff between attempts: base × 2^(attempt-1), capped. */
export const RETRY_BASE_MS = 200;
export const RETRY_MAX_MS = 5_000;

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
            throw describeFailure(m, stmt, err, attempt, (c as { user?: string }).user);
          }
          if (isConnectionError(err)) {
            if (!options.reconnect) throw describeFailure(m, stmt, err, attempt);
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
