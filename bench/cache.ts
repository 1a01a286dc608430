/**
 * Cache phase: the hot read queries through @lp/db-client at 64 clients on a
 * Zipf-skewed key space, with the two-level cache (L1 + a real redis-server)
 * and without it, reporting hit ratio per level and p50/p95/p99.
 *
 *   node -r ts-node/register/transpile-only bench/cache.ts [--scale 0.02] [--duration 5]
 */
import { build } from "hdr-histogram-js";
import type { Client } from "pg";
import { createDbClient, parseManifest, QueryCache } from "../client/src";
import { startRedis } from "../test/harness/redis";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations, DEFAULT_MIGRATIONS_DIR } from "../lib/migrate/files";
import { countsFor, seed } from "./seed";
import { connectMany, startBenchServer } from "./server";
import { HOT_QUERIES, loadParams, readSchemaFacts } from "./workload";
import Redis from "ioredis";

/** The platform's targets: cache hit ratio ≥ 80 % and cached p95 < 10 ms at 64 clients. */
export const CACHE_TARGETS = { hitRatio: 0.8, p95Ms: 10, concurrency: 64 } as const;
/** Distinct parameter sets per query, and the Zipf exponent that skews them (web-cache studies put it near 1). */
export const KEYS_PER_QUERY = 2_000;
export const ZIPF_S = 1.0;

export interface CachePhaseResult {
  readonly concurrency: number;
  readonly uncached: { p50: number; p95: number; p99: number; calls: number };
  readonly cached: { p50: number; p95: number; p99: number; calls: number };
  readonly hitRatio: { l1: number; l2: number; overall: number };
}

function zipfSampler(n: number, s: number): () => number {
  const cdf: number[] = [];
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf.push((sum += 1 / k ** s));
  return () => {
    const r = Math.random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

async function timed(concurrency: number, durationMs: number, call: () => Promise<unknown>) {
  const h = build();
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        await call();
        h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      }
    }),
  );
  const ms = (p: number) => Math.round(h.getValueAtPercentile(p)) / 1000;
  return { p50: ms(50), p95: ms(95), p99: ms(99), calls: h.totalCount };
}

/** Runs the phase against a seeded database reachable with `config`. */
export async function measureCachePhase(admin: Client, config: { host: string; port: number; user: string; password: string; database: string }, durationMs: number): Promise<CachePhaseResult> {
  const facts = await readSchemaFacts(admin);
  const params = await loadParams(admin);
  const calls = HOT_QUERIES.flatMap((q) => Array.from({ length: KEYS_PER_QUERY }, () => ({ sql: q.sql(facts), args: q.args(params) })));
  const draw = zipfSampler(calls.length, ZIPF_S);
  const redisServer = await startRedis({ tls: false });
  const redis = new Redis({ host: redisServer.host, port: redisServer.port, password: redisServer.password });
  const manifest = parseManifest({
    databaseName: config.database,
    primary: { instanceName: "bench", connectionName: "bench", privateIp: "127.0.0.1", region: "local", maxConnections: 200 },
    replicas: { "read-a": { instanceName: "bench", connectionName: "bench", privateIp: "127.0.0.1", region: "local", readWeight: 1, disasterRecovery: false, maxConnections: 200 } },
    readPool: null,
    pools: { managedPooling: false, poolMode: "session", maxClientConnectionsPerInstance: 0, maxPoolSize: 0, appPoolSizePerInstance: 40, appWritePoolPerInstance: 8, appReadPoolPerInstance: 32 },
    clientCapacity: { total: 200, usable: 170 },
    migrationUser: { name: config.user, passwordSecretId: "projects/bench/secrets/none" },
    iamLogins: {},
    cache: null,
  });
  const db = createDbClient({ manifest, redis, connection: { user: config.user, password: config.password }, resolve: () => ({ host: config.host, port: config.port }), healthIntervalMs: 0 });
  try {
    const uncached = await timed(CACHE_TARGETS.concurrency, durationMs, () => {
      const c = calls[draw()];
      return db.read(c.sql, c.args);
    });
    const cache: QueryCache = db.cache;
    const cachedCall = () => {
      const i = draw();
      return db.cachedRead(calls[i].sql, calls[i].args, { ttl: "l2", key: `bench:${i}` });
    };
    // Unrecorded warm-up: a cache measured from cold reports its fill, not its steady state.
    await timed(CACHE_TARGETS.concurrency, durationMs, cachedCall);
    cache.resetStats();
    const cached = await timed(CACHE_TARGETS.concurrency, durationMs, cachedCall);
    const s = cache.stats();
    const lookups = s.l1.hits + s.l1.misses;
    return {
      concurrency: CACHE_TARGETS.concurrency,
      uncached,
      cached,
      hitRatio: { l1: s.l1.hits / lookups, l2: s.l2.hits / Math.max(1, s.l2.hits + s.l2.misses), overall: (s.l1.hits + s.l2.hits + s.coalesced) / lookups },
    };
  } finally {
    await db.close();
    redis.disconnect();
    await redisServer.stop();
  }
}

async function main(): Promise<void> {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const scale = arg("scale", 0.02);
  const srv = await startBenchServer();
  try {
    const [admin] = await connectMany(srv.config, 1);
    await applyMigrations(admin, loadMigrations(DEFAULT_MIGRATIONS_DIR), { log: () => undefined });
    const loaders = await connectMany(srv.superuserConfig, 2);
    process.stderr.write(`cache phase: seeding scale ${scale} (${countsFor(scale).users} users)\n`);
    await seed([loaders[0], loaders[1]], scale, () => undefined);
    await Promise.all(loaders.map((c) => c.end()));
    const c = srv.config as { host: string; port: number; user: string; password: string; database: string };
    const r = await measureCachePhase(admin, c, arg("duration", 5) * 1000);
    await admin.end();
    process.stdout.write(JSON.stringify({ scale, cache: r }, null, 2) + "\n");
  } finally {
    await srv.stop();
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
