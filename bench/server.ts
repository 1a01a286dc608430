/**
 * The benchmark's own embedded PostgreSQL (the stacks' major, 18), tuned for
 * a 64-client run on a small machine, and a database set up the way Cloud SQL
 * gives one: migrations and the workload run as a login that is a member of
 * `cloudsqlsuperuser` with CREATEROLE and CREATEDB, not a superuser.
 */
import { Client, type ClientConfig } from "pg";
import { PERFORMANCE_FLAGS } from "../lib/database-flags";
import { startEmbeddedPostgres, type EmbeddedServer } from "../test/harness/postgres";

/**
 * Server settings, passed as `-c` flags: the stacks' planner flags
 * (PERFORMANCE_FLAGS, lib/database-flags.ts), sizing for this machine, and
 * pg_stat_statements loaded to measure the server's time per call. Everything
 * else is PostgreSQL's default (autovacuum, synchronous_commit and fsync on),
 * so the numbers are not flattered by durability shortcuts.
 */
export const SERVER_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  ...PERFORMANCE_FLAGS,
  // Server time and buffer traffic per statement (bench/stats.ts); Cloud SQL loads it too.
  shared_preload_libraries: "pg_stat_statements",
  // Planning time per statement as well (reported beside execution time).
  "pg_stat_statements.track_planning": "on",
  // 64 benchmark clients + the migration session + two writers + headroom.
  max_connections: "150",
  // The default-scale data set is ~2.5 GB with the optimised indexes; 2 GB of
  // buffers keeps the hot part cached on a 2-core, 23 GB machine, roughly
  // Cloud SQL's share of memory (about a third) on a small tier.
  shared_buffers: "2GB",
  effective_cache_size: "8GB",
  // Per sort/hash node: room for the baseline's aggregations without spilling, 64 clients × a few nodes still fit.
  work_mem: "16MB",
  // Index builds in the optimisation migrations (CREATE INDEX CONCURRENTLY on 10 M rows) sort in memory.
  maintenance_work_mem: "512MB",
  // The seed writes ~3 GB of WAL: no forced checkpoints in the middle of it.
  max_wal_size: "16GB",
  checkpoint_timeout: "30min",
});

/** The emulated Cloud SQL administrative user (benchmark-only credentials). Same shape as test/harness/cloudsql.ts. */
export const MIGRATOR = { name: "lp_migrator", password: "migrator-bench-only" } as const;
/** The benchmark database. */
export const BENCH_DATABASE = "learning_platform";

/** A running benchmark server with its Cloud SQL-like database. */
export interface BenchServer {
  readonly server: EmbeddedServer;
  /** Connection settings for the migrator on the benchmark database. */
  readonly config: ClientConfig;
  /** The real superuser on the benchmark database (seeding only; see bench/seed.ts). */
  readonly superuserConfig: ClientConfig;
  readonly pgVersion: string;
  stop(): Promise<void>;
}

/**
 * Starts the server and creates the database. The Cloud SQL emulation repeats
 * test/harness/cloudsql.ts (which is tied to vitest's fixtures): role
 * `cloudsqlsuperuser` (NOLOGIN CREATEROLE CREATEDB), the migrator in it, the
 * database owned by the migrator, and pg_stat_statements pre-created by the
 * real superuser as Cloud SQL has it.
 */
export async function startBenchServer(): Promise<BenchServer> {
  const server = await startEmbeddedPostgres(Object.entries(SERVER_SETTINGS).map(([k, v]) => `${k}=${v}`));
  const superuser: ClientConfig = { host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" };
  try {
    const c = new Client(superuser);
    await c.connect();
    try {
      await c.query("CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB");
      await c.query(
        `CREATE ROLE ${MIGRATOR.name} LOGIN PASSWORD '${MIGRATOR.password}' NOSUPERUSER NOREPLICATION NOBYPASSRLS CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser`,
      );
      await c.query(`CREATE DATABASE ${BENCH_DATABASE} OWNER ${MIGRATOR.name}`);
    } finally {
      await c.end();
    }
    const d = new Client({ ...superuser, database: BENCH_DATABASE });
    await d.connect();
    let pgVersion: string;
    try {
      await d.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      pgVersion = (await d.query<{ server_version: string }>("SHOW server_version")).rows[0].server_version;
    } finally {
      await d.end();
    }
    return {
      server,
      config: { host: server.host, port: server.port, user: MIGRATOR.name, password: MIGRATOR.password, database: BENCH_DATABASE },
      superuserConfig: { ...superuser, database: BENCH_DATABASE },
      pgVersion,
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * statement_timeout of the workload's sessions: the application role's own
 * (lp_app_rw, migrations/0002_roles_and_grants.sql). A baseline query slower
 * than this would fail in production too, and the cap keeps the baseline's
 * 64-client full scans from stretching the run past its time budget.
 */
export const APP_STATEMENT_TIMEOUT_MS = 15_000;

/** Opens `n` connections (in parallel batches, so 64 logins do not take long), optionally with a statement_timeout. */
export async function connectMany(config: ClientConfig, n: number, statementTimeoutMs?: number): Promise<Client[]> {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < n; i += 16) {
      const batch = Array.from(
        { length: Math.min(16, n - i) },
        () => new Client({ ...config, application_name: "lp-bench", ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}) }),
      );
      await Promise.all(batch.map((c) => c.connect()));
      clients.push(...batch);
    }
  } catch (err) {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    throw err;
  }
  return clients;
}
