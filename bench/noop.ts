/**
 * No-op apply: the wall time of the migrations provider's `diff` plus
 * `update` (components/schema-migrations.ts, called as plain functions, not
 * serialized) against a database that already has every migration: what a
 * `pulumi up` with unchanged migrations costs the primary.
 */
import { Client } from "pg";
import type { MigrationFile } from "../lib/migrate/files";
import { schemaMigrationsProvider } from "../components/schema-migrations";
import type { SchemaMigrationsInputs, SchemaMigrationsOutputs } from "../lib/migrate/inputs";
import type { BenchServer } from "./server";

/** Timed repetitions after one warm-up; the median is reported (one slow scheduling hiccup on a shared 2-core box should not decide it). */
const REPETITIONS = 5;
/** Login users and their group roles, shaped like the prod stack's `lp-db:iamUsers` (application → lp_app_rw, analytics → lp_analytics_ro). */
const MEMBERSHIPS: Readonly<Record<string, readonly string[]>> = { lp_bench_app: ["lp_app_rw"], lp_bench_analytics: ["lp_analytics_ro"] };
/** Partition maintenance as the prod stack sets it (Pulumi.yaml defaults: 3 months ahead; retention 13 months analytics, 84 audit). */
const MAINTENANCE = { monthsAhead: 3, retentionMonths: { analytics_events: 13, audit_log: 84 } } as const;

/** Runs `fn` with console.log sent to `log` (the provider logs with console.log; stdout is reserved for the results table). */
async function withConsoleTo<T>(log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]) => log(args.map(String).join(" "));
  try {
    return await fn();
  } finally {
    console.log = original;
  }
}

/**
 * Creates the login users, brings the database fully up to date through the
 * provider once (partition maintenance and the membership reconcile do their
 * one-time work here), then times diff + update REPETITIONS times; returns the
 * median in ms.
 */
export async function measureNoopApply(srv: BenchServer, migrations: readonly MigrationFile[], log: (line: string) => void): Promise<number> {
  const su = new Client({ host: srv.server.host, port: srv.server.port, user: srv.server.user, password: srv.server.password, database: "postgres" });
  await su.connect();
  try {
    for (const login of Object.keys(MEMBERSHIPS)) await su.query(`CREATE ROLE ${login} LOGIN PASSWORD 'bench-only'`);
  } finally {
    await su.end();
  }
  const cfg = srv.config;
  const inputs: SchemaMigrationsInputs = {
    host: String(cfg.host),
    port: Number(cfg.port),
    database: String(cfg.database),
    user: String(cfg.user),
    password: String(cfg.password),
    // The embedded server listens on loopback without TLS; the provider allows that only for local targets.
    allowPlaintext: true,
    migrations: migrations.map((m) => ({ name: m.name, sha256: m.sha256, sql: m.sql })),
    memberships: MEMBERSHIPS,
    maintenance: MAINTENANCE,
  };
  const id = `lp-schema-migrations/${inputs.database}`;
  return withConsoleTo(log, async () => {
    let olds: SchemaMigrationsOutputs = (await schemaMigrationsProvider.update!(id, inputs as SchemaMigrationsOutputs, inputs)).outs as SchemaMigrationsOutputs;
    if (olds.appliedThisRun.length > 0) throw new Error(`no-op apply: the database was not up to date; the provider applied ${olds.appliedThisRun.join(", ")}`);
    const times: number[] = [];
    for (let i = 0; i < REPETITIONS; i++) {
      const t0 = performance.now();
      const diff = await schemaMigrationsProvider.diff!(id, olds, inputs);
      const outs = (await schemaMigrationsProvider.update!(id, olds, inputs)).outs as SchemaMigrationsOutputs;
      times.push(performance.now() - t0);
      if (diff.changes) throw new Error("no-op apply: the provider's diff reports changes for unchanged inputs");
      if (outs.appliedThisRun.length > 0) throw new Error(`no-op apply applied ${outs.appliedThisRun.join(", ")} on an up-to-date database`);
      olds = outs;
    }
    log(`no-op diff + update: ${times.map((t) => t.toFixed(1)).join(", ")} ms`);
    return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  });
}
