/**
 * The two-level cache against a real redis-server (Debian's package): TLS with
 * a CA made for the run, AUTH via requirepass.
 */
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { INSTALL_HINT, redisServerMissing, startRedis, type RedisServer } from "../../test/harness/redis";
import { COMPRESSION_THRESHOLD_BYTES, QueryCache, VALUE_PREFIX } from "../src/cache";
import { connectRedis } from "../src/index";
import { parseManifest, type ManifestCache } from "../src/manifest";
import { manifestFixture } from "./fixture";

const missing = redisServerMissing();
if (missing) console.warn(`\n*** client cache tests SKIPPED: ${missing} ***\n*** ${INSTALL_HINT} ***\n`);

describe.skipIf(missing !== undefined)(`two-level cache on a real Redis (needs redis-server: ${INSTALL_HINT})`, () => {
  let server: RedisServer;
  let cacheManifest: ManifestCache;
  let redis: Redis;
  let raw: Redis;

  beforeAll(async () => {
    server = await startRedis({ tls: true });
    const m = manifestFixture();
    Object.assign(m.cache as object, { host: "localhost", port: server.port, caCert: server.caPem });
    cacheManifest = parseManifest(m).cache!;
    redis = connectRedis(cacheManifest, { authString: server.password });
    raw = connectRedis(cacheManifest, { authString: server.password });
  });

  afterAll(async () => {
    redis?.disconnect();
    raw?.disconnect();
    await server?.stop();
  });

  test("TLS verifies the manifest's CA and AUTH is required", async () => {
    expect(await redis.ping()).toBe("PONG");
    const refused = async (c: Redis): Promise<string> => {
      const errors: string[] = [];
      c.on("error", (e: Error) => errors.push(e.message));
      await c.connect().then(() => c.ping()).catch((e: Error) => errors.push(e.message));
      c.disconnect();
      return errors.join(" | ");
    };
    const once = { lazyConnect: true, retryStrategy: () => null };
    expect(await refused(connectRedis(cacheManifest, { authString: "wrong", redisOptions: once }))).toMatch(/WRONGPASS/);
    // A CA that did not sign the server's certificate (another run's CA) is refused by TLS.
    const other = await startRedis({ tls: true });
    try {
      expect(await refused(connectRedis({ ...cacheManifest, caCert: other.caPem! }, { authString: server.password, redisOptions: once }))).toMatch(/self-signed|unable to verify|certificate/i);
    } finally {
      await other.stop();
    }
  });

  test("miss, then L1 hit; another process (empty L1) hits L2; counters per level", async () => {
    const a = new QueryCache({ redis });
    let loads = 0;
    const load = async () => ({ n: ++loads });
    expect(await a.getOrLoad("k1", { ttl: "l2" }, load)).toEqual({ n: 1 });
    expect(await a.getOrLoad("k1", { ttl: "l2" }, load)).toEqual({ n: 1 });
    expect(a.stats()).toMatchObject({ l1: { hits: 1, misses: 1 }, l2: { hits: 0, misses: 1 }, loads: 1 });
    const b = new QueryCache({ redis });
    expect(await b.getOrLoad("k1", { ttl: "l2" }, load)).toEqual({ n: 1 });
    expect(b.stats()).toMatchObject({ l1: { hits: 0, misses: 1 }, l2: { hits: 1, misses: 0 }, loads: 0 });
    expect(loads).toBe(1);
  });

  test.each([
    ["l1", 60],
    ["l2", 300],
    ["l3", 1800],
    [45, 45],
  ] as const)("ttl %s sets the Redis expiry to %i s", async (ttl, seconds) => {
    const c = new QueryCache({ redis, ttlSeconds: cacheManifest.ttlSeconds });
    await c.set(`ttl-${ttl}`, 1, { ttl });
    const left = await raw.ttl(VALUE_PREFIX + `ttl-${ttl}`);
    expect(left).toBeLessThanOrEqual(seconds);
    expect(left).toBeGreaterThan(seconds - 3);
  });

  test("an entry expires from Redis after its TTL", async () => {
    const c = new QueryCache({ redis });
    await c.set("short", "v", { ttl: 1 });
    expect(await raw.exists(VALUE_PREFIX + "short")).toBe(1);
    await expect.poll(() => raw.exists(VALUE_PREFIX + "short"), { timeout: 4000, interval: 200 }).toBe(0);
  });

  test("invalidation by key and by tag clears both levels", async () => {
    const c = new QueryCache({ redis });
    let v = 0;
    const load = async () => ++v;
    await c.getOrLoad("course:1:outline", { ttl: "l3", tags: ["course:1"] }, load);
    await c.getOrLoad("course:1:reviews", { ttl: "l2", tags: ["course:1"] }, load);
    await c.getOrLoad("course:2:outline", { ttl: "l3", tags: ["course:2"] }, load);
    expect(await c.invalidateTag("course:1")).toBe(2);
    expect(await raw.exists(VALUE_PREFIX + "course:1:outline", VALUE_PREFIX + "course:1:reviews")).toBe(0);
    expect(await raw.exists(VALUE_PREFIX + "course:2:outline")).toBe(1);
    expect(await c.getOrLoad("course:1:outline", { ttl: "l3", tags: ["course:1"] }, load)).toBe(4);
    expect(await c.getOrLoad("course:2:outline", { ttl: "l3" }, load)).toBe(3);
    await c.invalidate("course:2:outline");
    expect(await raw.exists(VALUE_PREFIX + "course:2:outline")).toBe(0);
    expect(await c.getOrLoad("course:2:outline", { ttl: "l3" }, load)).toBe(5);
  });

  test("values over the threshold are stored deflated, smaller ones as JSON; both read back", async () => {
    const c = new QueryCache({ redis });
    const big = { rows: Array.from({ length: 200 }, (_, i) => ({ id: i, title: `lesson ${i}` })) };
    expect(JSON.stringify(big).length).toBeGreaterThan(COMPRESSION_THRESHOLD_BYTES);
    await c.set("big", big, { ttl: "l1" });
    await c.set("small", { a: 1 }, { ttl: "l1" });
    const bigRaw = (await raw.getBuffer(VALUE_PREFIX + "big"))!;
    const smallRaw = (await raw.getBuffer(VALUE_PREFIX + "small"))!;
    expect(bigRaw[0]).toBe(1);
    expect(bigRaw.length).toBeLessThan(JSON.stringify(big).length / 2);
    expect(smallRaw[0]).toBe(0);
    expect(smallRaw.subarray(1).toString()).toBe('{"a":1}');
    const fresh = new QueryCache({ redis });
    expect(await fresh.getOrLoad("big", { ttl: "l1" }, async () => null)).toEqual(big);
  });

  test("single flight: 50 concurrent misses on one key run the loader once", async () => {
    const c = new QueryCache({ redis });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 100));
      return "v";
    };
    const got = await Promise.all(Array.from({ length: 50 }, () => c.getOrLoad("stampede", { ttl: "l1" }, load)));
    expect(got.every((g) => g === "v")).toBe(true);
    expect(loads).toBe(1);
    expect(c.stats().coalesced).toBe(49);
  });

  test("a Redis outage degrades to the loader and reports cacheError, never failing the read", async () => {
    const { EventEmitter } = await import("events");
    const events = new EventEmitter();
    const errors: unknown[] = [];
    events.on("cacheError", (e) => errors.push(e));
    const dead = new Redis({ host: "127.0.0.1", port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    const c = new QueryCache({ redis: dead, events: events as never });
    expect(await c.getOrLoad("x", { ttl: "l1" }, async () => 42)).toBe(42);
    expect(errors.length).toBeGreaterThan(0);
    dead.disconnect();
  });
});
