/** Signal family — the query cache (Memorystore for Redis): hits, memory, evictions, clients and replication. */
import { SAMPLE_PERIOD_SECONDS, SUSTAINED_SECONDS, RATE_WINDOW, guardedRatio, levels, series, type InstanceContext, type MetricRef, type Signal } from "./signal";
import { REPLICATION_LAG_CRITICAL_S, REPLICATION_LAG_WARNING_S } from "./replication";
import { CACHE_HIT_RATIO_CRITICAL, CACHE_HIT_RATIO_WARNING } from "./storage";

/**
 * Lookups per second under which the hit ratio is not judged: a ratio over a
 * handful of lookups (an idle night) is noise, not a cold cache.
 */
export const MIN_CACHE_LOOKUPS_PER_SECOND = 1;
/**
 * Memory in use. Memorystore advises keeping usage under 80 % so that
 * background saves and replication have room; at 90 % a burst of writes
 * evicts hot keys. Source: https://cloud.google.com/memorystore/docs/redis/memory-management-best-practices
 */
export const CACHE_MEMORY_WARNING = 0.8;
export const CACHE_MEMORY_CRITICAL = 0.9;
/**
 * Evictions per second. An LRU cache at capacity evicts some keys all the
 * time; the team's levels flag a working set that has outgrown the cache
 * (hundreds a second) and one that churns (thousands a second).
 */
export const CACHE_EVICTIONS_WARNING = 100;
export const CACHE_EVICTIONS_CRITICAL = 1000;
/** Connected clients against the node's limit: the same levels as the database's pool utilisation (the write-up's 85 % / 90 %). */
export const CACHE_CLIENTS_WARNING = 0.85;
export const CACHE_CLIENTS_CRITICAL = 0.9;
/** A cache with no node in the primary role accepts no writes: a failover in progress, or a failed one when it lasts. */
export const CACHE_PRIMARIES_EXPECTED = 1;

const R = {
  hits: { memorystore: "keyspaceHits" },
  misses: { memorystore: "keyspaceMisses" },
  memory: { memorystore: "memoryUsageRatio" },
  evicted: { memorystore: "evictedKeys" },
  clients: { memorystore: "connectedClients" },
  role: { memorystore: "replicationRole" },
  lag: { memorystore: "replicaLag" },
} as const satisfies Record<string, MetricRef>;

const rate = (m: MetricRef, c: InstanceContext) => `sum(rate(${series(m, c)}[${RATE_WINDOW}]))`;

/** This family's signals, in dashboard order. */
export const CACHE_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "query-cache-hit-ratio",
    title: "Query cache hit ratio",
    row: "cache",
    roles: ["cache"],
    metrics: [R.hits, R.misses],
    unit: "10^2.%",
    // Hits over lookups, only while there are enough lookups to judge.
    expr: (c) => guardedRatio(rate(R.hits, c), `(${rate(R.hits, c)} + ${rate(R.misses, c)})`, MIN_CACHE_LOOKUPS_PER_SECOND),
    direction: "below",
    levels: levels(CACHE_HIT_RATIO_WARNING, CACHE_HIT_RATIO_CRITICAL, SUSTAINED_SECONDS),
    meaning: "Fewer lookups than the level find their key in the query cache (Memorystore); reads fall through to PostgreSQL.",
    action: "Check evictions and memory on the Cache row (a working set that outgrew the cache), a deploy that changed cache keys or TTLs, or a flush.",
    anchor: "query-cache-hit-ratio",
  },
  {
    id: "cache-memory",
    title: "Cache memory used",
    row: "cache",
    roles: ["cache"],
    metrics: [R.memory],
    unit: "10^2.%",
    expr: (c) => `max(${series(R.memory, c)})`,
    direction: "above",
    levels: levels(CACHE_MEMORY_WARNING, CACHE_MEMORY_CRITICAL, SUSTAINED_SECONDS),
    meaning: "The cache's memory is close to its capacity; new keys evict old ones and background saves have little room.",
    action: "Raise lp-db:cacheMemorySizeGb, or shorten TTLs of large values.",
    anchor: "cache-memory",
  },
  {
    id: "cache-evictions",
    title: "Cache evictions per second",
    row: "cache",
    roles: ["cache"],
    metrics: [R.evicted],
    unit: "1/s",
    expr: (c) => rate(R.evicted, c),
    direction: "above",
    levels: levels(CACHE_EVICTIONS_WARNING, CACHE_EVICTIONS_CRITICAL, SUSTAINED_SECONDS),
    meaning: "The cache evicts keys to make room faster than the level: the working set no longer fits.",
    action: "Raise lp-db:cacheMemorySizeGb; check for a new large value type or a TTL that stopped being set.",
    anchor: "cache-memory",
  },
  {
    id: "cache-clients",
    title: "Cache clients / limit",
    row: "cache",
    roles: ["cache"],
    metrics: [R.clients],
    unit: "10^2.%",
    expr: (c) => `max(${series(R.clients, c)}) / ${c.maxConnections}`,
    direction: "above",
    levels: levels(CACHE_CLIENTS_WARNING, CACHE_CLIENTS_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "Connections to one cache node are close to Memorystore's limit per node; new connections will be refused.",
    action: "Check application instance counts and the client's connection reuse (one connection per process, not per request).",
    anchor: "cache-clients",
  },
  {
    id: "cache-primary",
    title: "Cache nodes in the primary role",
    row: "cache",
    roles: ["cache"],
    metrics: [R.role],
    unit: "1",
    // No series at all (the instance not reporting) counts as no primary.
    expr: (c) => `sum(${series(R.role, c)}) or vector(0)`,
    direction: "below",
    levels: levels(CACHE_PRIMARIES_EXPECTED, CACHE_PRIMARIES_EXPECTED, SAMPLE_PERIOD_SECONDS, SUSTAINED_SECONDS),
    meaning: "No cache node reports the primary role: a failover is under way (Standard Tier) or the instance is down.",
    action: "Check the instance's operations in the console; the client serves reads from PostgreSQL meanwhile. If it lasts, run `gcloud redis instances failover`.",
    anchor: "cache-failover",
  },
  {
    id: "cache-replica-lag",
    title: "Cache replica lag (s)",
    row: "cache",
    roles: ["cache"],
    metrics: [R.lag],
    unit: "s",
    expr: (c) => `max(${series(R.lag, c)})`,
    direction: "above",
    levels: levels(REPLICATION_LAG_WARNING_S, REPLICATION_LAG_CRITICAL_S, 2 * SAMPLE_PERIOD_SECONDS),
    meaning: "A cache replica is behind its primary; reads from the read endpoint may return stale values, and a failover may lose recent writes.",
    action: "Check the primary's write rate and memory; lower the write volume (large values) or raise the capacity.",
    anchor: "cache-failover",
  },
] satisfies Signal[]);
