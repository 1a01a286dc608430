/**
 * The recovery drill's verification checks: pure functions of a connected
 * client, run against the point-in-time clone (and, in tests, against a clone
 * made by logical dump and restore). They only read, inside one read-only
 * repeatable-read transaction, so every check sees the same snapshot.
 *
 * - the migration ledger's head (sha256 chain of name + checksum) matches the
 *   head the stack expects: the clone's schema is the one we think it is;
 * - the key tables' row counts are within bounds: the data came along;
 * - the monthly partitions for the recovery month and the months ahead are
 *   present: writes after the restore have somewhere to go.
 *
 * This module is serialized into the drill's dynamic provider by value, so it
 * keeps to plain functions and data.
 */
import type * as pg from "pg";
import { ledgerHead, readLedger } from "./migrate/engine";

/**
 * The platform's recovery-time target: a restore is usable within 30 minutes.
 * Source: the platform team's write-up, "Backup Recovery Time < 30min".
 */
export const RTO_TARGET_MINUTES = 30;

/** Expected row count of one table: at least `min`, and at most `max` when given. */
export interface RowBounds {
  readonly min: number;
  /** @default undefined (no upper bound) */
  readonly max?: number;
}

/** What a faithful clone looks like. */
export interface DrillExpectations {
  /** Ledger head the clone must have (lib/migrate `ledgerHead`). */
  readonly ledgerHead: string;
  /** Row-count bounds by table name (optionally schema-qualified). */
  readonly rowBounds: Readonly<Record<string, RowBounds>>;
  /** Tables partitioned by month that must have partitions for the recovery month and the months ahead. */
  readonly partitionedTables: readonly string[];
  /** Months after the recovery month that must already have a partition. */
  readonly partitionMonthsAhead: number;
  /** The recovered point in time (its month is the first that must be covered). */
  readonly asOf: Date;
}

/** The outcome of one check. */
export interface CheckResult {
  readonly check: "ledger" | "rows" | "partitions";
  /** The table the check is about; "" for the ledger. */
  readonly subject: string;
  readonly ok: boolean;
  /** What was found, and what was expected when it fails. */
  readonly detail: string;
}

/** All checks of one drill run. */
export interface DrillReport {
  readonly passed: boolean;
  readonly checks: readonly CheckResult[];
}

/** Quotes a possibly schema-qualified table name as an SQL identifier. */
export function quoteTable(name: string): string {
  if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(name)) {
    throw new Error(`table name "${name}" must be a lowercase identifier, optionally schema-qualified (schema.table)`);
  }
  return name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");
}

/** Parses "table=min" or "table=min..max" (the config format); throws naming the entry. */
export function parseRowBounds(entries: readonly string[]): Record<string, RowBounds> {
  const out: Record<string, RowBounds> = {};
  for (const entry of entries) {
    const m = /^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)=(\d+)(?:\.\.(\d+))?$/.exec(entry);
    if (!m) throw new Error(`"${entry}": expected "<table>=<min>" or "<table>=<min>..<max>"`);
    const [, table, min, max] = m;
    if (table in out) throw new Error(`"${entry}": table "${table}" is listed twice`);
    if (max !== undefined && Number(max) < Number(min)) throw new Error(`"${entry}": the maximum is below the minimum`);
    out[table] = max === undefined ? { min: Number(min) } : { min: Number(min), max: Number(max) };
  }
  return out;
}

/** The ledger check: the clone's ledger head equals the expected one. */
export async function checkLedgerHead(client: pg.ClientBase, expected: string): Promise<CheckResult> {
  const rows = await readLedger(client);
  const head = ledgerHead(rows);
  const last = rows.length ? rows[rows.length - 1].name : "(empty ledger)";
  return head === expected
    ? { check: "ledger", subject: "", ok: true, detail: `head ${head.slice(0, 12)} after ${rows.length} migrations (last ${last})` }
    : {
        check: "ledger",
        subject: "",
        ok: false,
        detail: `head ${head.slice(0, 12) || "(none)"} after ${rows.length} migrations (last ${last}), expected ${expected.slice(0, 12)}`,
      };
}

/** The row-count checks, one per table. A missing table fails its check. */
export async function checkRowCounts(client: pg.ClientBase, bounds: Readonly<Record<string, RowBounds>>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [table, b] of Object.entries(bounds)) {
    const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [table]);
    if (!exists.rows[0].t) {
      results.push({ check: "rows", subject: table, ok: false, detail: "table is missing" });
      continue;
    }
    const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteTable(table)}`);
    const n = Number(rows[0].n);
    const ok = n >= b.min && (b.max === undefined || n <= b.max);
    const range = b.max === undefined ? `≥ ${b.min}` : `${b.min}..${b.max}`;
    results.push({ check: "rows", subject: table, ok, detail: `${n} rows, expected ${range}` });
  }
  return results;
}

/** First day (UTC) of each month from `asOf`'s month through `monthsAhead` months later. */
export function requiredMonths(asOf: Date, monthsAhead: number): string[] {
  return Array.from({ length: monthsAhead + 1 }, (_, i) =>
    new Date(Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() + i, 1)).toISOString().slice(0, 10),
  );
}

/**
 * The partition checks, one per table: each required month lies inside the
 * FROM/TO bounds of some partition (MINVALUE/MAXVALUE bounds, like the
 * history partition of a converted table, count; a DEFAULT partition does not).
 * Bounds are read from the catalog, so partition names do not matter.
 */
export async function checkPartitions(
  client: pg.ClientBase,
  tables: readonly string[],
  asOf: Date,
  monthsAhead: number,
): Promise<CheckResult[]> {
  const months = requiredMonths(asOf, monthsAhead);
  const results: CheckResult[] = [];
  for (const table of tables) {
    const parent = await client.query<{ t: string | null; partitioned: boolean }>(
      "SELECT to_regclass($1)::text AS t, coalesce((SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass($1)), false) AS partitioned",
      [table],
    );
    if (!parent.rows[0].t || !parent.rows[0].partitioned) {
      results.push({ check: "partitions", subject: table, ok: false, detail: parent.rows[0].t ? "table is not partitioned" : "table is missing" });
      continue;
    }
    const { rows } = await client.query<{ month: string }>(
      `WITH bounds AS (
         SELECT CASE WHEN b LIKE 'FOR VALUES FROM (MINVALUE)%' THEN '-infinity'::timestamptz
                     ELSE substring(b FROM 'FROM \\(''([^'']+)''\\)')::timestamptz END AS lo,
                CASE WHEN b LIKE '% TO (MAXVALUE)' THEN 'infinity'::timestamptz
                     ELSE substring(b FROM 'TO \\(''([^'']+)''\\)')::timestamptz END AS hi
           FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           CROSS JOIN LATERAL pg_get_expr(c.relpartbound, c.oid) AS b
          WHERE i.inhparent = to_regclass($1)
       )
       SELECT m::text AS month
         FROM unnest($2::date[]) AS m
        WHERE NOT EXISTS (
          SELECT 1 FROM bounds WHERE lo <= m::timestamptz AND hi >= (m + interval '1 month')::timestamptz
        )
        ORDER BY m`,
      [table, months],
    );
    const missing = rows.map((r) => r.month.slice(0, 7));
    results.push(
      missing.length === 0
        ? { check: "partitions", subject: table, ok: true, detail: `partitions cover ${months[0].slice(0, 7)}..${months[months.length - 1].slice(0, 7)}` }
        : { check: "partitions", subject: table, ok: false, detail: `no partition for ${missing.join(", ")}` },
    );
  }
  return results;
}

/** Runs every check in one read-only snapshot (UTC session time zone, so partition bounds read the same everywhere). */
export async function runDrillChecks(client: pg.ClientBase, expected: DrillExpectations): Promise<DrillReport> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    await client.query("SET LOCAL TimeZone = 'UTC'");
    const checks = [
      await checkLedgerHead(client, expected.ledgerHead),
      ...(await checkRowCounts(client, expected.rowBounds)),
      ...(await checkPartitions(client, expected.partitionedTables, expected.asOf, expected.partitionMonthsAhead)),
    ];
    return { passed: checks.every((c) => c.ok), checks };
  } finally {
    await client.query("ROLLBACK");
  }
}

/** One line per failed check, for the error that fails the drill. */
export function describeFailures(report: DrillReport): string {
  return report.checks
    .filter((c) => !c.ok)
    .map((c) => `${c.check}${c.subject ? ` ${c.subject}` : ""}: ${c.detail}`)
    .join("; ");
}

/** The measured recovery time, from the start of the clone's creation to the checks passing. */
export function recoveryTime(startedAt: Date, checksPassedAt: Date, targetMinutes = RTO_TARGET_MINUTES): { minutes: number; withinTarget: boolean } {
  const minutes = Math.round(((checksPassedAt.getTime() - startedAt.getTime()) / 60_000) * 10) / 10;
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new Error(`recovery time: start ${startedAt.toISOString()} is after the end ${checksPassedAt.toISOString()}`);
  }
  return { minutes, withinTarget: minutes <= targetMinutes };
}
