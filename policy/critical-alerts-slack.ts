/**
 * In prod, critical alerts page Slack as docs/alerts.md describes. The Slack
 * bot token is a secret only the platform team can set, so a stack may deploy
 * without it: this advisory says plainly that critical alerts then reach e-mail
 * only, on every plan and preview, until the channel is set.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { ENVIRONMENT_SCHEMA, TYPES, environmentOf, read, type EnvironmentConfig } from "./common";

export const criticalAlertsSlack: StackValidationPolicy = {
  name: "critical-alerts-slack",
  description:
    "In prod, a stack with CRITICAL alert policies also has a Slack notification channel, so critical alerts page Slack as well as e-mail " +
    "(docs/alerts.md); without one they reach e-mail only.",
  enforcementLevel: "advisory",
  severity: "medium",
  configSchema: { properties: { ...ENVIRONMENT_SCHEMA } },
  remediationSteps:
    'Set lp-db:slackChannel ("#channel") and the bot token with "pulumi config set --secret lp-db:slackAuthToken <token>"; ' +
    "NotificationChannels then adds the Slack channel to every critical alert policy.",
  validateStack: (args, reportViolation) => {
    const config = args.getConfig<EnvironmentConfig>();
    const critical = args.resources.filter(
      (r) => r.type === TYPES.alertPolicy && read(r.props, "severity") === "CRITICAL" && read(r.props, "enabled") !== false && environmentOf(r.type, r.props, config) === "prod",
    );
    if (critical.length === 0) return;
    const slack = args.resources.some((r) => r.type === TYPES.notificationChannel && read(r.props, "type") === "slack");
    if (!slack) {
      reportViolation(
        `${critical.length} critical alert policies notify e-mail only: no Slack notification channel, so critical alerts do not page Slack ` +
          "until lp-db:slackChannel and the secret lp-db:slackAuthToken are set.",
      );
    }
  },
};
