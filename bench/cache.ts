/**
 * Cache phase: the hot read queries through @lp/db-client as an application
 * with several pods runs them — CACHE_INSTANCES clients, each with its own L1,
 * sharing one real redis-server (TLS + AUTH, as Memorystore is reached) — with
 * the 64 clients spread over the instances. Keys follow a Zipf-like
 * popularity over the data set's own entities. The cache warms up until its
 * hit ratio is steady, then the phase records hit ratio per level and
 * p50/p95/p99 beside the same calls without the cache. See bench/README.md.
 *
 *   node -r ts-node/register/transpile-only bench/cache.ts [--scale 0.05] [--duration 300] [--warmup-max 600]
 */
import { build } from "hdr-histogram-js";
import type { Client, ClientBase } from "pg";
import { connectRedis, createDbClient, DEFAULT_TTL_TIERS, parseManifest, type CacheStats, type DbClient, type TtlTier } from "../client/src";
import { redisServerMissing, startRedis } from "../test/harness/redis";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations, DEFAULT_MIGRATIONS_DIR } from "../lib/migrate/files";
import { round, TARGETS, type CacheHitRatios, type CachePhase, type CacheWarmup, type LatencySummary } from "./report";
import { countsFor, FILLER, seed, TOPICS } from "./seed";
import { connectMany, startBenchServer } from "./server";
import { HOT_QUERIES, readSchemaFacts, WINDOW_DAYS } from "./workload";

/** Clients, as many as the heaviest cell of the main phases (the cache targets apply there: TARGETS in report.ts). */
export const CACHE_CONCURRENCY = TARGETS.heavyConcurrency;
/** Application instances (pods), each a DbClient with its own L1; they share one Redis. */
export const CACHE_INSTANCES = 4;
/**
 * Zipf exponent of key popularity: Breslau, Cao, Fan, Phillips, Shenker, "Web
 * Caching and Zipf-like Distributions: Evidence and Implications" (INFOCOM
 * 1999, https://pages.cs.wisc.edu/~cao/papers/zipf-implications.html) fit
 * request popularity with exponents between 0.64 and 0.83 across their
 * traces; this is the middle of that range, not a value chosen for the result.
 */
export const ZIPF_S = 0.735;
/** The TTL tier every cached read uses: the seed's example (`user-courses`) caches 60 s in L1 and 300 s in L2. */
export const CACHE_TTL_TIER: TtlTier = "l2";
/** Hit ratio is sampled over windows of this length during warm-up. */
export const WINDOW_MS = 10_000;
/** Steady: this many consecutive windows whose overall hit ratio spans at most STEADY_TOLERANCE. */
export const STEADY_WINDOWS = 3;
export const STEADY_TOLERANCE = 0.01;
/**
 * Windows that end before the longest TTL in use are never counted as steady:
 * until the first entries expire, a cold cache keeps every key it has ever
 * loaded, so its hit ratio plateaus above the steady value (a key asked for at
 * rate λ hits with probability 1 − e^(−λT) at t = T, against λT / (1 + λT)
 * once entries expire and reload).
 */
export const MIN_WARMUP_MS = DEFAULT_TTL_TIERS[CACHE_TTL_TIER] * 1000;
/** Warm-up gives up (and says so) after two TTLs. */
export const DEFAULT_WARMUP_MAX_MS = 2 * MIN_WARMUP_MS;
/** Recording time with the cache: the longest TTL in use, so every entry of both levels expires and reloads inside it. */
export const DEFAULT_RECORD_MS = MIN_WARMUP_MS;
/** Recording time without the cache (at most the cached one): thousands of calls, enough for a p99. */
export const UNCACHED_RECORD_MS = 20_000;
/** Unrecorded uncached calls first, so no recorded call pays for opening a connection. */
export const UNCACHED_WARMUP_MS = 2_000;
/** Seed of the key-to-entity permutation, so every run ranks the same entities first. */
const KEY_SEED = 15;
const REDIS_MISSING_HINT = "apt-get install -y redis-server";

/** The live entities the read queries take as parameters. */
export interface Entities {
  readonly learners: readonly string[];
  readonly courses: readonly { readonly id: string; readonly title: string; readonly instructorId: string }[];
}

/** The key space of each cached read: every parameter set the data set has (writes such as progress_upsert are never cached). */
export const CACHED_READS: Readonly<Record<string, (e: Entities) => unknown[][]>> = {
  learner_dashboard: (e) => e.learners.map((u) => [u]),
  course_page: (e) => e.courses.map((c) => [c.id]),
  search_full_text: () => TOPICS.flatMap((t) => FILLER.map((f) => [`${t} ${f}`])),
  // A whole title word, as typed into the search box.
  search_fuzzy_title: (e) => [...new Set(e.courses.flatMap((c) => c.title.toLowerCase().split(/\s+/).filter((w) => w.length >= 4)))].sort().map((w) => [w]),
  instructor_analytics_7d: (e) => instructors(e).map((i) => [i, WINDOW_DAYS.week]),
  instructor_analytics_30d: (e) => instructors(e).map((i) => [i, WINDOW_DAYS.month]),
  daily_active_learners: (e) => e.courses.map((c) => [c.id, WINDOW_DAYS.month]),
};

function instructors(e: Entities): string[] {
  return [...new Set(e.courses.map((c) => c.instructorId))].sort();
}

/** A deterministic PRNG in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cumulative Zipf-like weights of ranks 1..n with exponent s, normalised to end at 1. */
export function zipfCdf(n: number, s: number): Float64Array {
  if (!(n >= 1)) throw new Error(`zipf: need at least one key, got ${n}`);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = sum += 1 / k ** s;
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return cdf;
}

/** The rank (0-based) whose cumulative weight first reaches u ∈ [0, 1). */
export function drawRank(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] <= u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Fisher–Yates with the given PRNG: which entity gets which popularity rank. */
export function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The counters of several instances added up. */
export function sumStats(all: readonly CacheStats[]): CacheStats {
  const z = { l1: { hits: 0, misses: 0 }, l2: { hits: 0, misses: 0 }, loads: 0, coalesced: 0 };
  for (const s of all) {
    z.l1.hits += s.l1.hits;
    z.l1.misses += s.l1.misses;
    z.l2.hits += s.l2.hits;
    z.l2.misses += s.l2.misses;
    z.loads += s.loads;
    z.coalesced += s.coalesced;
  }
  return z;
}

/** The counters accumulated between two snapshots. */
export function diffStats(after: CacheStats, before: CacheStats): CacheStats {
  return {
    l1: { hits: after.l1.hits - before.l1.hits, misses: after.l1.misses - before.l1.misses },
    l2: { hits: after.l2.hits - before.l2.hits, misses: after.l2.misses - before.l2.misses },
    loads: after.loads - before.loads,
    coalesced: after.coalesced - before.coalesced,
  };
}

/**
 * Hit ratios as shares of all lookups, so the levels add up to the overall
 * ratio: an L1 hit, an L2 hit after an L1 miss, or a caller that joined a load
 * already in flight in its own instance (coalesced). The rest ran the query.
 */
export function hitRatios(s: CacheStats): CacheHitRatios {
  const lookups = s.l1.hits + s.l1.misses;
  const share = (n: number) => (lookups > 0 ? n / lookups : 0);
  return {
    l1: share(s.l1.hits),
    l2: share(s.l2.hits),
    coalesced: share(s.coalesced),
    overall: share(s.l1.hits + s.l2.hits + s.coalesced),
    lookups,
    loads: s.loads,
  };
}

/**
 * The end (ms since warm-up start) of the first window that completes
 * `count` consecutive windows, all ending at or after `minMs`, whose overall
 * hit ratios span at most `tolerance`; undefined while there is none.
 */
export function steadyAt(windows: readonly { readonly endMs: number; readonly overall: number }[], minMs: number, count = STEADY_WINDOWS, tolerance = STEADY_TOLERANCE): number | undefined {
  const eligible = windows.filter((w) => w.endMs >= minMs);
  for (let i = count - 1; i < eligible.length; i++) {
    const run = eligible.slice(i - count + 1, i + 1).map((w) => w.overall);
    if (Math.max(...run) - Math.min(...run) <= tolerance) return eligible[i].endMs;
  }
  return undefined;
}

/** Where the seeded database is, and the login the application uses. */
export interface CacheDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export interface CachePhaseOptions {
  /** Recording time with the cache; without it, at most UNCACHED_RECORD_MS. @default DEFAULT_RECORD_MS */
  readonly recordMs?: number;
  /** Warm-up bound. @default DEFAULT_WARMUP_MAX_MS */
  readonly warmupMaxMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** Reads the live learners and courses: the entities the key spaces range over. */
export async function loadEntities(c: ClientBase): Promise<Entities> {
  const learners = await c.query<{ user_id: string }>("SELECT DISTINCT user_id FROM enrollments WHERE deleted_at IS NULL ORDER BY 1");
  const courses = await c.query<{ id: string; title: string; instructor_id: string }>("SELECT id, title, instructor_id FROM courses WHERE deleted_at IS NULL ORDER BY id");
  return { learners: learners.rows.map((r) => r.user_id), courses: courses.rows.map((r) => ({ id: r.id, title: r.title, instructorId: r.instructor_id })) };
}

/** One cached read's SQL, its parameter sets in popularity order, and their cumulative weights. */
interface KeySpace {
  readonly name: string;
  readonly sql: string;
  readonly keys: readonly unknown[][];
  readonly cdf: Float64Array;
}

function keySpaces(entities: Entities, sqlOf: (name: string) => string): KeySpace[] {
  const random = seededRandom(KEY_SEED);
  return Object.entries(CACHED_READS).map(([name, keysOf]) => {
    const keys = shuffled(keysOf(entities), random);
    if (keys.length === 0) throw new Error(`cache phase: no parameters for ${name}; is the database seeded?`);
    return { name, sql: sqlOf(name), keys, cdf: zipfCdf(keys.length, ZIPF_S) };
  });
}

/** A call: a query uniformly (each page type as likely), then a key by its popularity. */
function drawCall(spaces: readonly KeySpace[]): { sql: string; args: unknown[] } {
  const s = spaces[Math.floor(Math.random() * spaces.length)];
  return { sql: s.sql, args: s.keys[drawRank(s.cdf, Math.random())] };
}

/** `concurrency` closed-loop clients, client i on instance i mod n, for `durationMs`; latency recorded when `record`. */
async function drive(instances: readonly DbClient[], durationMs: number, call: (db: DbClient) => Promise<unknown>, record: boolean): Promise<LatencySummary & { calls: number }> {
  const h = build();
  const t0 = performance.now();
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: CACHE_CONCURRENCY }, async (_, i) => {
      const db = instances[i % instances.length];
      while (Date.now() < end) {
        // Each call arrives as a request would, from the event loop: an L1 hit resolves in
        // microtasks only, and a loop of them would starve sockets and timers (connects time out).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const t = performance.now();
        await call(db);
        if (record) h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
      }
    }),
  );
  const ms = (p: number) => round(h.getValueAtPercentile(p) / 1000, 3);
  return { p50: ms(50), p95: ms(95), p99: ms(99), tps: round(h.totalCount / ((performance.now() - t0) / 1000), 1), calls: h.totalCount };
}

function benchManifest(db: CacheDatabase, redis: { host: string; port: number; caPem: string }) {
  const readPool = CACHE_CONCURRENCY / CACHE_INSTANCES;
  const endpoint = { instanceName: "bench", connectionName: "bench", privateIp: "127.0.0.1", region: "local" };
  return parseManifest({
    databaseName: db.database,
    primary: { ...endpoint, maxConnections: 150 },
    replicas: { "read-a": { ...endpoint, readWeight: 1, disasterRecovery: false, maxConnections: 150 } },
    readPool: null,
    pools: { managedPooling: false, poolMode: "session", maxClientConnectionsPerInstance: 0, maxPoolSize: 0, appPoolSizePerInstance: readPool + 1, appWritePoolPerInstance: 1, appReadPoolPerInstance: readPool },
    clientCapacity: { total: 150, usable: 130 },
    migrationUser: { name: db.user, passwordSecretId: "projects/bench/secrets/none" },
    iamLogins: {},
    cache: { host: redis.host, port: redis.port, readEndpoint: null, caCert: redis.caPem, authSecretId: "projects/bench/secrets/redis-auth", ttlSeconds: DEFAULT_TTL_TIERS },
  });
}

/** Warms the cache window by window until steadyAt says so or the bound passes. */
async function warmUp(instances: readonly DbClient[], call: (db: DbClient) => Promise<unknown>, maxMs: number, log: (l: string) => void): Promise<CacheWarmup> {
  const windows: { endMs: number; overall: number }[] = [];
  const t0 = performance.now();
  let steady: number | undefined;
  while (steady === undefined && performance.now() - t0 < maxMs) {
    const before = sumStats(instances.map((d) => d.cache.stats()));
    await drive(instances, Math.min(WINDOW_MS, maxMs - (performance.now() - t0)), call, false);
    const r = hitRatios(diffStats(sumStats(instances.map((d) => d.cache.stats())), before));
    windows.push({ endMs: performance.now() - t0, overall: r.overall });
    log(`cache warm-up: +${(windows[windows.length - 1].endMs / 1000).toFixed(0)} s, hit ratio over the last window ${(r.overall * 100).toFixed(1)} %`);
    steady = steadyAt(windows, MIN_WARMUP_MS);
  }
  return {
    seconds: round((performance.now() - t0) / 1000, 1),
    steady: steady !== undefined,
    windowSeconds: WINDOW_MS / 1000,
    windowHitRatios: windows.map((w) => round(w.overall, 4)),
  };
}

/** Runs the phase against a seeded database: uncached, then warm-up, then cached. */
export async function measureCachePhase(admin: Client, db: CacheDatabase, opts: CachePhaseOptions = {}): Promise<CachePhase> {
  const log = opts.log ?? (() => undefined);
  const missing = redisServerMissing();
  if (missing) {
    const reason = `${missing.split(":")[0]}: install it (${REDIS_MISSING_HINT}) to measure the cache phase`;
    process.stderr.write(`\n*** cache phase SKIPPED: ${reason} ***\n\n`);
    return { skipped: reason };
  }
  const recordMs = opts.recordMs ?? DEFAULT_RECORD_MS;
  const facts = await readSchemaFacts(admin);
  const spaces = keySpaces(await loadEntities(admin), (name) => {
    const q = HOT_QUERIES.find((x) => x.name === name);
    if (!q) throw new Error(`cache phase: ${name} is not a hot query (bench/workload.ts)`);
    return q.sql(facts);
  });
  const server = await startRedis({ tls: true });
  const manifest = benchManifest(db, { host: server.host, port: server.port, caPem: server.caPem ?? "" });
  // One Redis connection per instance, as each pod has its own; the phase closes them (a DbClient does not own its Redis).
  const redises = Array.from({ length: CACHE_INSTANCES }, () => connectRedis(manifest.cache!, { authString: server.password, servername: "localhost" }));
  const instances = redises.map((redis) =>
    createDbClient({
      manifest,
      redis,
      connection: { user: db.user, password: db.password },
      resolve: () => ({ host: db.host, port: db.port }),
      healthIntervalMs: 0,
    }),
  );
  try {
    log(`cache phase: ${CACHE_INSTANCES} instances × ${CACHE_CONCURRENCY / CACHE_INSTANCES} clients, uncached`);
    const uncachedCall = (db: DbClient) => {
      const c = drawCall(spaces);
      return db.read(c.sql, c.args);
    };
    // Unrecorded: opens every pool's connections, which the cached runs find open too.
    await drive(instances, UNCACHED_WARMUP_MS, uncachedCall, false);
    const { calls: uncachedCalls, ...uncached } = await drive(instances, Math.min(recordMs, UNCACHED_RECORD_MS), uncachedCall, true);
    const cachedCall = (db: DbClient) => {
      const c = drawCall(spaces);
      return db.cachedRead(c.sql, c.args, { ttl: CACHE_TTL_TIER });
    };
    const warmup = await warmUp(instances, cachedCall, opts.warmupMaxMs ?? DEFAULT_WARMUP_MAX_MS, log);
    for (const d of instances) d.cache.resetStats();
    const { calls: cachedCalls, ...cached } = await drive(instances, recordMs, cachedCall, true);
    return {
      instances: CACHE_INSTANCES,
      concurrency: CACHE_CONCURRENCY,
      zipfExponent: ZIPF_S,
      keys: Object.fromEntries(spaces.map((s) => [s.name, s.keys.length])),
      ttlTier: CACHE_TTL_TIER,
      ttlSeconds: { ...(manifest.cache?.ttlSeconds ?? DEFAULT_TTL_TIERS) },
      warmup,
      hitRatio: hitRatios(sumStats(instances.map((d) => d.cache.stats()))),
      cached: { ...cached, calls: cachedCalls },
      uncached: { ...uncached, calls: uncachedCalls },
    };
  } finally {
    await Promise.all(instances.map((d) => d.close()));
    // Before the server stops, or the clients keep reconnecting to it and the process never exits.
    for (const r of redises) r.disconnect();
    await server.stop();
  }
}

function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a number > 0, got ${JSON.stringify(process.argv[i + 1])}`);
  return v;
}

/** Standalone: its own server, seeded at --scale with every migration applied, then the phase alone. */
async function main(): Promise<void> {
  const scale = numberArg("scale", 0.02);
  const srv = await startBenchServer();
  try {
    const [admin] = await connectMany(srv.config, 1);
    admin.on("error", () => undefined);
    await applyMigrations(admin, loadMigrations(DEFAULT_MIGRATIONS_DIR), { log: () => undefined });
    const loaders = await connectMany(srv.superuserConfig, 2);
    process.stderr.write(`cache phase: seeding scale ${scale} (${countsFor(scale).users} users)\n`);
    await seed([loaders[0], loaders[1]], scale, () => undefined);
    await Promise.all(loaders.map((c) => c.end()));
    const r = await measureCachePhase(admin, srv.config as CacheDatabase, {
      recordMs: numberArg("duration", DEFAULT_RECORD_MS / 1000) * 1000,
      warmupMaxMs: numberArg("warmup-max", DEFAULT_WARMUP_MAX_MS / 1000) * 1000,
      log: (l) => process.stderr.write(l + "\n"),
    });
    await admin.end();
    process.stdout.write(JSON.stringify({ scale, cache: r }, null, 2) + "\n");
  } catch (e) {
    // Said before the server stops: its sessions' errors would otherwise hide this one.
    process.stderr.write(`cache phase failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    throw e;
  } finally {
    await srv.stop();
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
