/**
 * Config area: the query cache — a Memorystore for Redis instance on the
 * stack's private network (components/cache-instance.ts).
 */
import { z } from "zod";
import { bool, int, type AreaContext } from "./common";
import type { RawConfig } from "./schema";

/**
 * Memorystore for Redis capacity, GB (1–300). Source:
 * https://cloud.google.com/memorystore/docs/redis/redis-tiers (capacity per tier).
 */
export const MIN_CACHE_GB = 1;
export const MAX_CACHE_GB = 300;
/**
 * Read replicas: 1–5 per instance, Standard Tier only, capacity of 5 GB or more.
 * Source: https://cloud.google.com/memorystore/docs/redis/about-read-replicas
 */
export const MAX_CACHE_READ_REPLICAS = 5;
export const MIN_CACHE_GB_WITH_READ_REPLICAS = 5;

/**
 * Eviction policies a cache may use: every one that evicts. `noeviction`
 * turns a full cache into write errors, and the random policies evict hot keys
 * as readily as cold ones. Source: Memorystore "Supported Redis configurations",
 * https://cloud.google.com/memorystore/docs/redis/supported-redis-configurations
 */
export const CACHE_EVICTION_POLICIES = ["allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-ttl"] as const;

/** RDB snapshot periods Memorystore offers. Source: provider resource_redis_instance.go, persistence_config.rdb_snapshot_period. */
export const RDB_SNAPSHOT_PERIODS = ["ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"] as const;

/**
 * The client's cache TTL tiers, seconds: hot (in-process), warm and cold
 * entries. Source: the platform team's write-up (shared/seed, "multi-level
 * caching": l1 60, l2 300, l3 1800).
 */
export const CACHE_TTL_SECONDS = Object.freeze({ l1: 60, l2: 300, l3: 1800 });

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const cacheKeys = {
  cacheEnabled: bool(),
  cacheTier: z.enum(["BASIC", "STANDARD_HA"]),
  cacheMemorySizeGb: int(MIN_CACHE_GB, MAX_CACHE_GB),
  cacheReadReplicas: int(0, MAX_CACHE_READ_REPLICAS),
  // Redis 7.2 is the newest version Memorystore for Redis offers. Source: provider resource_redis_instance.go, redis_version.
  cacheRedisVersion: z.enum(["REDIS_7_2", "REDIS_7_0"]),
  cacheMaxmemoryPolicy: z.enum(CACHE_EVICTION_POLICIES),
  cacheRdbSnapshotPeriod: z.enum(RDB_SNAPSHOT_PERIODS),
};

/** This area's part of the stack config. */
export interface CacheConfig {
  /** The query cache; undefined when the stack has none. */
  readonly cache?: {
    readonly tier: "BASIC" | "STANDARD_HA";
    readonly memorySizeGb: number;
    readonly readReplicas: number;
    readonly redisVersion: "REDIS_7_2" | "REDIS_7_0";
    readonly maxmemoryPolicy: (typeof CACHE_EVICTION_POLICIES)[number];
    readonly rdbSnapshotPeriod: (typeof RDB_SNAPSHOT_PERIODS)[number];
  };
}

export function parseCache({ raw, fail }: AreaContext<RawConfig>): CacheConfig {
  if (!raw.cacheEnabled) return { cache: undefined };
  if (raw.environment === "prod" && raw.cacheTier !== "STANDARD_HA") {
    fail("cacheTier", "a prod stack's cache must be STANDARD_HA (a replica to fail over to)");
  }
  if (raw.cacheReadReplicas > 0 && raw.cacheTier !== "STANDARD_HA") {
    fail("cacheReadReplicas", "read replicas need lp-db:cacheTier STANDARD_HA");
  }
  if (raw.cacheReadReplicas > 0 && raw.cacheMemorySizeGb < MIN_CACHE_GB_WITH_READ_REPLICAS) {
    fail("cacheReadReplicas", `read replicas need lp-db:cacheMemorySizeGb of at least ${MIN_CACHE_GB_WITH_READ_REPLICAS}`);
  }
  return {
    cache: {
      tier: raw.cacheTier,
      memorySizeGb: raw.cacheMemorySizeGb,
      readReplicas: raw.cacheReadReplicas,
      redisVersion: raw.cacheRedisVersion,
      maxmemoryPolicy: raw.cacheMaxmemoryPolicy,
      rdbSnapshotPeriod: raw.cacheRdbSnapshotPeriod,
    },
  };
}
