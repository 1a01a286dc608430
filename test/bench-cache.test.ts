/**
 * The cache phase's machinery (bench/cache.ts): key popularity, hit-ratio
 * arithmetic, steady-state detection and its place in latest.json. Its
 * speed and hit ratio are measured by `npm run bench`, never here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, test } from "vitest";
import type { CacheStats } from "../client/src";
import { CACHED_READS, diffStats, drawRank, hitRatios, seededRandom, shuffled, steadyAt, sumStats, zipfCdf, type Entities } from "../bench/cache";
import { checkTargets, markdown, writeResults, type BenchResults, type CacheMeasured } from "../bench/report";
import { HOT_QUERIES } from "../bench/workload";

const stats = (l1h: number, l1m: number, l2h: number, l2m: number, coalesced: number, loads: number): CacheStats => ({
  l1: { hits: l1h, misses: l1m },
  l2: { hits: l2h, misses: l2m },
  coalesced,
  loads,
});

describe("key popularity", () => {
  test("the Zipf CDF ends at 1 and rank k weighs (k+1)^s / k^s times rank k+1", () => {
    const s = 0.735;
    const cdf = zipfCdf(1000, s);
    expect(cdf[cdf.length - 1]).toBeCloseTo(1, 12);
    const p = (k: number) => cdf[k] - (k > 0 ? cdf[k - 1] : 0);
    expect(p(0) / p(1)).toBeCloseTo(2 ** s, 9);
    expect(p(9) / p(99)).toBeCloseTo((100 / 10) ** s, 9);
  });

  test.each([
    [0, 0],
    [0.999999999, 9],
  ])("drawRank(u = %d) on 10 keys is %d", (u, rank) => {
    expect(drawRank(zipfCdf(10, 1), u)).toBe(rank);
  });

  test("a u exactly at a rank's cumulative weight falls to the next rank", () => {
    const cdf = zipfCdf(10, 1);
    expect(drawRank(cdf, cdf[2])).toBe(3);
    expect(drawRank(cdf, cdf[2] - 1e-12)).toBe(2);
  });

  test("drawn frequencies follow the weights (seeded, 200 k draws)", () => {
    const cdf = zipfCdf(50, 0.735);
    const random = seededRandom(1);
    const counts = new Array<number>(50).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[drawRank(cdf, random())]++;
    expect(counts[0] / n).toBeCloseTo(cdf[0], 2);
    expect(counts[49] / n).toBeCloseTo(cdf[49] - cdf[48], 2);
  });

  test("shuffled is a seeded permutation", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const a = shuffled(xs, seededRandom(15));
    expect([...a].sort((x, y) => x - y)).toEqual(xs);
    expect(a).not.toEqual(xs);
    expect(shuffled(xs, seededRandom(15))).toEqual(a);
  });

  test("zipfCdf refuses an empty key space", () => {
    expect(() => zipfCdf(0, 1)).toThrow(/at least one key/);
  });
});

describe("cached reads", () => {
  test("every hot read is cached and the write is not", () => {
    const reads = HOT_QUERIES.map((q) => q.name).filter((n) => n !== "progress_upsert");
    expect(Object.keys(CACHED_READS).sort()).toEqual([...reads].sort());
  });

  test("key spaces are the data set's entities", () => {
    const e: Entities = {
      learners: ["u1", "u2", "u3"],
      courses: [
        { id: "c1", title: "Python for Data Analysis", instructorId: "i1" },
        { id: "c2", title: "Data Pipelines in Python", instructorId: "i1" },
      ],
    };
    expect(CACHED_READS.learner_dashboard(e)).toEqual([["u1"], ["u2"], ["u3"]]);
    expect(CACHED_READS.instructor_analytics_30d(e)).toEqual([["i1", 30]]);
    expect(CACHED_READS.daily_active_learners(e)).toEqual([["c1", 30], ["c2", 30]]);
    expect(CACHED_READS.search_fuzzy_title(e)).toEqual([["analysis"], ["data"], ["pipelines"], ["python"]]);
  });
});

describe("hit ratios", () => {
  test.each([
    ["all levels", stats(70, 30, 20, 8, 2, 8), { l1: 0.7, l2: 0.2, coalesced: 0.02, overall: 0.92, lookups: 100, loads: 8 }],
    ["no lookups", stats(0, 0, 0, 0, 0, 0), { l1: 0, l2: 0, coalesced: 0, overall: 0, lookups: 0, loads: 0 }],
    ["L1 only", stats(9, 1, 0, 0, 0, 1), { l1: 0.9, l2: 0, coalesced: 0, overall: 0.9, lookups: 10, loads: 1 }],
  ])("%s", (_name, s, expected) => {
    const r = hitRatios(s);
    expect(r).toEqual({ ...expected, l1: expect.closeTo(expected.l1, 12), l2: expect.closeTo(expected.l2, 12), coalesced: expect.closeTo(expected.coalesced, 12), overall: expect.closeTo(expected.overall, 12) });
    if (r.lookups > 0) expect(r.overall).toBeCloseTo(1 - r.loads / r.lookups, 12);
  });

  test("instances add up and windows subtract", () => {
    const a = stats(1, 2, 3, 4, 5, 6);
    const b = stats(10, 20, 30, 40, 50, 60);
    expect(sumStats([a, b])).toEqual(stats(11, 22, 33, 44, 55, 66));
    expect(diffStats(b, a)).toEqual(stats(9, 18, 27, 36, 45, 54));
  });
});

describe("steady state", () => {
  const w = (ratios: number[], windowMs = 10) => ratios.map((overall, i) => ({ endMs: (i + 1) * windowMs, overall }));

  test.each([
    ["settles after the minimum", w([0.5, 0.8, 0.9, 0.9, 0.905, 0.9]), 0, 50],
    ["a plateau before the minimum does not count", w([0.95, 0.95, 0.95, 0.9, 0.9, 0.9]), 35, 60],
    ["still climbing", w([0.5, 0.6, 0.7, 0.8, 0.85, 0.88]), 0, undefined],
    ["oscillating wider than the tolerance", w([0.9, 0.92, 0.9, 0.92, 0.9]), 0, undefined],
    ["too few windows", w([0.9, 0.9]), 0, undefined],
  ])("%s", (_name, windows, minMs, expected) => {
    expect(steadyAt(windows, minMs)).toBe(expected);
  });
});

describe("results", () => {
  const latency = (p95: number) => ({ p50: p95 / 2, p95, p99: p95 * 2, tps: 1000.04, calls: 5000 });
  const measured = (over: Partial<CacheMeasured> = {}): CacheMeasured => ({
    instances: 4,
    concurrency: 64,
    zipfExponent: 0.735,
    keys: { learner_dashboard: 3 },
    ttlTier: "l2",
    ttlSeconds: { l1: 60, l2: 300, l3: 1800 },
    warmup: { seconds: 330.04, steady: true, windowSeconds: 10, windowHitRatios: [0.812345, 0.9] },
    hitRatio: { l1: 0.712345, l2: 0.2, coalesced: 0.01, overall: 0.922345, lookups: 1000, loads: 78 },
    cached: latency(4),
    uncached: latency(80),
    ...over,
  });
  const results = (cache: BenchResults["cache"]): BenchResults => ({
    scale: 1,
    pgVersion: "18.4",
    queries: [],
    migrationUnderLoad: { maxWriteStallMs: 1, rowsLost: 0, durationS: 1 },
    noopApplyMs: 1,
    cache,
  });
  const cacheTargetsMet = (cache: BenchResults["cache"]) =>
    checkTargets(results(cache))
      .filter((t) => t.target.startsWith("cache") || t.target.startsWith("cached"))
      .map((t) => [t.ok, t.measured]);

  test("latest.json keeps every existing field and adds cache last, rounded", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-bench-")), "latest.json");
    writeResults(file, results(measured()));
    const json = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["scale", "pgVersion", "queries", "migrationUnderLoad", "noopApplyMs", "cache"]);
    const c = json.cache as CacheMeasured;
    expect(Object.keys(c)).toEqual(["instances", "concurrency", "zipfExponent", "keys", "ttlTier", "ttlSeconds", "warmup", "hitRatio", "cached", "uncached"]);
    expect(c.hitRatio).toEqual({ l1: 0.7123, l2: 0.2, coalesced: 0.01, overall: 0.9223, lookups: 1000, loads: 78 });
    expect(c.warmup).toEqual({ seconds: 330, steady: true, windowSeconds: 10, windowHitRatios: [0.8123, 0.9] });
    expect(c.cached).toEqual({ p50: 2, p95: 4, p99: 8, tps: 1000, calls: 5000 });
  });

  test("a skipped phase is written as skipped and never counts as met", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-bench-")), "latest.json");
    const skipped = { skipped: "redis-server is not on PATH: install it (apt-get install -y redis-server) to measure the cache phase" };
    writeResults(file, results(skipped));
    expect((JSON.parse(fs.readFileSync(file, "utf8")) as { cache: unknown }).cache).toEqual(skipped);
    expect(cacheTargetsMet(skipped)).toEqual([
      [false, `skipped: ${skipped.skipped}`],
      [false, `skipped: ${skipped.skipped}`],
    ]);
    expect(markdown(results(skipped))).toMatch(/\*\*Cache phase skipped\*\*: redis-server is not on PATH.*apt-get install -y redis-server/);
  });

  test.each([
    ["met", measured(), [true, true]],
    ["hit ratio under 80 %", measured({ hitRatio: { l1: 0.5, l2: 0.2, coalesced: 0, overall: 0.7, lookups: 10, loads: 3 } }), [false, true]],
    ["p95 at 10 ms", measured({ cached: latency(10) }), [true, false]],
    ["warm-up bound reached", measured({ warmup: { seconds: 30, steady: false, windowSeconds: 10, windowHitRatios: [0.9, 0.95, 0.97] } }), [false, false]],
  ])("cache targets: %s", (_name, cache, ok) => {
    expect(cacheTargetsMet(cache).map(([met]) => met)).toEqual(ok);
  });

  test("the markdown shows hit ratio per level and cached beside uncached", () => {
    const md = markdown(results(measured()));
    expect(md).toMatch(/hit ratio L1 71\.2 % \+ L2 20\.0 % \+ coalesced 1\.0 % = 92\.2 % of 1000 lookups/);
    // 1000.04 lookups/s × 300 s / 3 keys.
    expect(md).toMatch(/1000 lookups\/s over 3 keys, 100004 requests per key per L2 TTL/);
    expect(md).toMatch(/\| through the cache \| 2\.00 \/ 4\.00 \/ 8\.00 \| 1000\.0 \| 5000 \|\n\| without the cache \| 40\.0 \/ 80\.0 \/ 160 \|/);
  });
});
