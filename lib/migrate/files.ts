/**
 * Migration files: loading, validation and statement splitting.
 *
 * Stable API (the CLI, the migrations dynamic provider and the tests use it):
 *   - {@link MigrationFile}: name, SQL text, sha256 of the text, transactional flag.
 *   - {@link loadMigrations}(dir?): the repo's `migrations/*.sql`, sorted and validated.
 *   - {@link parseMigration}(name, sql): one migration from its contents (no path involved).
 *   - {@link splitStatements}(sql): top-level statements with their offsets, for
 *     statement-by-statement execution and error positions.
 *   - {@link lineColumn}(sql, offset): 1-based line and column of an offset.
 *
 * Format: node-pg-migrate's SQL migration format (a `-- Up Migration` line; an
 * optional `-- Down Migration` section, which this forward-only engine never
 * runs). A header line `-- lp:no-transaction` before the Up marker says the
 * migration runs outside a transaction, statement by statement (needed for
 * `CREATE INDEX CONCURRENTLY`); such a migration must be safe to re-run from
 * its first statement, because a failure part-way leaves earlier statements
 * applied and the ledger unchanged.
 *
 * The checksum is over the text with CRLF normalised to LF, so a checkout with
 * other line endings does not look tampered.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** One migration, by contents. State never depends on where the file lived. */
export interface MigrationFile {
  /** File name, e.g. "0001_baseline_schema.sql". */
  readonly name: string;
  /** The whole file text (LF line endings). */
  readonly sql: string;
  /** Hex sha256 of {@link sql}. */
  readonly sha256: string;
  /** False when the header carries {@link NO_TRANSACTION_MARKER}. */
  readonly transactional: boolean;
}

/** A top-level statement of a migration and where it starts in the file text. */
export interface Statement {
  readonly sql: string;
  readonly offset: number;
}

/** Thrown for a migration file that cannot be used; the message names the file and the fix. */
export class MigrationFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    // Explicit: the closure serializer (dynamic provider) turns super(...) into Error.call(this, ...), which sets nothing.
    this.message = `${file}: ${message}`;
    this.name = "MigrationFileError";
  }
}

/** The repository's migrations directory. */
export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, "..", "..", "migrations");
/** Valid file names: four-digit sequence, lowercase words, `.sql`. */
export const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;
/** Header marker for migrations that must run outside a transaction. */
export const NO_TRANSACTION_MARKER = "-- lp:no-transaction";
/** node-pg-migrate's own markers (see its sqlMigration.js); kept identical so its parser agrees. */
export const UP_MARKER = /^\s*--[\s-]*up\s+migration/im;
const DOWN_MARKER = /^\s*--[\s-]*down\s+migration/im;

/** Statements that cannot run inside a transaction block. */
const NEEDS_NO_TRANSACTION = /^(create\s+(unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\s+.*\bconcurrently\b|alter\s+table\s+.*\bdetach\s+partition\s+.*\bconcurrently\b|vacuum\b)/is;
/** Explicit transaction control: the engine owns transactions. */
const TRANSACTION_CONTROL = /^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release)\b/i;

/** Normalises line endings so the checksum is stable across checkouts. */
function normalise(sql: string): string {
  return sql.replace(/\r\n/g, "\n");
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split("\n");
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/**
 * Splits SQL into top-level statements, honouring quotes, quoted identifiers,
 * dollar quoting and (nested) comments. Statements that are only comments are
 * dropped. Throws on an unterminated quote or comment.
 */
export function splitStatements(sql: string, base = 0): Statement[] {
  const out: Statement[] = [];
  let start = -1; // offset of the first significant character of the current statement
  let i = 0;
  const n = sql.length;
  const unterminated = (what: string, at: number): never => {
    const { line, column } = lineColumn(sql, at);
    throw new Error(`unterminated ${what} starting at line ${line}, column ${column}`);
  };
  while (i < n) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (ch === "/" && next === "*") {
      const open = i;
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) unterminated("comment", open);
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (start < 0) start = i;
    if (ch === ";") {
      const text = sql.slice(start, i + 1);
      if (text !== ";") out.push({ sql: text, offset: base + start });
      start = -1;
      i++;
      continue;
    }
    if (ch === "'") {
      const open = i;
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]) && (i < 2 || !/[\w$]/.test(sql[i - 2]));
      i++;
      for (;;) {
        if (i >= n) unterminated("string", open);
        if (escapes && sql[i] === "\\") i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      continue;
    }
    if (ch === '"') {
      const close = sql.indexOf('"', i + 1);
      if (close < 0) unterminated("quoted identifier", i);
      i = close + 1;
      continue;
    }
    if (ch === "$" && (i === 0 || !/[\w$]/.test(sql[i - 1]))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) unterminated(`dollar-quoted string ${tag[0]}`, i);
        i = close + tag[0].length;
        continue;
      }
    }
    i++;
  }
  if (start >= 0) out.push({ sql: sql.slice(start), offset: base + start });
  return out;
}

/** Offset and text of the Up section (from the marker to the Down marker or the end). */
export function upSection(sql: string): { text: string; offset: number } {
  const up = sql.search(UP_MARKER);
  const down = sql.search(DOWN_MARKER);
  const offset = up < 0 ? 0 : up;
  const end = down > offset ? down : sql.length;
  return { text: sql.slice(offset, end), offset };
}

/**
 * Builds and validates one migration from its contents. Throws
 * {@link MigrationFileError} naming the file and the fix.
 */
export function parseMigration(name: string, contents: string): MigrationFile {
  if (!MIGRATION_NAME.test(name)) {
    throw new MigrationFileError(name, `bad file name; rename it to match ${MIGRATION_NAME.source}, e.g. "0007_add_course_tags.sql"`);
  }
  const sql = normalise(contents);
  const up = sql.search(UP_MARKER);
  if (up < 0) {
    throw new MigrationFileError(name, 'no "-- Up Migration" line; start the SQL to apply with a line "-- Up Migration" (node-pg-migrate SQL format)');
  }
  const header = sql.slice(0, up);
  const transactional = !header.split("\n").some((l) => l.trim() === NO_TRANSACTION_MARKER);
  if (transactional && sql.slice(up).split("\n").some((l) => l.trim() === NO_TRANSACTION_MARKER)) {
    throw new MigrationFileError(name, `"${NO_TRANSACTION_MARKER}" must be in the header, before the "-- Up Migration" line`);
  }
  let statements: Statement[];
  const section = upSection(sql);
  try {
    statements = splitStatements(section.text, section.offset);
  } catch (err) {
    throw new MigrationFileError(name, `${(err as Error).message}; close it`);
  }
  if (statements.length === 0) {
    throw new MigrationFileError(name, 'the Up section has no SQL statements; add them after "-- Up Migration" or delete the file');
  }
  for (const s of statements) {
    const { line } = lineColumn(sql, s.offset);
    if (TRANSACTION_CONTROL.test(s.sql)) {
      throw new MigrationFileError(name, `line ${line}: remove the transaction control statement; the engine runs each migration in its own transaction (or none, with "${NO_TRANSACTION_MARKER}")`);
    }
    if (transactional && NEEDS_NO_TRANSACTION.test(s.sql)) {
      throw new MigrationFileError(name, `line ${line}: this statement cannot run inside a transaction; add a header line "${NO_TRANSACTION_MARKER}" before "-- Up Migration"`);
    }
    if (!transactional && /^create\s+(unique\s+)?index\s+concurrently\s+(?!if\s+not\s+exists)/i.test(s.sql)) {
      throw new MigrationFileError(name, `line ${line}: write "CREATE INDEX CONCURRENTLY IF NOT EXISTS" so the migration can be re-run after a failure part-way`);
    }
    if (!transactional && /^drop\s+index\s+concurrently\s+(?!if\s+exists)/i.test(s.sql)) {
      throw new MigrationFileError(name, `line ${line}: write "DROP INDEX CONCURRENTLY IF EXISTS" so the migration can be re-run after a failure part-way`);
    }
  }
  return { name, sql, sha256: sha256(sql), transactional };
}

/** Checks a list of migrations is strictly ordered with unique sequence numbers. */
export function checkOrder(migrations: readonly MigrationFile[]): void {
  for (let i = 1; i < migrations.length; i++) {
    const [a, b] = [migrations[i - 1].name, migrations[i].name];
    if (a.slice(0, 4) === b.slice(0, 4)) {
      throw new MigrationFileError(b, `sequence number ${b.slice(0, 4)} is also used by ${a}; renumber one of them`);
    }
    if (a > b) throw new MigrationFileError(b, `migrations must be given in name order, but it comes after ${a}`);
  }
}

/**
 * Reads and validates every `*.sql` file in `dir` (default: the repo's
 * `migrations/`), sorted by name. Other files (README, notes) are ignored.
 */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith(".sql"));
  } catch (err) {
    throw new Error(`cannot read the migrations directory ${dir}: ${(err as Error).message}`);
  }
  const migrations = names.sort().map((name) => parseMigration(name, fs.readFileSync(path.join(dir, name), "utf8")));
  checkOrder(migrations);
  return migrations;
}
