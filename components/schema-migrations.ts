/**
 * SchemaMigrations: the dynamic resource that applies `migrations/*.sql` to
 * the primary during `pulumi up`, then runs partition maintenance and the
 * login → group-role membership reconcile.
 *
 * - Inputs carry each migration's name, sha256 and SQL text, never a path, so
 *   the state does not depend on the machine that deployed it.
 * - `check` validates the inputs and computes `pending` (migrations the last
 *   successful apply did not have), which `pulumi preview` shows as a change.
 * - `diff` reports a change when the migration set, the memberships (and
 *   login limits) or the maintenance settings change, when a refresh found
 *   drift, and when a connection field ({@link CONNECTION_FIELDS}: host, port,
 *   user, password, server CA or name, connector) changes or is not known yet.
 *   The last goes beyond the issue's "only when the migration set, the
 *   memberships or the settings change" on purpose: `read` only ever sees the
 *   state, so without an update after a password or CA rotation the state keeps
 *   the old values and every later `pulumi refresh` fails. The update it causes
 *   is a no-op for the database (nothing pending; maintenance and the reconcile
 *   are idempotent) that brings the state up to date. Tuning alone is no change.
 *   It never asks for a replacement.
 * - `create`/`update` apply under the migration advisory lock (bounded wait)
 *   through lib/migrate, reconnecting after a lost connection up to a bound.
 * - `warnings` (output) lists what an apply could not do but did not fail on:
 *   today a login's CONNECTION LIMIT or settings the migration user may not
 *   alter (42501; see lib/migrate/maintenance.ts and docs/connectivity.md).
 * - `read` (`pulumi refresh`) reports drift from the database's ledger. It
 *   connects with the state's values; if those are stale (a rotation not yet
 *   deployed) the error says to run `pulumi up` first.
 * - `delete` leaves the database untouched.
 *
 * The provider object below is serialized into the state by Pulumi's closure
 * serializer and run by the engine's dynamic-provider host, so everything it
 * reaches keeps to plain functions and data (see lib/pg-connect.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import { connect, isConnectError, scrub, type ConnectorTarget, type PgTarget } from "../lib/pg-connect";
import { acquireLock, ADVISORY_LOCK_KEY, applyMigrations, diffLedger, ledgerHead, readLedger, type LedgerRow } from "../lib/migrate/engine";
import { parseMigration, type MigrationFile } from "../lib/migrate/files";
import { reconcileMemberships, runPartitionMaintenance } from "../lib/migrate/maintenance";
import { validStackName } from "../lib/migrate/stack-binding";
import { membershipProblems } from "../lib/migrate/validation";

/** Module and type of the dynamic resource; Pulumi registers it as {@link SCHEMA_MIGRATIONS_TYPE}. */
export const SCHEMA_MIGRATIONS_MODULE = "lp/database";
export const SCHEMA_MIGRATIONS_KIND = "SchemaMigrations";
/** The registered type token (`pulumi-nodejs:dynamic/<module>:<type>`), for policies and tests. */
export const SCHEMA_MIGRATIONS_TYPE = `pulumi-nodejs:dynamic/${SCHEMA_MIGRATIONS_MODULE}:${SCHEMA_MIGRATIONS_KIND}`;

/**
 * The value the engine passes for an input that is not known yet (a first
 * preview, before the instance exists). Same as `@pulumi/pulumi/runtime/rpc`'s
 * `unknownValue`; repeated here so the serialized provider does not load the SDK.
 */
export const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Bound on waiting for another run's migration lock. A run on prod takes seconds; 2 minutes covers a concurrent run of a long CONCURRENTLY build without hanging `pulumi up`. */
export const DEFAULT_LOCK_WAIT_MS = 120_000;
/** Attempts for a lost connection or an unreachable server (a Cloud SQL failover or maintenance restart takes under a minute). */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Backoff between attempts: base × 2^(attempt-1), capped; with 5 attempts the waits sum to 15 s. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 8_000;

/** One migration as the resource carries it: by content, never by path. */
export interface MigrationInput {
  /** File name, e.g. "0001_baseline_schema.sql". */
  readonly name: string;
  /** Hex sha256 of `sql`. */
  readonly sha256: string;
  /** The whole file text. */
  readonly sql: string;
}

/** Partition maintenance settings (see lib/migrate/maintenance.ts). */
export interface MaintenanceSettings {
  /** Monthly partitions kept ready ahead of now. */
  readonly monthsAhead: number;
  /** Months of partitions kept per partitioned table; older ones are dropped. */
  readonly retentionMonths: Readonly<Record<string, number>>;
}

/** Knobs for a run; changing them alone does not trigger an update. */
export interface Tuning {
  /** Bound on waiting for the migration lock (ms). @default DEFAULT_LOCK_WAIT_MS */
  readonly lockTimeoutMs?: number;
  /** Attempts for transient errors. @default DEFAULT_MAX_ATTEMPTS */
  readonly maxAttempts?: number;
  /** Bound on opening a session (ms). @default lib/pg-connect DEFAULT_CONNECT_TIMEOUT_MS */
  readonly connectTimeoutMs?: number;
  /** Backoff base between attempts (ms). @default RETRY_BASE_MS */
  readonly retryBaseMs?: number;
}

/** Drift a refresh found between Pulumi's state and the database's ledger. */
export interface Drift {
  /** Ledger rows this stack never applied: applied outside Pulumi. */
  readonly appliedOutsidePulumi: string[];
  /** Migrations the state records as applied that the ledger lacks. */
  readonly missing: string[];
  /** Applied migrations whose checksum in the ledger differs from the stack's file. */
  readonly checksumMismatch: string[];
}

/** The session fields of the provider's inputs: those of lib/pg-connect's target (the timeout comes from `tuning`). */
type SessionInputs = Pick<PgTarget, "host" | "port" | "connector" | "database" | "user" | "password" | "serverCa" | "serverName" | "allowPlaintext">;

/** The provider's inputs, as plain values (what the engine hands the provider). */
export interface SchemaMigrationsInputs extends SessionInputs {
  /** Pulumi stack the database belongs to (lib/migrate/stack-binding); the provider requires it. Absent only for `npm run migrate` without --stack (migrations only). */
  readonly stack?: string;
  readonly migrations: readonly MigrationInput[];
  readonly memberships: Readonly<Record<string, readonly string[]>>;
  /** CONNECTION LIMIT per login (lib/connection-budget loginConnectionLimits); logins not listed get their groups' limits. */
  readonly loginConnectionLimits?: Readonly<Record<string, number>>;
  readonly maintenance: MaintenanceSettings;
  readonly tuning?: Tuning;
  /** Computed by `check`: migrations the last successful apply did not have. */
  readonly pending?: string[];
}

/** The provider's outputs: the inputs plus what the database reported. */
export interface SchemaMigrationsOutputs extends SchemaMigrationsInputs {
  /** Every migration in the ledger, in order. */
  readonly applied: string[];
  /** Migrations this run applied. */
  readonly appliedThisRun: string[];
  /** sha256 chain over the ledger (lib/migrate ledgerHead). */
  readonly ledgerHead: string;
  /** Name of the last applied migration without `.sql`. */
  readonly schemaVersion: string;
  readonly pending: string[];
  readonly drift: Drift;
  /** What the last apply could not do but did not fail on (e.g. a login's limit it may not set: lib/migrate/maintenance). */
  readonly warnings: string[];
}

type Log = (line: string) => void;

// ---------------------------------------------------------------------------
// Pure helpers (no I/O)

/** True if `value` is, or contains, the unknown sentinel. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN_SENTINEL) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Stable JSON (sorted keys), so key order never looks like a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What decides whether an update is needed: migration names + checksums, memberships (order-free), settings. */
function fingerprint(props: Partial<SchemaMigrationsInputs>): { migrations: string; memberships: string; maintenance: string } {
  const memberships: Record<string, string[]> = {};
  for (const [login, roles] of Object.entries(props.memberships ?? {})) memberships[login] = [...roles].sort();
  return {
    migrations: canonical((props.migrations ?? []).map((m) => [m.name, m.sha256])),
    // Absent limits and {} are the same, so a state written before the input existed shows no change.
    memberships: canonical({ memberships, limits: props.loginConnectionLimits ?? {} }),
    maintenance: canonical(props.maintenance ?? {}),
  };
}

/** Names in `news` that `olds` did not have with the same checksum. */
export function pendingNames(olds: readonly MigrationInput[] | undefined, news: readonly MigrationInput[]): string[] {
  const had = new Map((olds ?? []).map((m) => [m.name, m.sha256]));
  return news.filter((m) => had.get(m.name) !== m.sha256).map((m) => m.name);
}

/** Validates the inputs; one entry per problem, naming the property. */
export function validateInputs(news: Partial<SchemaMigrationsInputs>): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  const known = (v: unknown) => v !== undefined && !containsUnknown(v);
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  if (!containsUnknown(news.stack) && !validStackName(news.stack)) {
    fail("stack", `${JSON.stringify(news.stack)} is not a Pulumi stack name; pass pulumi.getStack() (the database is bound to it on first apply)`);
  }
  if (!news.connector && known(news.host) && (typeof news.host !== "string" || news.host === "")) {
    fail("host", "give the primary's private IP (or set connector to use the Cloud SQL connector)");
  }
  if (known(news.database) && !/^[a-z_][a-z0-9_]{0,62}$/.test(String(news.database))) fail("database", `"${String(news.database)}" is not a lowercase PostgreSQL identifier`);
  // IAM database users are e-mail-like (`sa@project.iam`).
  if (known(news.user) && !/^[a-z_][a-z0-9_.@-]{0,62}$/.test(String(news.user))) fail("user", `"${String(news.user)}" is not a built-in or IAM database user name`);
  if (!Array.isArray(news.migrations)) {
    if (!containsUnknown(news.migrations)) fail("migrations", "expected an array of { name, sha256, sql }");
  } else {
    news.migrations.forEach((m, i) => {
      if (containsUnknown(m)) return;
      try {
        const parsed = parseMigration(m.name, m.sql);
        if (parsed.sha256 !== m.sha256) {
          fail(`migrations[${i}].sha256`, `${m.name}: sha256 ${m.sha256} does not match its SQL (${parsed.sha256}); pass the checksum loadMigrations computes`);
        }
      } catch (err) {
        fail(`migrations[${i}]`, (err as Error).message);
      }
      if (i > 0 && news.migrations![i - 1].name >= m.name) fail(`migrations[${i}]`, `${m.name} must come after ${news.migrations![i - 1].name}, in name order, once`);
    });
  }
  // The same rules the reconcile applies at `up` (lib/migrate/validation), so a preview that passes is not refused after the migrations committed.
  if (known(news.memberships)) {
    const limits = known(news.loginConnectionLimits) ? (news.loginConnectionLimits ?? {}) : {};
    for (const p of membershipProblems(news.memberships ?? {}, limits)) fail(p.property, p.reason);
  }
  if (known(news.maintenance)) {
    const m = news.maintenance as MaintenanceSettings | undefined;
    if (!m || !Number.isInteger(m.monthsAhead) || m.monthsAhead < 1) fail("maintenance.monthsAhead", "expected a whole number of months ≥ 1");
    for (const [table, months] of Object.entries(m?.retentionMonths ?? {})) {
      if (!Number.isInteger(months) || months < 1) fail(`maintenance.retentionMonths.${table}`, "expected a whole number of months ≥ 1");
    }
  }
  return failures;
}

/** The migrations as lib/migrate wants them, re-parsed from their text (the checksum is recomputed, not trusted). */
export function toMigrationFiles(inputs: readonly MigrationInput[]): MigrationFile[] {
  return inputs.map((m) => {
    const parsed = parseMigration(m.name, m.sql);
    if (parsed.sha256 !== m.sha256) throw new Error(`${m.name}: the sha256 input does not match its SQL; pass the checksum loadMigrations computes`);
    return parsed;
  });
}

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

// ---------------------------------------------------------------------------
// The operations (create/update share `applySchema`; `npm run local` and `npm run migrate` call it too)

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

/** Inputs that say how to reach the database; a change updates the state through a no-op apply (see the header). */
export const CONNECTION_FIELDS = ["host", "port", "user", "password", "serverCa", "serverName", "connector"] as const;

/** Connection fields whose new value differs from the state's or is not known yet. */
export function changedConnectionFields(olds: Partial<SchemaMigrationsInputs>, news: Partial<SchemaMigrationsInputs>): string[] {
  return CONNECTION_FIELDS.filter((f) => containsUnknown(news[f]) || canonical(olds[f]) !== canonical(news[f]));
}

/** True when a refresh recorded drift, so the next `pulumi up` must reconcile. */
function hasDrift(drift: Drift | undefined): boolean {
  return !!drift && drift.appliedOutsidePulumi.length + drift.missing.length + drift.checksumMismatch.length > 0;
}

/** What `diff` decides: changes for the migration set, memberships, settings, recorded drift or the connection fields; never a replacement. */
export function diffSchema(olds: Partial<SchemaMigrationsOutputs>, news: Partial<SchemaMigrationsInputs>): pulumi.dynamic.DiffResult {
  const a = fingerprint(olds);
  const unknown = containsUnknown(news.migrations) || containsUnknown(news.memberships) || containsUnknown(news.maintenance);
  const b = unknown ? undefined : fingerprint(news);
  const changes =
    !b ||
    a.migrations !== b.migrations ||
    a.memberships !== b.memberships ||
    a.maintenance !== b.maintenance ||
    hasDrift(olds.drift) ||
    (olds.pending?.length ?? 0) > 0 ||
    changedConnectionFields(olds, news).length > 0;
  return { changes, replaces: [], deleteBeforeReplace: false };
}

/** The dynamic provider. Plain object of plain functions: it is serialized into the state. */
export const schemaMigrationsProvider: pulumi.dynamic.ResourceProvider<SchemaMigrationsInputs, SchemaMigrationsOutputs> = {
  async check(olds, news) {
    const failures = validateInputs(news);
    if (failures.length > 0 || !Array.isArray(news.migrations)) return { inputs: news, failures };
    const applied = (olds as Partial<SchemaMigrationsOutputs>).migrations;
    return { inputs: { ...news, pending: pendingNames(applied, news.migrations) } };
  },
  async diff(_id, olds, news) {
    return diffSchema(olds, news);
  },
  async create(inputs) {
    const outs = await applySchema(inputs, (line) => console.log(`[schema-migrations] ${line}`));
    return { id: `lp-schema-migrations/${inputs.database}`, outs };
  },
  async update(_id, _olds, news) {
    return { outs: await applySchema(news, (line) => console.log(`[schema-migrations] ${line}`)) };
  },
  async read(id, props) {
    if (!props) throw new Error(`${id}: nothing to read; import is not supported, create the resource with pulumi up`);
    return { id, props: await readSchema(props) };
  },
  async delete() {
    // The schema outlives this resource: removing it from the program must never drop data.
  },
};

/**
 * What the resource carries instead of {@link schemaMigrationsProvider} under
 * Pulumi mocks (the offline plan and the tests), where no provider ever runs:
 * serializing the real one there is wasted work, and under vitest's module
 * transform the closure serializer cannot capture imported modules at all.
 * test/harness/provider-child.ts serializes and replays the real provider.
 */
const mockedProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    throw new Error("SchemaMigrations: this stand-in provider exists only under Pulumi mocks");
  },
};

/** True when the program runs under `pulumi.runtime.setMocks`. */
function mocked(): boolean {
  return getMonitor() instanceof MockMonitor;
}

// ---------------------------------------------------------------------------
// The resource

/** Arguments of {@link SchemaMigrations}. */
export interface SchemaMigrationsArgs {
  /** Pulumi stack (pulumi.getStack()): the database is bound to it on first apply, and another stack's apply is refused. */
  readonly stack: string;
  /** Address of the primary: its private IP for a runner inside the VPC; ignored with `connector`. */
  readonly host: pulumi.Input<string>;
  /** TCP port. @default 5432 */
  readonly port?: pulumi.Input<number>;
  /** Reach the primary through the Cloud SQL connector (private IP, optional IAM auth) instead. @default undefined (direct) */
  readonly connector?: pulumi.Input<{ readonly [K in keyof ConnectorTarget]: pulumi.Input<ConnectorTarget[K]> }>;
  /** Database the migrations apply to. */
  readonly database: pulumi.Input<string>;
  /** Migration user (Cloud SQL built-in user). */
  readonly user: pulumi.Input<string>;
  /** Migration user's password; stored as a secret. */
  readonly password: pulumi.Input<string>;
  /** PEM of the instance's server CA, the only trust anchor for TLS. */
  readonly serverCa: pulumi.Input<string>;
  /** Name the server certificate must carry (Cloud SQL: `project:instance`). @default undefined (chain verified, name not) */
  readonly serverName?: pulumi.Input<string>;
  /** Ordered migrations by content (lib/migrate loadMigrations). */
  readonly migrations: readonly MigrationFile[];
  /** Login (IAM database user) → group roles granted by the reconcile. */
  readonly memberships: Readonly<Record<string, readonly string[]>>;
  /** CONNECTION LIMIT per login, from the connection budget (lib/connection-budget loginConnectionLimits). @default {} (each login gets the sum of its groups' limits) */
  readonly loginConnectionLimits?: Readonly<Record<string, number>>;
  /** Partition maintenance settings. */
  readonly maintenance: MaintenanceSettings;
  /** Lock wait, attempts and timeouts. @default the DEFAULT_* constants */
  readonly tuning?: Tuning;
}

/** Applies the schema migrations to one database on the primary. Never replaced; deleting it leaves the database alone. */
export class SchemaMigrations extends pulumi.dynamic.Resource {
  /** Every migration in the ledger, in order. */
  declare public readonly applied: pulumi.Output<string[]>;
  /** Migrations the last apply applied. */
  declare public readonly appliedThisRun: pulumi.Output<string[]>;
  /** Migrations not yet applied: in a preview, what `pulumi up` will apply. */
  declare public readonly pending: pulumi.Output<string[]>;
  /** sha256 chain over the ledger. */
  declare public readonly ledgerHead: pulumi.Output<string>;
  /** Last applied migration, without `.sql`. */
  declare public readonly schemaVersion: pulumi.Output<string>;
  /** Drift found by the last refresh. */
  declare public readonly drift: pulumi.Output<Drift>;
  /** What the last apply could not do but did not fail on, e.g. a login limit the migration user may not set. */
  declare public readonly warnings: pulumi.Output<string[]>;

  constructor(name: string, args: SchemaMigrationsArgs, opts: pulumi.CustomResourceOptions = {}) {
    const problems = validateInputs({
      stack: args.stack,
      migrations: args.migrations.map((m) => ({ name: m.name, sha256: m.sha256, sql: m.sql })),
      memberships: args.memberships,
      loginConnectionLimits: args.loginConnectionLimits,
      maintenance: args.maintenance,
    });
    // Refuse before `super`: a throw after it would leave a registered resource half-defined in the engine.
    if (problems.length > 0) {
      throw new pulumi.ResourceError(`SchemaMigrations ${name}: ${problems.map((p) => `${p.property}: ${p.reason}`).join("; ")}`, opts.parent);
    }
    const props: Record<string, unknown> = {
      stack: args.stack,
      host: args.host,
      port: args.port,
      connector: args.connector,
      database: args.database,
      user: args.user,
      password: pulumi.secret(args.password),
      serverCa: args.serverCa,
      serverName: args.serverName,
      allowPlaintext: false,
      migrations: args.migrations.map((m) => ({ name: m.name, sha256: m.sha256, sql: m.sql })),
      memberships: Object.fromEntries(Object.entries(args.memberships).map(([login, roles]) => [login, [...roles]])),
      loginConnectionLimits: args.loginConnectionLimits ? { ...args.loginConnectionLimits } : undefined,
      maintenance: { monthsAhead: args.maintenance.monthsAhead, retentionMonths: { ...args.maintenance.retentionMonths } },
      tuning: args.tuning ?? {},
      pending: undefined,
      applied: undefined,
      appliedThisRun: undefined,
      ledgerHead: undefined,
      schemaVersion: undefined,
      drift: undefined,
      warnings: undefined,
    };
    super(
      mocked() ? mockedProvider : schemaMigrationsProvider,
      name,
      props,
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "password"] },
      SCHEMA_MIGRATIONS_MODULE,
      SCHEMA_MIGRATIONS_KIND,
    );
  }
}
