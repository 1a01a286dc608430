/**
 * SchemaMigrations: the dynamic resource that applies `migrations/*.sql` to
 * the primary during `pulumi up`, then runs partition maintenance and the
 * login → group-role membership reconcile, so the schema, partitions and
 * grants move with the stack and `pulumi preview` shows what will change.
 *
 * - Inputs carry each migration's name, sha256 and SQL text, never a path, so
 *   the state does not depend on the machine that deployed it.
 * - `check` validates the inputs (lib/migrate/inputs) and computes `pending`,
 *   the migrations the last successful apply did not have.
 * - `diff` (lib/migrate/diff) asks for an update when the migration set, the
 *   memberships and login limits or the maintenance settings change, when a
 *   refresh recorded drift, and when a connection field changes or is not yet
 *   known. The last keeps the state's password, CA and address current after a
 *   rotation: `read` only ever sees the state, so without it every later
 *   `pulumi refresh` would fail; the update is a no-op for the database.
 *   Tuning alone is no change, and nothing is ever replaced.
 * - `create`/`update` apply under the migration advisory lock with a bounded
 *   wait (lib/migrate/apply); `warnings` lists what an apply could not do but
 *   did not fail on, such as a login limit the migration user may not set.
 * - `read` (`pulumi refresh`) reports drift from the database's ledger.
 * - `delete` leaves the database untouched: the schema outlives the resource.
 *
 * The provider object below is serialized into the state by Pulumi's closure
 * serializer and run by the engine's dynamic-provider host, so everything it
 * reaches keeps to plain functions and data (see lib/pg-connect.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import type { ConnectorTarget } from "../lib/pg-connect";
import { applySchema, readSchema } from "../lib/migrate/apply";
import { diffSchema } from "../lib/migrate/diff";
import type { MigrationFile } from "../lib/migrate/files";
import {
  pendingNames,
  validateInputs,
  type Drift,
  type MaintenanceSettings,
  type SchemaMigrationsInputs,
  type SchemaMigrationsOutputs,
  type Tuning,
} from "../lib/migrate/inputs";

/** Module and type of the dynamic resource; Pulumi registers it as {@link SCHEMA_MIGRATIONS_TYPE}. */
export const SCHEMA_MIGRATIONS_MODULE = "lp/database";
export const SCHEMA_MIGRATIONS_KIND = "SchemaMigrations";
/** The registered type token (`pulumi-nodejs:dynamic/<module>:<type>`), for policies and tests. */
export const SCHEMA_MIGRATIONS_TYPE = `pulumi-nodejs:dynamic/${SCHEMA_MIGRATIONS_MODULE}:${SCHEMA_MIGRATIONS_KIND}`;

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
