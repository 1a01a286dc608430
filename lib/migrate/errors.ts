/**
 * How the migration engine fails: {@link MigrationError} (a migration failed, with its
 * file's line and column), which server errors are transient and retried, and the
 * message that says what was left applied and what to do.
 */
import { lineColumn, type MigrationFile, type Statement } from "./files";

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

// Arrays, not Sets: the dynamic provider serializes this module, and Pulumi's closure
// serializer turns a captured Set into a plain object whose .has() throws.
const TRANSIENT_CODES: readonly string[] = ["55P03", "40001", "40P01"];
const CONNECTION_CODES: readonly string[] = ["57P01", "57P02", "57P03", "08000", "08003", "08006"];
const CONNECTION_ERRNOS: readonly string[] = ["ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT"];

export type PgError = Error & { code?: string; position?: string; where?: string };

export function isConnectionError(err: unknown): boolean {
  const e = err as PgError;
  return (
    (e.code !== undefined && (CONNECTION_CODES.includes(e.code) || CONNECTION_ERRNOS.includes(e.code))) ||
    /Connection terminated|Client has encountered a connection error|not queryable/i.test(e.message ?? "")
  );
}

export function isTransient(err: unknown): boolean {
  const code = (err as PgError).code;
  return (code !== undefined && TRANSIENT_CODES.includes(code)) || isConnectionError(err);
}

/**
 * A migration's message may tell the operator to raise an `lp.*` setting. The
 * engine resets each file's session to its login settings, so a plain SET in
 * some other session changes nothing: say what does.
 */
function settingHint(message: string, user: string): string {
  const m = /\bSET (lp\.[a-z_]+)\b/.exec(message);
  if (!m) return "";
  return (
    ` (lp.* settings are read at login: the engine resets each migration's session to them. ` +
    `Raise it with ALTER ROLE ${user} SET ${m[1]} = <value>, or for one run PGOPTIONS='-c ${m[1]}=<value>'; docs/runbook.md#blocking-index-build)`
  );
}

/** The error a failed migration ends the run with: where in the file, how often it was tried, and what stays applied. */
export function describeFailure(m: MigrationFile, stmt: Statement | undefined, err: unknown, attempts: number, user = "<migration user>"): MigrationError {
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
  return new MigrationError(`migration ${m.name} failed${where}${tries}: ${e.message}${settingHint(e.message, user)}${code}. ${state}${context}`, m.name, pos?.line, pos?.column, e.code);
}
