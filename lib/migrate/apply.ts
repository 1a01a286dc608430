/**
 * The SchemaMigrations operations that touch the database: `applySchema`
 * (create and update; `npm run local` and `npm run migrate` call it too) and
 * `readSchema` (refresh). Connection losses are retried with a bound; every
 * error is scrubbed of the password.
 */
import { connect, isConnectError, scrub, type PgTarget } from "../pg-connect";
import { acquireLock, ADVISORY_LOCK_KEY, applyMigrations, diffLedger, ledgerHead, readLedger, type LedgerRow } from "./engine";
import type { MigrationFile } from "./files";
import { toMigrationFiles, type Drift, type SchemaMigrationsInputs, type SchemaMigrationsOutputs } from "./inputs";
import { reconcileMemberships, runPartitionMaintenance } from "./maintenance";

/** Bound on waiting for another run's migration lock. A run on prod takes seconds; 2 minutes covers a concurrent run of a long CONCURRENTLY build without hanging `pulumi up`. */
export const DEFAULT_LOCK_WAIT_MS = 120_000;
/** Attempts for a lost connection or an unreachable server (a Cloud SQL failover or maintenance restart takes under a minute). */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Backoff between attempts: base × 2^(attempt-1), capped; with 5 attempts the waits sum to 15 s. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 8_000;

type Log = (line: string) => void;

function targetOf(inputs: SchemaMigrationsInputs): PgTarget {
  return {
    host: inputs.host,
    port: inputs.port,
    connector: inputs.connector,
    database: inputs.database,
    user: inputs.user,
    password: inputs.password,
    serverCa: inputs.serverCa,
    serverName: inputs.serverName,
    allowPlaintext: inputs.allowPlaintext,
    connectTimeoutMs: inputs.tuning?.connectTimeoutMs,
    applicationName: "lp-db schema migrations",
  };
}

/** Connection-level failures worth another attempt: the server restarted, failed over, or dropped us. */
const RETRYABLE_SQLSTATES: readonly string[] = ["57P01", "57P02", "57P03", "08000", "08001", "08003", "08006", "53300"];
function isRetryable(err: unknown): boolean {
  if (isConnectError(err)) return err.kind === "timeout" || err.kind === "unreachable";
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === "MigrationError" || e.name === "LedgerMismatchError" || e.name === "MigrationLockTimeoutError") return false;
  return (
    (typeof e.code === "string" && (RETRYABLE_SQLSTATES.includes(e.code) || ["ECONNRESET", "EPIPE"].includes(e.code))) ||
    /Connection terminated|connection error|not queryable/i.test(e.message ?? "")
  );
}

/** An Error whose message has every secret of the inputs removed. Keeps `name` and `code` for callers. */
function scrubbed(err: unknown, inputs: SchemaMigrationsInputs, context: string): Error {
  const e = (err ?? {}) as { name?: string; code?: string; message?: string };
  const message = scrub(`${context}: ${e.message ?? String(err)}`, [inputs.password]);
  return Object.assign(new Error(message), { name: e.name ?? "Error", code: e.code });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options of {@link applySchema}. */
export interface ApplyScope {
  /** Apply the migrations only, without partition maintenance and the reconcile (`npm run migrate` without a stack). @default false */
  readonly migrationsOnly?: boolean;
}

/**
 * Applies pending migrations, then partition maintenance and the membership
 * reconcile, all under the migration lock; returns the outputs. Connection
 * losses and unreachable servers are retried with backoff up to
 * `tuning.maxAttempts`; every error message is scrubbed of the password.
 */
export async function applySchema(inputs: SchemaMigrationsInputs, log: Log = () => undefined, scope: ApplyScope = {}): Promise<SchemaMigrationsOutputs> {
  const say: Log = (line) => log(scrub(line, [inputs.password]));
  const target = targetOf(inputs);
  const migrations = toMigrationFiles(inputs.migrations);
  const maxAttempts = Math.max(1, inputs.tuning?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const lockTimeoutMs = inputs.tuning?.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS;
  const base = inputs.tuning?.retryBaseMs ?? RETRY_BASE_MS;
  const appliedThisRun: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const clients: Awaited<ReturnType<typeof connect>>[] = [];
    const open = async () => {
      const c = await connect(target);
      clients.push(c);
      return c;
    };
    try {
      const result = await applyMigrations(await open(), migrations, { lockTimeoutMs, maxAttempts, log: say, reconnect: open, stack: inputs.stack });
      appliedThisRun.push(...result.applied);
      // Maintenance and the reconcile run under the same lock, so two runs never race on partitions or grants.
      const client = clients[clients.length - 1];
      if (scope.migrationsOnly) return outputsOf(inputs, await readLedger(client), migrations, appliedThisRun, result.pending, []);
      await acquireLock(client, lockTimeoutMs);
      try {
        const parts = await runPartitionMaintenance(client, {
          monthsAhead: inputs.maintenance.monthsAhead,
          retentionMonths: { ...inputs.maintenance.retentionMonths },
        });
        say(`partition maintenance: created ${parts.created.length} (${parts.created.join(", ") || "none"}), dropped ${parts.dropped.length} (${parts.dropped.join(", ") || "none"})`);
        for (const h of parts.held) say(`partition maintenance: kept past retention, held: ${h}`);
        for (const b of parts.removedBounds) say(`partition maintenance: removed a conversion bound: ${b}`);
        const roles = await reconcileMemberships(client, inputs.memberships, { connectionLimits: inputs.loginConnectionLimits });
        say(`membership reconcile: granted ${roles.granted.join(", ") || "none"}; revoked ${roles.revoked.join(", ") || "none"}`);
        for (const w of roles.warnings) say(`warning: ${w}`);
        const ledger = await readLedger(client);
        return outputsOf(inputs, ledger, migrations, appliedThisRun, result.pending, roles.warnings.map((w) => scrub(w, [inputs.password])));
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [ADVISORY_LOCK_KEY.toString()]).catch(() => undefined);
      }
    } catch (err) {
      if (attempt >= maxAttempts || !isRetryable(err)) {
        const tries = attempt > 1 ? ` (gave up after ${attempt} attempts)` : "";
        throw scrubbed(err, inputs, `schema migrations on ${inputs.database}${tries}`);
      }
      const wait = Math.min(RETRY_MAX_MS, base * 2 ** (attempt - 1));
      say(`transient failure (${scrub((err as Error).message ?? String(err), [inputs.password])}); retrying in ${wait} ms (attempt ${attempt + 1} of ${maxAttempts})`);
      await sleep(wait);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  }
}

function outputsOf(
  inputs: SchemaMigrationsInputs,
  ledger: readonly LedgerRow[],
  migrations: readonly MigrationFile[],
  appliedThisRun: string[],
  pending: string[],
  warnings: string[],
): SchemaMigrationsOutputs {
  const last = ledger[ledger.length - 1];
  return {
    ...inputs,
    applied: ledger.map((r) => r.name),
    appliedThisRun,
    ledgerHead: ledgerHead(ledger),
    schemaVersion: last ? last.name.replace(/\.sql$/, "") : "",
    pending,
    drift: driftOf(ledger, migrations, ledger.map((r) => r.name)),
    warnings,
  };
}

/** Drift between the ledger, the stack's migrations and what the state says was applied. */
export function driftOf(ledger: readonly Pick<LedgerRow, "name" | "sha256">[], migrations: readonly MigrationFile[], appliedInState: readonly string[]): Drift {
  const diff = diffLedger(ledger, migrations);
  const inLedger = ledger.map((r) => r.name);
  return {
    appliedOutsidePulumi: diff.unknown,
    missing: appliedInState.filter((name) => !inLedger.includes(name)),
    checksumMismatch: diff.tampered,
  };
}

/** Reads the ledger and reports drift against the state (`pulumi refresh`). Changes nothing. */
export async function readSchema(props: SchemaMigrationsOutputs): Promise<SchemaMigrationsOutputs> {
  const migrations = toMigrationFiles(props.migrations);
  try {
    const client = await connect(targetOf(props));
    try {
      const ledger = await readLedger(client);
      const last = ledger[ledger.length - 1];
      const drift = driftOf(ledger, migrations, props.applied ?? []);
      const applied = new Set(ledger.map((r) => r.name));
      return {
        ...props,
        applied: ledger.map((r) => r.name),
        ledgerHead: ledgerHead(ledger),
        schemaVersion: last ? last.name.replace(/\.sql$/, "") : "",
        pending: migrations.filter((m) => !applied.has(m.name)).map((m) => m.name),
        drift,
        warnings: props.warnings ?? [],
      };
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (err) {
    // The state's connection values are all a refresh has; after a rotation they are stale until `pulumi up` records the new ones.
    const stale =
      isConnectError(err) && (err.kind === "auth" || err.kind === "tls")
        ? " — if the password, server CA or address changed since the last `pulumi up` (a rotation), run `pulumi up` first so the state has the new values, then refresh"
        : "";
    const e = scrubbed(err, props, `reading the migration ledger of ${props.database}`);
    throw Object.assign(e, { message: `${e.message}${stale}` });
  }
}
