import { describe, expect, test } from "vitest";
import { parseStack, testRefusals } from "../harness/config";

describe("config area cache (the query cache): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["unknown cache tier", "staging", { cacheTier: "PREMIUM" }, /lp-db:cacheTier = "PREMIUM"/],
    ["cache too large", "staging", { cacheMemorySizeGb: 301 }, /lp-db:cacheMemorySizeGb = 301/],
    ["too many cache read replicas", "prod", { cacheReadReplicas: 6 }, /lp-db:cacheReadReplicas = 6/],
    ["unknown Redis version", "staging", { cacheRedisVersion: "REDIS_5_0" }, /lp-db:cacheRedisVersion = "REDIS_5_0"/],
    ["a cache that never evicts", "staging", { cacheMaxmemoryPolicy: "noeviction" }, /lp-db:cacheMaxmemoryPolicy = "noeviction"/],
    ["unknown snapshot period", "staging", { cacheRdbSnapshotPeriod: "DAILY" }, /lp-db:cacheRdbSnapshotPeriod = "DAILY"/],
    ["prod cache without failover", "prod", { cacheTier: "BASIC", cacheReadReplicas: 0 }, /lp-db:cacheTier = "BASIC": a prod stack's cache must be STANDARD_HA/],
    ["read replicas on the Basic tier", "staging", { cacheReadReplicas: 1, cacheMemorySizeGb: 5 }, /lp-db:cacheReadReplicas = 1: read replicas need lp-db:cacheTier STANDARD_HA/],
    ["read replicas under 5 GB", "staging", { cacheTier: "STANDARD_HA", cacheReadReplicas: 1, cacheMemorySizeGb: 4 }, /lp-db:cacheReadReplicas = 1: read replicas need lp-db:cacheMemorySizeGb of at least 5/],
  ]);
});

describe("cache settings", () => {
  test("prod: STANDARD_HA with read replicas; staging: one Basic node", () => {
    expect(parseStack("prod").cache).toMatchObject({ tier: "STANDARD_HA", readReplicas: 2, maxmemoryPolicy: "allkeys-lru", redisVersion: "REDIS_7_2" });
    expect(parseStack("staging").cache).toMatchObject({ tier: "BASIC", readReplicas: 0, memorySizeGb: 1 });
  });

  test("turning the cache off leaves no cache settings, and skips its rules", () => {
    expect(parseStack("prod", { cacheEnabled: false, cacheTier: "BASIC" }).cache).toBeUndefined();
  });
});
