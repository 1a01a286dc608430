/**
 * What a real first `pulumi up` and an instance's creation do to the alert
 * policies: conditions on log-based metrics created in the same update must
 * not be validated against a metric Cloud Monitoring does not know yet; every
 * audit-log metric reads the log its method is written to; and no policy
 * exists before its instance, nor pages while the instance starts reporting.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { ABSENCE_WINDOW, ABSENCE_WINDOW_SECONDS, CLOUD_SQL_METRICS, LOG_METRIC_KEYS, PRESENCE_WINDOW, SIGNALS, signal } from "../../lib/monitoring";
import type { RecordedResource, RunResult } from "../../lib/mock-runtime";
import { runStack } from "../harness/stack";

const POLICY = "gcp:monitoring/alertPolicy:AlertPolicy";
const LOG_METRIC = "gcp:logging/metric:Metric";

type PromqlCondition = { query: string; disableMetricValidation?: boolean };
const condition = (p: RecordedResource) => (p.inputs.conditions as { conditionPrometheusQueryLanguage: PromqlCondition }[])[0].conditionPrometheusQueryLanguage;
const signalOf = (p: RecordedResource) => signal((p.inputs.userLabels as Record<string, string>).signal);
const readsLogs = (p: RecordedResource) => signalOf(p).metrics.some((m) => "log" in m);

test("the absence window is longer than a healthy series' newest point can be old (one sample plus the visibility delay)", () => {
  const { everySeconds, visibleAfterSeconds } = CLOUD_SQL_METRICS.up.sampling;
  expect(ABSENCE_WINDOW_SECONDS).toBeGreaterThan(everySeconds + visibleAfterSeconds);
  expect(ABSENCE_WINDOW).toBe(`${ABSENCE_WINDOW_SECONDS / 60}m`);
});

describe.each(["prod", "staging"])("%s stack", (stack) => {
  let run: RunResult;
  beforeAll(async () => {
    run = await runStack(stack);
  });

  test("conditions on log-based metrics skip metric validation (the metric is created in the same update); all others keep it", () => {
    const policies = run.recorder.ofType(POLICY);
    const onLogs = policies.filter(readsLogs);
    expect(onLogs.length).toBeGreaterThan(0);
    for (const p of onLogs) expect(condition(p).disableMetricValidation, p.name).toBe(true);
    for (const p of policies.filter((p) => !readsLogs(p))) expect(condition(p).disableMetricValidation, p.name).toBeUndefined();
  });

  test("no log-based metric reads cloudsql.instances.export from the Admin Activity log (a DATA_READ method is never written there)", () => {
    for (const m of run.recorder.ofType(LOG_METRIC)) {
      const filter = String(m.inputs.filter);
      if (filter.includes('"cloudsql.instances.export"')) expect(filter, m.name).not.toContain("cloudaudit.googleapis.com/activity");
    }
    // The export's failures are the scheduled workflow's (a manual export's caller sees its operation fail).
    expect(LOG_METRIC_KEYS).not.toContain("exportFailures");
    expect(SIGNALS.map((s) => s.id)).not.toContain("export-failures");
    expect(run.recorder.ofType(POLICY).some((p) => signalOf(p).id === "export-workflow-failures")).toBe(true);
  });

  test("every instance's alert policies depend on that instance, so none exists before it", () => {
    const sets = run.recorder.ofType("lp:monitoring:DatabaseAlerts");
    expect(sets.length).toBeGreaterThan(0);
    for (const set of sets) {
      const key = set.name.slice("monitoring-alerts-".length);
      const instance =
        key === "cache"
          ? run.recorder.ofType("gcp:redis/instance:Instance")[0]
          : run.recorder
              .ofType("gcp:sql/databaseInstance:DatabaseInstance")
              .find((i) => i.name === (key === "primary" ? "db-primary-instance" : key === "read-pool" ? "db-read-pool-instance" : `db-replica-${key}-instance`));
      expect(instance, key).toBeDefined();
      const policies = run.recorder.ofType(POLICY).filter((p) => p.parent === set.name);
      expect(policies.length).toBeGreaterThan(0);
      for (const p of policies) expect(p.dependsOn, p.name).toContain(instance!.name);
    }
  });

  test.each(["instance-down", "cache-primary"])(
    "%s: a series that is merely not there yet does not page; one absent for the whole absence window does",
    (id) => {
      const policies = run.recorder.ofType(POLICY).filter((p) => signalOf(p).id === id);
      expect(policies.length).toBeGreaterThan(0);
      for (const p of policies) {
        const q = condition(p).query;
        expect(q).not.toContain("vector(0)");
        // Zero only when silent for the absence window after reporting within the presence window.
        expect(q).toMatch(new RegExp(`absent_over_time\\([^\\[]+\\[${ABSENCE_WINDOW}\\]\\) and on\\(\\) count_over_time\\([^\\[]+\\[${PRESENCE_WINDOW}\\]\\)`));
      }
    },
  );
});
