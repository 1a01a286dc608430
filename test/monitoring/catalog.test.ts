import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, CLOUDSQL_DATABASE, CLOUDSQL_INSTANCE_DATABASE, DASHBOARD_ROWS, SIGNALS, formatLevel, promqlName } from "../../lib/monitoring";
import { ROOT } from "../../lib/mock-runtime";

describe("the metric catalog and every signal", () => {
  test.each(Object.entries(CLOUD_SQL_METRICS))("%s is a Cloud SQL metric type on a Cloud SQL monitored resource", (_key, m) => {
    expect(m.type).toMatch(/^cloudsql\.googleapis\.com\/(database|per_database)\/[a-z_/]+$/);
    expect([CLOUDSQL_DATABASE, CLOUDSQL_INSTANCE_DATABASE]).toContain(m.resource);
    // Query Insights and managed pooling metrics are per database; the rest per instance.
    expect(m.resource === CLOUDSQL_INSTANCE_DATABASE).toBe(/insights|per_database/.test(m.type));
  });

  test.each([
    ["compute.googleapis.com/instance/cpu/utilization", "compute_googleapis_com:instance_cpu_utilization"],
    ["logging.googleapis.com/log_entry_count", "logging_googleapis_com:log_entry_count"],
    ["cloudsql.googleapis.com/database/postgresql/num_backends", "cloudsql_googleapis_com:database_postgresql_num_backends"],
    ["logging.googleapis.com/user/learning-platform-prod/lock_waits", "logging_googleapis_com:user_learning_platform_prod_lock_waits"],
  ])("PromQL name of %s is %s (Cloud Monitoring's mapping rules)", (type, name) => {
    expect(promqlName(type)).toBe(name);
  });

  test("signal ids are unique, rows are the dashboard's, and every alerting signal has a response anchor documented in docs/alerts.md", () => {
    expect(new Set(SIGNALS.map((s) => s.id)).size).toBe(SIGNALS.length);
    const doc = fs.readFileSync(path.join(ROOT, "docs/alerts.md"), "utf8");
    const anchors = new Set([...doc.matchAll(/^#{2,3} .*\{#([a-z0-9-]+)\}|<a id="([a-z0-9-]+)"><\/a>/gm)].map((m) => m[1] ?? m[2]));
    const runbook = fs.readFileSync(path.join(ROOT, "docs/runbook.md"), "utf8");
    const runbookAnchors = new Set([...runbook.matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map((m) => m[1]));
    expect(SIGNALS.filter((s) => s.runbook).length).toBeGreaterThan(0);
    for (const s of SIGNALS) {
      expect(DASHBOARD_ROWS).toContain(s.row);
      if (!s.levels) continue;
      expect(s.meaning, s.id).toBeTruthy();
      expect(s.action, s.id).toBeTruthy();
      expect(anchors, s.id).toContain(s.anchor);
      if (s.runbook) expect(runbookAnchors, s.id).toContain(s.runbook);
      // Durations Cloud Monitoring accepts for a condition: whole minutes.
      for (const sev of ["WARNING", "CRITICAL"] as const) expect(s.levels[sev].durationSeconds % 60).toBe(0);
    }
  });



  test.each([
    ["10^2.%", 0.85, "85%"],
    ["ms", 500, "500 ms"],
    ["s", 30, "30 s"],
    ["1", 5, "5"],
  ])("formatLevel(%s, %s) is %s", (unit, value, text) => {
    expect(formatLevel(value, unit)).toBe(text);
  });
});

