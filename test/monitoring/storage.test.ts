import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, MIN_BLOCK_READS_PER_SECOND, guardedRatio, promqlName, signal, type InstanceContext } from "../../lib/monitoring";
import { LOG_NAMES, selectors } from "../harness/monitoring";

describe("storage signals", () => {
  test("the cache-hit ratio is buffer-cache reads over all block reads, not the Enterprise Plus data cache", () => {
    const ctx: InstanceContext = { databaseId: "p:i", maxConnections: 100, logMetrics: LOG_NAMES };
    const q = signal("cache-hit-ratio").expr(ctx);
    expect(q).not.toContain("data_cache");
    const [hits, all] = selectors(q);
    expect(hits.name).toBe(promqlName(CLOUD_SQL_METRICS.blocksRead.type));
    expect(hits.labels.source).toBe("buffer_cache");
    expect(all.name).toBe(hits.name);
    expect(all.labels.source).toBeUndefined();
    expect(q).toMatch(/\) \/ sum\(rate\(/);
  });
});

describe("the buffer-cache hit ratio on an idle instance", () => {
  test("is judged only above a minimum block-read volume, with the same guard shape as the query cache's ratio", () => {
    const ctx: InstanceContext = { databaseId: "p:i", maxConnections: 100, logMetrics: LOG_NAMES };
    const q = signal("cache-hit-ratio").expr(ctx);
    const all = `sum(rate(${promqlName(CLOUD_SQL_METRICS.blocksRead.type)}{monitored_resource="cloudsql_database",database_id="p:i"}[2m]))`;
    expect(q.endsWith(` and on() (${all} > ${MIN_BLOCK_READS_PER_SECOND})`)).toBe(true);
    expect(MIN_BLOCK_READS_PER_SECOND).toBeGreaterThan(0);
    // The same helper builds the query cache's guard.
    const cacheCtx: InstanceContext = { databaseId: "projects/p/locations/r/instances/c", maxConnections: 65000, logMetrics: LOG_NAMES };
    expect(signal("query-cache-hit-ratio").expr(cacheCtx)).toMatch(/^\(.*\) and on\(\) \(.* > 1\)$/);
    expect(guardedRatio("a", "b", 3)).toBe("(a / b) and on() (b > 3)");
  });
});
