import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, promqlName, signal } from "../../lib/monitoring";
import { LOG_NAMES, selectors } from "../harness/monitoring";

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

describe("slow queries, frequent and rare", () => {
  const ctx = { databaseId: "p:i", maxConnections: 100, logMetrics: LOG_NAMES };
  const bucket = promqlName(CLOUD_SQL_METRICS.perQueryLatencies.type) + "_bucket";

  test("frequent slow queries: today's per-query p95 condition stays", () => {
    expect(signal("slow-queries").expr(ctx)).toMatch(/^histogram_quantile\(0\.95, /);
  });

  test("rare slow queries: executions over the threshold are counted from the buckets, without a quantile that a gappy series leaves empty", () => {
    const s = signal("slow-executions");
    const q = s.expr(ctx);
    expect(q).not.toContain("histogram_quantile");
    const sels = selectors(q).filter((sel) => sel.name === bucket);
    expect(sels.map((sel) => sel.labels.le)).toContain("+Inf");
    // All executions minus those at or under 1 s (1,000,000 us), per normalized query.
    expect(q).toMatch(/^sum by \(query_hash, querystring\) \(increase\(.*le="\+Inf"\}\[1h\]\)\) - sum by \(query_hash, querystring\) \(increase\(.*le=~"1e\\\\\+06\|1000000"\}\[1h\]\)\)$/);
    // A single execution over 1 s is enough for the warning.
    expect(s.direction).toBe("above");
    expect(s.levels!.WARNING.threshold).toBe(0);
    expect(s.levels!.WARNING.durationSeconds).toBe(0);
    expect(s.anchor).toBe("slow-queries");
  });
});
