/**
 * Builds one instance's alert policies under Pulumi mocks and returns each
 * policy's PromQL condition by "<signal>-<severity>", for the family tests.
 */
import { DatabaseAlerts, type DatabaseAlertsArgs } from "../../components/database-alerts";
import { LogMetrics } from "../../components/log-metrics";
import { runProgram } from "../../lib/mock-runtime";

const POLICY = "gcp:monitoring/alertPolicy:AlertPolicy";
export const PROJECT = "rds-lms";

/** A policy's PromQL condition: query and how long it must hold. */
export interface Condition {
  readonly query: string;
  readonly duration: string;
}

/** A primary's `DatabaseAlerts` ("alerts", instance lp-test, 400 connections) with its log metrics, `args` overriding; call inside a mocked program. */
export function testAlerts(args: Partial<DatabaseAlertsArgs>): DatabaseAlerts {
  const logMetrics = new LogMetrics("lm", { project: PROJECT, prefix: "lp-test", databaseIds: [`${PROJECT}:lp-test`] });
  return new DatabaseAlerts("alerts", {
    project: PROJECT,
    instanceName: "lp-test",
    role: "primary",
    maxConnections: 400,
    channels: { WARNING: ["warn-channel"], CRITICAL: ["page-channel"] },
    logMetrics,
    ...args,
  });
}

/** The policies `DatabaseAlerts` creates for one instance with `args`, by "<signal>-<severity>". */
export async function alertsOf(args: Partial<DatabaseAlertsArgs>): Promise<Record<string, Condition>> {
  const { recorder } = await runProgram({
    stack: "prod",
    load: () => {
      testAlerts(args);
      return {};
    },
  });
  return Object.fromEntries(
    recorder.ofType(POLICY).map((p) => [
      p.name.slice("alerts-".length),
      (p.inputs.conditions as { conditionPrometheusQueryLanguage: Condition }[])[0].conditionPrometheusQueryLanguage,
    ]),
  );
}
