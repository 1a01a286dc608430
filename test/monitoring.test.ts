import { beforeAll, describe, expect, test } from "vitest";
import { Dashboard, buildDashboard, dashboardLayout, type ResolvedInstance } from "../components/dashboard";
import { DatabaseAlerts, describeLevel } from "../components/database-alerts";
import { LARGE_TEMP_FILE_BYTES, LogMetrics } from "../components/log-metrics";
import { NotificationChannels } from "../components/notification-channels";
import {
  DASHBOARD_ROWS,
  LOG_METRIC_KEYS,
  SIGNALS,
  WORKFLOW,
  appliesTo,
  metricTypeOf,
  promqlName,
  resourceOf,
  signal,
  type InstanceRole,
  type LogMetricKey,
  type Severity,
} from "../lib/monitoring";
import { runProgram, type MockRecorder, type RecordedResource } from "../lib/mock-runtime";
import { SECRET, runStack } from "./harness/stack";
import { LOG_NAMES, expectRealMetrics, selectors } from "./harness/monitoring";
import { testAlerts } from "./monitoring/alerts-of";

const POLICY = "gcp:monitoring/alertPolicy:AlertPolicy";
const CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel";
const LOG_METRIC = "gcp:logging/metric:Metric";
const DASHBOARD = "gcp:monitoring/dashboard:Dashboard";
const PROJECT = "rds-lms";

/**
 * Runs `construct` under mocks and returns the error it threw. The error is
 * caught inside the program so that resources registered before it settle
 * before the next test replaces the mocks.
 */
async function refusal(construct: () => void): Promise<string> {
  let message = "(no error)";
  await runProgram({
    stack: "prod",
    load: () => {
      try {
        construct();
      } catch (err) {
        message = err instanceof Error ? err.message : String(err);
      }
      return {};
    },
  });
  return message;
}

const policiesOf = (recorder: MockRecorder, parent: string) => recorder.ofType(POLICY).filter((p) => p.parent === parent);
const promql = (p: RecordedResource) =>
  (p.inputs.conditions as { conditionPrometheusQueryLanguage: { query: string; duration: string; evaluationInterval: string } }[])[0]
    .conditionPrometheusQueryLanguage;
const labelsOf = (p: RecordedResource) => p.inputs.userLabels as Record<string, string>;

describe("log-based metrics", () => {
  const lockWait = "2026-11-26 10:00:00.000 UTC [4242]: [3-1] db=learning_platform,user=lp_app LOG:  process 4242 still waiting for ShareLock on transaction 7781 after 1000.123 ms";
  const deadlock = "2026-11-26 10:00:01.000 UTC [4243]: [5-1] db=learning_platform,user=lp_app ERROR:  deadlock detected";
  const temp = (size: number) => `2026-11-26 10:00:02.000 UTC [4244]: [2-1] db=learning_platform,user=lp_app LOG:  temporary file: path "base/pgsql_tmp/pgsql_tmp4244.0", size ${size}`;

  test("one metric per kind, scoped to the stack's instances, named under the stack's prefix", async () => {
    const { recorder } = await runProgram({
      stack: "prod",
      load: () => {
        new LogMetrics("lm", { project: PROJECT, prefix: "lp-prod", databaseIds: [`${PROJECT}:lp-prod`, `${PROJECT}:lp-prod-read-a`] });
        return {};
      },
    });
    const metrics = recorder.ofType(LOG_METRIC);
    expect(metrics.map((m) => m.inputs.name).sort()).toEqual(
      ["lp-prod/backup_failures", "lp-prod/deadlocks", "lp-prod/lock_waits", "lp-prod/temp_files"],
    );
    for (const m of metrics) {
      expect(m.parent).toBe("lm");
      expect(m.inputs.filter).toContain(`resource.type="cloudsql_database" AND resource.labels.database_id=("${PROJECT}:lp-prod" OR "${PROJECT}:lp-prod-read-a")`);
    }
    const byName = (n: string) => metrics.find((m) => m.inputs.name === `lp-prod/${n}`)!;
    expect(byName("temp_files").inputs.metricDescriptor).toMatchObject({ valueType: "DISTRIBUTION", unit: "By" });
    expect(byName("backup_failures").inputs.filter).toContain('protoPayload.methodName="cloudsql.instances.automatedBackup"');
    expect(byName("backup_failures").inputs.filter).toContain('log_id("cloudaudit.googleapis.com/system_event")');
  });

  /** The textPayload regex of a filter, as a JS RegExp (Cloud Logging's RE2 syntax used here is a subset). */
  const payloadRegex = (filter: string) => new RegExp(/textPayload=~"((?:[^"\\]|\\.)*)"/.exec(filter)![1].replace(/\\"/g, '"'));

  test("the postgres.log patterns match PostgreSQL's own messages, and temp files only from the size on", async () => {
    const { recorder } = await runProgram({
      stack: "prod",
      load: () => {
        new LogMetrics("lm", { project: PROJECT, prefix: "lp-prod", databaseIds: [`${PROJECT}:lp-prod`] });
        return {};
      },
    });
    const filterOf = (n: string) => String(recorder.ofType(LOG_METRIC).find((m) => m.inputs.name === `lp-prod/${n}`)!.inputs.filter);
    expect(payloadRegex(filterOf("lock_waits")).test(lockWait)).toBe(true);
    expect(payloadRegex(filterOf("lock_waits")).test(deadlock)).toBe(false);
    expect(filterOf("deadlocks")).toContain('textPayload:"deadlock detected"');
    const tempRe = payloadRegex(filterOf("temp_files"));
    expect(tempRe.test(temp(LARGE_TEMP_FILE_BYTES))).toBe(true);
    expect(tempRe.test(temp(LARGE_TEMP_FILE_BYTES * 37))).toBe(true);
    expect(tempRe.test(temp(LARGE_TEMP_FILE_BYTES - 1))).toBe(false);
    expect(tempRe.test(temp(8192))).toBe(false);
  });

  test.each([
    ["a bad prefix", { prefix: "lp prod", databaseIds: ["p:i"] }, /prefix "lp prod"/],
    ["no instances", { prefix: "lp-prod", databaseIds: [] }, /databaseIds is empty/],
  ])("refuses %s", async (_what, args, message) => {
    expect(await refusal(() => new LogMetrics("lm", { project: PROJECT, ...args }))).toMatch(message);
  });
});

describe("notification channels", () => {
  const build = (args: Partial<ConstructorParameters<typeof NotificationChannels>[1]>) =>
    runProgram({
      stack: "prod",
      load: () => {
        const c = new NotificationChannels("nc", {
          project: PROJECT,
          displayNamePrefix: "lp-test",
          warningEmails: [],
          criticalEmails: [],
          ...args,
        });
        return { warning: c.warning, critical: c.critical };
      },
    });

  test("one email channel per address; warning to the warning list, critical to the critical list and Slack; the token stays secret", async () => {
    const { recorder, outputs } = await build({
      warningEmails: ["team@x.dev", "both@x.dev"],
      criticalEmails: ["oncall@x.dev", "both@x.dev"],
      slack: { channel: "#db-alerts", authToken: "xoxb-123" },
    });
    const channels = recorder.ofType(CHANNEL);
    expect(channels.map((c) => c.name).sort()).toEqual(["nc-email-both-x-dev", "nc-email-oncall-x-dev", "nc-email-team-x-dev", "nc-slack"]);
    const name = (n: string) => `projects/${PROJECT}/notificationChannels/${n}`;
    expect(outputs.warning).toEqual([name("nc-email-team-x-dev"), name("nc-email-both-x-dev")]);
    expect(outputs.critical).toEqual([name("nc-email-oncall-x-dev"), name("nc-email-both-x-dev"), name("nc-slack")]);
    const slack = recorder.get(CHANNEL, "nc-slack");
    expect(slack.inputs).toMatchObject({ type: "slack", labels: { channel_name: "#db-alerts" } });
    expect(JSON.stringify(slack.inputs.sensitiveLabels)).toContain(SECRET);
    expect(JSON.stringify(slack.inputs)).not.toContain("xoxb");
    expect(slack.plainInputs.sensitiveLabels).toEqual({ authToken: "xoxb-123" });
  });

  test("with no critical channel (staging), critical alerts go to the warning addresses rather than nowhere", async () => {
    const { outputs } = await build({ warningEmails: ["team@x.dev"] });
    expect(outputs.critical).toEqual(outputs.warning);
    expect(outputs.warning).toEqual([`projects/${PROJECT}/notificationChannels/nc-email-team-x-dev`]);
  });

  test.each([
    ["no channel at all", {}, /no notification channel/],
    ["two addresses with one channel name", { warningEmails: ["a.b@x.dev", "a-b@x.dev"] }, /map to the same channel name/],
  ])("refuses %s", async (_what, args, message) => {
    expect(
      await refusal(
        () => new NotificationChannels("nc", { project: PROJECT, displayNamePrefix: "lp-test", warningEmails: [], criticalEmails: [], ...args }),
      ),
    ).toMatch(message);
  });
});

describe("alert policies of one instance (constructed directly)", () => {
  const build = (args: Partial<ConstructorParameters<typeof DatabaseAlerts>[1]>) =>
    runProgram({
      stack: "prod",
      load: () => {
        const a = testAlerts(args);
        return { backends: a.query("pool-utilisation") };
      },
    });

  test("capability: query(signal) is the same PromQL the policies compare", async () => {
    const { recorder, outputs } = await build({});
    const warn = recorder.get(POLICY, "alerts-pool-utilisation-warning");
    expect(promql(warn).query).toBe(`(${String(outputs.backends)}) > 0.85`);
    expect(outputs.backends).toBe(`sum(cloudsql_googleapis_com:database_postgresql_num_backends{monitored_resource="cloudsql_database",database_id="${PROJECT}:lp-test"}) / 400`);
  });

  test("an alerts doc address adds a link to the response section", async () => {
    const { recorder } = await build({ alertsDocUrl: "https://example.dev/lp-db/docs/alerts.md" });
    const doc = recorder.get(POLICY, "alerts-disk-critical").inputs.documentation as { links: { url: string }[]; content: string };
    expect(doc.links).toEqual([{ displayName: "Response", url: "https://example.dev/lp-db/docs/alerts.md#disk" }]);
    const down = recorder.get(POLICY, "alerts-instance-down-critical").inputs.documentation as { links: { url: string }[] };
    expect(down.links).toEqual([
      { displayName: "Response", url: "https://example.dev/lp-db/docs/alerts.md#instance-down" },
      { displayName: "Runbook", url: "https://example.dev/lp-db/docs/runbook.md#ha-failover" },
    ]);
    expect(doc.content).toContain("**What to do.**");
  });

  test.each([
    ["a non-positive max_connections", { maxConnections: 0 }, /maxConnections = 0/],
    ["non-positive pooling limits", { pooling: { maxClientConnections: 0, maxPoolSize: 10 } }, /pooling.maxClientConnections = 0/],
    ["a non-https doc address", { alertsDocUrl: "docs/alerts.md" }, /alertsDocUrl = "docs\/alerts.md"/],
  ])("refuses %s", async (_what, args, message) => {
    expect(
      await refusal(() => testAlerts(args)),
    ).toMatch(message);
  });
});

describe("dashboard (built directly)", () => {
  const instances: Record<string, ResolvedInstance> = {
    primary: { role: "primary", context: { databaseId: "p:lp", maxConnections: 400, pooling: { maxClientConnections: 5000, maxPoolSize: 100 }, logMetrics: LOG_NAMES } },
    "read-a": { role: "replica", context: { databaseId: "p:lp-read-a", maxConnections: 400, pooling: { maxClientConnections: 5000, maxPoolSize: 100 }, logMetrics: LOG_NAMES } },
    cache: { role: "cache", context: { databaseId: "projects/p/locations/r/instances/lp-cache", maxConnections: 65_000, logMetrics: LOG_NAMES } },
  };

  test("rows in order, tiles three to a line on the 48-column grid, no overlaps", () => {
    const layout = dashboardLayout(buildDashboard("t", instances));
    const rows = [...new Set(layout.map((t) => t.row))];
    expect(rows).toEqual([...DASHBOARD_ROWS]);
    for (const t of layout) expect(t.xPos + t.width).toBeLessThanOrEqual(48);
    const cells = layout.map((t) => `${t.xPos},${t.yPos}`);
    expect(new Set(cells).size).toBe(cells.length);
  });

  test("replication-lag tile charts only replicas; the byte-lag tile only the primary", () => {
    const tiles = buildDashboard("t", instances).mosaicLayout.tiles as { widget: { title: string; xyChart?: { dataSets: { legendTemplate: string }[] } } }[];
    const legends = (title: string) => tiles.find((t) => t.widget.title === title)!.widget.xyChart!.dataSets.map((d) => d.legendTemplate);
    expect(legends(signal("replication-lag").title)).toEqual(["read-a"]);
    expect(legends(signal("replica-byte-lag").title)).toEqual(["primary"]);
    expect(legends(signal("disk").title)).toEqual(["primary", "read-a"]);
  });

  test.each([
    ["no instances", {}, /instances is empty/],
    ["no primary", { r: { instanceName: "lp-r", role: "replica" as const, maxConnections: 10 } }, /has no role "primary"/],
  ])("refuses %s", async (_what, inst, message) => {
    expect(
      await refusal(() => {
        const logMetrics = new LogMetrics("lm", { project: PROJECT, prefix: "lp-test", databaseIds: ["p:i"] });
        new Dashboard("d", { project: PROJECT, displayName: "t", instances: inst, logMetrics });
      }),
    ).toMatch(message);
  });
});

// ---------------------------------------------------------------------------
// The whole program, per stack.

const STACK_INSTANCES: Record<string, Record<string, InstanceRole>> = {
  prod: { primary: "primary", "read-a": "replica", "read-b": "replica", "dr-east": "replica", cache: "cache" },
  staging: { primary: "primary", "read-a": "replica", cache: "cache" },
};
const instanceName = (stack: string, key: string) => (key === "primary" ? `learning-platform-${stack}` : `learning-platform-${stack}-${key}`);
/** The instance label's value on the instance's metrics: Cloud SQL's "<project>:<name>", Memorystore's full name. */
const instanceIdOf = (stack: string, key: string) =>
  key === "cache" ? `projects/${PROJECT}/locations/us-central1/instances/${instanceName(stack, key)}` : `${PROJECT}:${instanceName(stack, key)}`;
/** The stack's Cloud SQL instances (the cache excluded). */
const sqlInstances = (stack: string) => Object.keys(STACK_INSTANCES[stack]).filter((k) => STACK_INSTANCES[stack][k] !== "cache");

describe.each(Object.keys(STACK_INSTANCES))("%s stack", (stack) => {
  let result: Awaited<ReturnType<typeof runStack>>;
  // One run per stack, before its tests (runs must not overlap: Pulumi's mock runtime is global).
  beforeAll(async () => {
    result = await runStack(stack);
  });
  const SUFFIXES: Record<LogMetricKey, string> = {
    lockWaits: "lock_waits",
    deadlocks: "deadlocks",
    tempFiles: "temp_files",
    backupFailures: "backup_failures",
  };
  /** The scheduled export (issue 6) exports the primary through this workflow. */
  const exportWorkflowOf = (key: string) => (key === "primary" ? `db-${stack}-export` : undefined);
  const logNamesOf = () =>
    Object.fromEntries(LOG_METRIC_KEYS.map((k) => [k, `learning-platform-${stack}/${SUFFIXES[k]}`])) as Record<LogMetricKey, string>;

  test("one policy set per instance: every applicable signal at both levels, replication lag only on replicas", async () => {
    const { recorder } = result;
    const sets = recorder.ofType("lp:monitoring:DatabaseAlerts").map((r) => r.name).sort();
    expect(sets).toEqual(Object.keys(STACK_INSTANCES[stack]).map((k) => `monitoring-alerts-${k}`).sort());
    for (const [key, role] of Object.entries(STACK_INSTANCES[stack])) {
      const policies = policiesOf(recorder, `monitoring-alerts-${key}`);
      const expected = SIGNALS.filter((s) => s.levels && appliesTo(s, role, { pooling: true, exportWorkflow: role === "primary" })).flatMap((s) => [
        `${s.id}-warning`,
        `${s.id}-critical`,
      ]);
      expect(policies.map((p) => p.name.slice(`monitoring-alerts-${key}-`.length)).sort()).toEqual(expected.sort());
      expect(policies.some((p) => labelsOf(p).signal === "replication-lag")).toBe(role === "replica");
      expect(policies.some((p) => labelsOf(p).signal === "backup-failures")).toBe(role === "primary");
    }
  });

  test("Query Insights policies exist on the primary only: read replicas and the read pool report no Insights metrics", () => {
    for (const [key, role] of Object.entries(STACK_INSTANCES[stack])) {
      const queries = policiesOf(result.recorder, `monitoring-alerts-${key}`).map((p) => JSON.stringify(p.inputs.conditions));
      expect({ key, insights: queries.some((q) => q.includes("_insights_")) }).toEqual({ key, insights: role === "primary" });
    }
  });

  test("every policy's query names real Cloud SQL (or the stack's log-based) metrics on the right monitored resource and instance", async () => {
    const { recorder } = result;
    const logNames = logNamesOf();
    expect(recorder.ofType(LOG_METRIC).map((m) => m.inputs.name).sort()).toEqual(Object.values(logNames).sort());
    for (const [key] of Object.entries(STACK_INSTANCES[stack])) {
      for (const p of policiesOf(recorder, `monitoring-alerts-${key}`)) {
        const q = promql(p).query;
        expectRealMetrics(q, instanceIdOf(stack, key), logNames, exportWorkflowOf(key));
        // The metrics the signal declares are the ones its query reads.
        const declared = signal(labelsOf(p).signal).metrics.map((m) => promqlName(metricTypeOf(m, logNames)));
        for (const sel of selectors(q)) expect(declared.some((d) => sel.name.startsWith(d))).toBe(true);
        for (const m of signal(labelsOf(p).signal).metrics) expect(q).toContain(`monitored_resource="${resourceOf(m)}"`);
      }
    }
  });

  // The table, level by level: signal, comparison, warning, critical.
  test.each([
    ["pool-utilisation", ">", 0.85, 0.9],
    ["pool-client-utilisation", ">", 0.85, 0.9],
    ["pool-wait", ">", 20, 100],
    ["query-latency-p95", ">", 500, 1000],
    ["query-latency-p99", ">", 500, 1000],
    ["disk", ">", 0.8, 0.9],
    ["cache-hit-ratio", "<", 0.7, 0.5],
    ["slow-queries", ">", 1000, 5000],
  ])("%s: %s %s warning, %s critical, with the signal's durations", async (id, op, warning, critical) => {
    const { recorder } = result;
    const s = signal(id);
    for (const [severity, threshold] of [["warning", warning], ["critical", critical]] as const) {
      const p = recorder.get(POLICY, `monitoring-alerts-primary-${id}-${severity}`);
      const c = promql(p);
      expect(c.query.endsWith(`) ${op} ${threshold}`)).toBe(true);
      const sev = severity.toUpperCase() as Severity;
      expect(c.duration).toBe(`${s.levels![sev].durationSeconds}s`);
      expect(c.evaluationInterval).toBe("30s");
      expect(p.inputs.severity).toBe(sev);
      expect(p.inputs.displayName).toBe(`[${sev}] ${instanceName(stack, "primary")}: ${describeLevel(s, sev)}`);
    }
  });

  test("replication lag: > 10 s warning and > 30 s critical on each replica, from replica_lag", async () => {
    const { recorder } = result;
    for (const [key, role] of Object.entries(STACK_INSTANCES[stack])) {
      if (role !== "replica") continue;
      const warn = promql(recorder.get(POLICY, `monitoring-alerts-${key}-replication-lag-warning`)).query;
      const crit = promql(recorder.get(POLICY, `monitoring-alerts-${key}-replication-lag-critical`)).query;
      expect(warn).toBe(`(max(cloudsql_googleapis_com:database_replication_replica_lag{monitored_resource="cloudsql_database",database_id="${PROJECT}:${instanceName(stack, key)}"})) > 10`);
      expect(crit.endsWith(") > 30")).toBe(true);
    }
  });

  test("failed export workflow runs alert on the primary only, on the scheduled export's workflow", () => {
    const { recorder } = result;
    const workflow = recorder.ofType("gcp:workflows/workflow:Workflow").map((w) => w.inputs.name);
    expect(workflow).toEqual([exportWorkflowOf("primary")]);
    const q = promql(recorder.get(POLICY, "monitoring-alerts-primary-export-workflow-failures-critical")).query;
    expect(q).toContain(`workflows_googleapis_com:finished_execution_count{monitored_resource="${WORKFLOW}",workflow_id="${workflow[0]}",status="FAILED"}`);
    expect(recorder.ofType(POLICY).filter((p) => labelsOf(p).signal === "export-workflow-failures").map((p) => p.parent)).toEqual([
      "monitoring-alerts-primary",
      "monitoring-alerts-primary",
    ]);
  });

  test("pool utilisation divides by each instance's max_connections flag", async () => {
    const { recorder } = result;
    for (const key of sqlInstances(stack)) {
      const instance = recorder.ofType("gcp:sql/databaseInstance:DatabaseInstance").find((i) => i.inputs.name === instanceName(stack, key))!;
      const flags = (instance.inputs.settings as { databaseFlags: { name: string; value: string }[] }).databaseFlags;
      const maxConnections = flags.find((f) => f.name === "max_connections")!.value;
      expect(promql(recorder.get(POLICY, `monitoring-alerts-${key}-pool-utilisation-critical`)).query).toContain(`}) / ${maxConnections}) > 0.9`);
    }
  });

  test("slow statements are not logged: log_min_duration_statement stays -1 on every instance", async () => {
    const { recorder } = result;
    for (const instance of recorder.ofType("gcp:sql/databaseInstance:DatabaseInstance")) {
      const flags = (instance.inputs.settings as { databaseFlags: { name: string; value: string }[] }).databaseFlags;
      const f = flags.find((x) => x.name === "log_min_duration_statement");
      if (f) expect(f.value).toBe("-1");
    }
  });

  test("channels are wired by severity", async () => {
    const { recorder } = result;
    const channelName = (address: string) => `projects/${PROJECT}/notificationChannels/monitoring-channels-email-${address.replace(/[^a-z0-9]+/g, "-")}`;
    const warning = [channelName("platform-db@rds-lms.dev")];
    const critical = stack === "prod" ? [channelName("db-oncall@rds-lms.dev")] : warning;
    const policies = recorder.ofType(POLICY);
    expect(policies.length).toBeGreaterThan(0);
    for (const p of policies) {
      expect(p.inputs.notificationChannels).toEqual(p.inputs.severity === "CRITICAL" ? critical : warning);
    }
  });

  test("each policy documents what it means, what to do and the runbook reference, without an alerts doc address", async () => {
    const { recorder } = result;
    // Neither stack configures lp-db:alertsDocUrl: the content itself must carry the runbook reference.
    const policies = recorder.ofType(POLICY);
    expect(policies.some((p) => signal(labelsOf(p).signal).runbook)).toBe(true);
    for (const p of policies) {
      const doc = p.inputs.documentation as { mimeType: string; content: string; subject: string; links?: unknown };
      const s = signal(labelsOf(p).signal);
      expect(doc.mimeType).toBe("text/markdown");
      expect(doc.content).toContain(s.meaning);
      expect(doc.content).toContain(s.action);
      expect(doc.content).toContain(`**Runbook.** Response steps: \`docs/alerts.md#${s.anchor}\` in the lp-db repository.`);
      if (s.runbook) expect(doc.content).toContain(`Procedure: \`docs/runbook.md#${s.runbook}\`.`);
      expect(doc.links).toBeUndefined();
      expect(doc.subject).toBe(p.inputs.displayName);
    }
  });

  test("the dashboard JSON parses, and every tile charts a defined signal over real metrics with its levels as threshold lines", async () => {
    const { recorder } = result;
    const logNames = logNamesOf();
    const json = JSON.parse(String(recorder.ofType(DASHBOARD)[0].inputs.dashboardJson)) as ReturnType<typeof buildDashboard>;
    const tiles = json.mosaicLayout.tiles as { widget: { title: string; xyChart?: { dataSets: { legendTemplate: string; timeSeriesQuery: { prometheusQuery: string } }[]; thresholds: { value: number; label: string }[] } } }[];
    const charts = tiles.filter((t) => t.widget.xyChart);
    expect(charts.length).toBeGreaterThan(0);
    for (const t of charts) {
      const s = SIGNALS.find((x) => x.title === t.widget.title);
      expect(s, t.widget.title).toBeDefined();
      for (const d of t.widget.xyChart!.dataSets) {
        expectRealMetrics(d.timeSeriesQuery.prometheusQuery, instanceIdOf(stack, d.legendTemplate), logNames, exportWorkflowOf(d.legendTemplate));
      }
      expect(t.widget.xyChart!.thresholds.map((x) => x.value)).toEqual(s!.levels ? [s!.levels.WARNING.threshold, s!.levels.CRITICAL.threshold] : []);
    }
  });

  test("dashboard layout", async () => {
    const { recorder } = result;
    const json = JSON.parse(String(recorder.ofType(DASHBOARD)[0].inputs.dashboardJson)) as ReturnType<typeof buildDashboard>;
    expect({ displayName: json.displayName, tiles: dashboardLayout(json) }).toMatchSnapshot();
  });
});

describe("prod with Slack and an alerts doc address configured", () => {
  let result: Awaited<ReturnType<typeof runStack>>;
  const docUrl = "https://git.example/rds-lms/lp-db/blob/main/docs/alerts.md";
  beforeAll(async () => {
    result = await runStack("prod", { overrides: { slackChannel: "#db-alerts", alertsDocUrl: docUrl }, secrets: { slackAuthToken: "xoxb-test-token" } });
  });

  test("critical policies page the on-call address and Slack; warnings still go to email only; the token never appears", () => {
    const { recorder } = result;
    const slack = recorder.get(CHANNEL, "monitoring-channels-slack");
    expect(slack.inputs.labels).toEqual({ channel_name: "#db-alerts" });
    const slackName = `projects/${PROJECT}/notificationChannels/monitoring-channels-slack`;
    for (const p of recorder.ofType(POLICY)) {
      expect((p.inputs.notificationChannels as string[]).includes(slackName)).toBe(p.inputs.severity === "CRITICAL");
    }
    expect(JSON.stringify(recorder.resources.map((r) => r.inputs))).not.toContain("xoxb-test-token");
    expect(JSON.stringify(result.outputs)).not.toContain("xoxb-test-token");
  });

  test("every policy links its response section in docs/alerts.md and its runbook procedure, as links and clickable in the text", () => {
    const runbookUrl = docUrl.replace(/alerts\.md$/, "runbook.md");
    for (const p of result.recorder.ofType(POLICY)) {
      const doc = p.inputs.documentation as { links: { displayName: string; url: string }[]; content: string };
      const s = signal(labelsOf(p).signal);
      const response = { displayName: "Response", url: `${docUrl}#${s.anchor}` };
      expect(doc.links).toEqual(s.runbook ? [response, { displayName: "Runbook", url: `${runbookUrl}#${s.runbook}` }] : [response]);
      expect(doc.content).toContain(`**Runbook.** Response steps: [docs/alerts.md#${s.anchor}](${docUrl}#${s.anchor}).`);
      if (s.runbook) expect(doc.content).toContain(`Procedure: [docs/runbook.md#${s.runbook}](${runbookUrl}#${s.runbook}).`);
    }
  });
});
