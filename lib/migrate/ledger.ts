/**
 * The ledger `lp_meta.schema_ledger`: which migrations a database has applied (name,
 * sha256, applied_at), its sha256 chain, and its comparison with the migration files,
 * which refuses a changed, unknown or out-of-order migration before anything runs.
 */
import { createHash } from "crypto";
import type * as pg from "pg";
import type { MigrationFile } from "./files";

/** Schema and table of the ledger. */
export const LEDGER_TABLE = "lp_meta.schema_ledger";

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

/** The ledger and the migration files disagree; nothing was run. */
export class LedgerMismatchError extends Error {
  constructor(
    message: string,
    readonly diff: Pick<LedgerDiff, "tampered" | "unknown" | "missing">,
  ) {
    super(message);
    this.message = message; // see MigrationError (./errors)
    this.name = "LedgerMismatchError";
  }
}

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

/** Throws {@link LedgerMismatchError} naming each changed, unknown or out-of-order migration and its fix. */
export function refuseMismatch(diff: LedgerDiff): void {
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

/** Creates the ledger on a database's first run. */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS lp_meta`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
      name text PRIMARY KEY,
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      transactional boolean NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by name NOT NULL DEFAULT session_user,
      duration_ms integer NOT NULL)`);
}

/** Records a migration as applied, with how long it took since `started` (ms since epoch). */
export async function recordApplied(client: pg.ClientBase, m: MigrationFile, started: number): Promise<void> {
  await client.query(`INSERT INTO ${LEDGER_TABLE} (name, sha256, transactional, duration_ms) VALUES ($1, $2, $3, $4)`, [
    m.name,
    m.sha256,
    m.transactional,
    Date.now() - started,
  ]);
}
