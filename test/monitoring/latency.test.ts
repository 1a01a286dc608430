import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, promqlName, signal } from "../../lib/monitoring";
import { LOG_NAMES } from "../harness/monitoring";

describe("latency and slow-query signals", () => {
  test("the slow-query signal keeps the normalized query text as a label and uses the 1000 ms threshold", () => {
    const s = signal("slow-queries");
    const q = s.expr({ databaseId: "p:i", maxConnections: 100, logMetrics: LOG_NAMES });
    expect(q).toContain(promqlName(CLOUD_SQL_METRICS.perQueryLatencies.type) + "_bucket");
    expect(q).toMatch(/sum by \(le, query_hash, querystring\)/);
    expect(CLOUD_SQL_METRICS.perQueryLatencies.labels).toContain("querystring");
    expect(s.levels?.WARNING.threshold).toBe(1000);
    // Query Insights reports microseconds; the signal is in ms.
    expect(q).toMatch(/\/ 1000$/);
  });
});
