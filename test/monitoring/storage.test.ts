import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, promqlName, signal, type InstanceContext } from "../../lib/monitoring";
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
