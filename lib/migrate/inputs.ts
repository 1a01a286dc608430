/**
 * What the SchemaMigrations resource carries, and the one validation of it:
 * the provider's `check`, the component's constructor and `applySchema` all
 * refuse the same inputs. Plain functions and data only: the dynamic provider
 * that calls them is serialized into the state.
 */
import { parseMigration, type MigrationFile } from "./files";
import type { PgTarget } from "../pg-connect";
import { validStackName } from "./stack-binding";
import { membershipProblems } from "./validation";

/**
 * The value the engine passes for an input that is not known yet (a first
 * preview, before the instance exists). Same as `@pulumi/pulumi/runtime/rpc`'s
 * `unknownValue`; repeated here so the serialized provider does not load the SDK.
 */
export const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

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

/** True if `value` is, or contains, the unknown sentinel. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN_SENTINEL) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Stable JSON (sorted keys), so key order never looks like a change. */
export function canonical(value: unknown): string {
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
