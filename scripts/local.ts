/**
 * `npm run local`: the main job on a fresh machine, with no cloud account.
 *
 * 1. Prints the offline plan of every stack (`npm run plan -- --stack <s>`).
 * 2. For each stack, starts an embedded PostgreSQL 18 (the same major as the
 *    stacks; one server per stack, as each stack has its own instance),
 *    emulates what Cloud SQL provides before `pulumi up` reaches
 *    the schema (the `cloudsqlsuperuser` role, a migration user with only its
 *    privileges that owns the database, the IAM database logins), then applies
 *    the migrations through the SchemaMigrations provider's own check/create
 *    (the functions the dynamic provider runs), which also runs partition
 *    maintenance and the membership reconcile with the stack's settings.
 * 3. Prints a summary: applied migrations, partitions, roles and memberships.
 *
 * Each server is stopped (and its data removed) at the end, also on failure or Ctrl-C.
 * Exits non-zero if any plan or any apply failed.
 */
import { spawnSync } from "child_process";
import { Client } from "pg";
import { parseStackConfig } from "../config";
import { iamLoginName } from "../components/database-users";
import { schemaMigrationsProvider } from "../components/schema-migrations";
import type { SchemaMigrationsInputs, SchemaMigrationsOutputs } from "../lib/migrate/inputs";
import { loadMigrations } from "../lib/migrate/files";
import { listStacks, loadStackValues, ROOT } from "../lib/mock-runtime";
import { startEmbeddedPostgres, type EmbeddedServer } from "../test/harness/postgres";

/** Cloud SQL's group role of its administrative user, and of IAM service-account logins. */
const CLOUDSQL_SUPERUSER = "cloudsqlsuperuser";
const CLOUDSQL_IAM_SERVICE_ACCOUNT = "cloudsqliamserviceaccount";
/** Local-only password of the emulated migration user; the embedded server listens on loopback only and is removed at exit. */
const LOCAL_MIGRATOR_PASSWORD = "local-only-migrator";

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

function heading(text: string): void {
  console.log(`\n${"=".repeat(78)}\n${text}\n${"=".repeat(78)}`);
}

/** Prints each stack's offline plan; returns the stacks whose plan failed. */
function printPlans(stacks: readonly string[]): string[] {
  const failedStacks: string[] = [];
  for (const stack of stacks) {
    heading(`Offline plan: stack ${stack}`);
    const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/plan.ts", "--stack", stack], {
      cwd: ROOT,
      stdio: "inherit",
    });
    if (result.status !== 0) failedStacks.push(stack);
  }
  return failedStacks;
}

async function asSuperuser<T>(server: EmbeddedServer, database: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * What Cloud SQL has in place before the migrations run: the migration user
 * (member of cloudsqlsuperuser, CREATEROLE, CREATEDB, not SUPERUSER), the
 * database it owns, the pg_stat_statements extension (allow-listed on Cloud
 * SQL, superuser-only here) and the IAM logins.
 */
async function emulateCloudSql(server: EmbeddedServer, database: string, migrator: string, logins: readonly string[]): Promise<void> {
  await asSuperuser(server, "postgres", async (c) => {
    for (const role of [CLOUDSQL_SUPERUSER, CLOUDSQL_IAM_SERVICE_ACCOUNT]) {
      const exists = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
      if (exists.rowCount === 0) await c.query(`CREATE ROLE ${quote(role)} NOLOGIN${role === CLOUDSQL_SUPERUSER ? " CREATEROLE CREATEDB" : ""}`);
    }
    if ((await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [migrator])).rowCount === 0) {
      await c.query(
        `CREATE ROLE ${quote(migrator)} LOGIN PASSWORD ${literal(LOCAL_MIGRATOR_PASSWORD)} NOSUPERUSER NOREPLICATION NOBYPASSRLS CREATEROLE CREATEDB IN ROLE ${CLOUDSQL_SUPERUSER}`,
      );
    }
    for (const login of logins) {
      if ((await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [login])).rowCount === 0) {
        await c.query(`CREATE ROLE ${quote(login)} LOGIN IN ROLE ${CLOUDSQL_IAM_SERVICE_ACCOUNT}`);
      }
    }
    await c.query(`CREATE DATABASE ${quote(database)} OWNER ${quote(migrator)}`);
  });
  await asSuperuser(server, database, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"));
}

/** Prints applied migrations, partitions, roles and memberships of one database. */
async function printSummary(server: EmbeddedServer, database: string, outs: SchemaMigrationsOutputs): Promise<void> {
  console.log(`\nApplied migrations (${outs.applied.length}), schema version ${outs.schemaVersion}, ledger head ${outs.ledgerHead}:`);
  for (const name of outs.applied) console.log(`  ${name}`);
  await asSuperuser(server, database, async (c) => {
    const parts = await c.query<{ parent: string; partition: string; bound: string }>(
      `SELECT p.relname AS parent, k.relname AS partition, pg_get_expr(k.relpartbound, k.oid) AS bound
         FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class k ON k.oid = i.inhrelid
        WHERE p.relkind = 'p' ORDER BY 1, 2`,
    );
    console.log(`\nPartitions (${parts.rowCount}):`);
    for (const r of parts.rows) console.log(`  ${r.parent} / ${r.partition}  ${r.bound}`);

    const roles = await c.query<{ rolname: string; login: boolean }>(
      `SELECT rolname, rolcanlogin AS login FROM pg_roles
        WHERE rolname LIKE 'lp\\_%' OR pg_has_role(rolname, $1, 'MEMBER') ORDER BY 1`,
      [CLOUDSQL_IAM_SERVICE_ACCOUNT],
    );
    console.log(`\nRoles (${roles.rowCount}):`);
    for (const r of roles.rows) console.log(`  ${r.rolname}${r.login ? " (login)" : ""}`);

    const members = await c.query<{ member: string; grp: string }>(
      `SELECT DISTINCT m.rolname AS member, g.rolname AS grp
         FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid
        WHERE g.rolname LIKE 'lp\\_%' ORDER BY 1, 2`,
    );
    console.log(`\nMemberships (${members.rowCount}):`);
    for (const r of members.rows) console.log(`  ${r.member} → ${r.grp}`);
  });
}

/** Applies one stack's schema through the provider's check + create, then shows that a second run has nothing to do. */
async function applyStack(server: EmbeddedServer, stack: string): Promise<void> {
  const config = parseStackConfig(loadStackValues(stack));
  const database = `${config.database.name}_${stack}`;
  const memberships = Object.fromEntries(Object.values(config.iamUsers).map((u) => [iamLoginName(u.serviceAccount), [...u.groupRoles]]));
  heading(`Schema on embedded PostgreSQL: stack ${stack}, database ${database}`);
  await emulateCloudSql(server, database, config.database.migrationUser, Object.keys(memberships));

  const inputs: SchemaMigrationsInputs = {
    stack,
    host: server.host,
    port: server.port,
    database,
    user: config.database.migrationUser,
    password: LOCAL_MIGRATOR_PASSWORD,
    // Loopback only: the one case lib/pg-connect allows plain text.
    allowPlaintext: true,
    migrations: loadMigrations().map((m) => ({ name: m.name, sha256: m.sha256, sql: m.sql })),
    memberships,
    maintenance: {
      monthsAhead: config.migrations.partitionMonthsAhead,
      retentionMonths: { analytics_events: config.migrations.analyticsRetentionMonths, audit_log: config.migrations.auditRetentionMonths },
    },
  };
  const provider = schemaMigrationsProvider;
  const checked = await provider.check!({} as SchemaMigrationsInputs, inputs);
  if (checked.failures?.length) {
    throw new Error(`check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
  }
  console.log(`pending (what pulumi preview shows): ${(checked.inputs?.pending ?? []).join(", ")}`);
  const created = await provider.create(checked.inputs ?? inputs);
  const outs = created.outs as SchemaMigrationsOutputs;
  const diff = await provider.diff!(created.id, outs, checked.inputs ?? inputs);
  const again = await provider.update!(created.id, outs, checked.inputs ?? inputs);
  console.log(
    `second run: diff reports ${diff.changes ? "changes" : "no changes"}; an update applies ${(again.outs as SchemaMigrationsOutputs).appliedThisRun.length} migration(s)`,
  );
  await printSummary(server, database, outs);
}

async function main(): Promise<number> {
  const stacks = listStacks();
  const failedPlans = printPlans(stacks);
  // One server per stack, as each stack has its own instance (roles are cluster-wide).
  let current: EmbeddedServer | undefined;
  const onSignal = () => {
    void (current ? current.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const failedApplies: string[] = [];
  for (const stack of stacks) {
    heading(`Starting embedded PostgreSQL for stack ${stack}`);
    try {
      current = await startEmbeddedPostgres();
      console.log(`listening on ${current.host}:${current.port}`);
      await applyStack(current, stack);
    } catch (err) {
      failedApplies.push(stack);
      console.error(`\nlocal: stack ${stack}: ${(err as Error).message}`);
    } finally {
      if (current) {
        console.log(`\nstopping embedded PostgreSQL for stack ${stack}`);
        await current.stop();
        current = undefined;
      }
    }
  }
  const problems = [
    ...failedPlans.map((s) => `the offline plan of stack ${s} failed`),
    ...failedApplies.map((s) => `applying the schema for stack ${s} failed`),
  ];
  console.log(problems.length ? `\nlocal: FAILED: ${problems.join("; ")}` : `\nlocal: OK: ${stacks.length} plan(s) printed, schema applied for ${stacks.join(", ")}`);
  return problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`local: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
