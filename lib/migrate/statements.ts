/**
 * Running one migration: its Up statements (read by node-pg-migrate's SQL-format
 * parser), the session reset around it, the `CREATE INDEX CONCURRENTLY` preparation
 * (an INVALID index left by a failed build is rebuilt, an index on a partition that
 * retention dropped is skipped), and the ledger row written with it.
 */
import type * as pg from "pg";
import type { MigrationBuilder } from "node-pg-migrate";
import { MigrationError } from "./errors";
import { splitStatements, upSection, type MigrationFile, type Statement } from "./files";
import { recordApplied } from "./ledger";

/** The Up statements of a migration, via node-pg-migrate's SQL-format parser and MigrationBuilder. */
export async function upStatements(m: MigrationFile): Promise<Statement[]> {
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

/** Applies one migration once; on failure throws the raw error with the failing statement attached. */
export async function applyOnce(client: pg.ClientBase, m: MigrationFile, statements: Statement[], ddlLockTimeoutMs: number, log: (l: string) => void): Promise<void> {
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
      await recordApplied(client, m, started);
      await client.query("COMMIT");
    } else {
      await client.query("SELECT set_config('lock_timeout', $1, false)", [`${ddlLockTimeoutMs}ms`]);
      for (current of statements) {
        if (!(await prepareConcurrentIndex(client, current.sql, log))) await client.query(current.sql);
      }
      current = undefined;
      await client.query("RESET ROLE");
      await recordApplied(client, m, started);
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
