import { describe, expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../config";
import { loadStackValues } from "../../lib/mock-runtime";
import { parseStack, testRefusals } from "../harness/config";

describe("config area monitoring (alert routing): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["invalid notification email", "staging", { alertEmails: ["dba at example"] }, /lp-db:alertEmails\[0\] = "dba at example": not a valid email address/],
    ["bad Slack channel", "staging", { slackChannel: "db alerts" }, /lp-db:slackChannel = "db alerts": expected "" or "#channel-name"/],
    ["Slack channel without a token", "staging", { slackChannel: "#db-alerts" }, /lp-db:slackAuthToken = \(not set\).*pulumi config set --secret lp-db:slackAuthToken/],
    ["alerts doc address not https", "staging", { alertsDocUrl: "docs/alerts.md" }, /lp-db:alertsDocUrl = "docs\/alerts.md": expected "" or the https:\/\/ address/],
    ["prod stack with nobody to page", "prod", { criticalEmails: [] }, /lp-db:criticalEmails = \[\]: a prod stack must route critical alerts/],
  ]);
});

describe("alert routing values", () => {
  test("a Slack token is required with a Slack channel and stays secret", async () => {
    const v = loadStackValues("prod", { slackChannel: "#db-alerts" });
    const c = parseStackConfig({ project: v.project, region: v.region, values: v.values, slackAuthToken: pulumi.secret("xoxb-1") });
    expect(c.monitoring.slackChannel).toBe("#db-alerts");
    expect(await pulumi.isSecret(c.monitoring.slackAuthToken as pulumi.Output<string>)).toBe(true);
  });

  test("the alerts doc address is optional: empty means none", () => {
    expect(parseStack("staging").monitoring.alertsDocUrl).toBeUndefined();
    const url = "https://github.example/rds-lms/lp-db/blob/main/docs/alerts.md";
    expect(parseStack("staging", { alertsDocUrl: url }).monitoring.alertsDocUrl).toBe(url);
  });
});
