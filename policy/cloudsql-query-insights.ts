/** Query Insights is on: it is where slow queries are found, since statements are not logged. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, readKnown } from "./common";

export const cloudsqlQueryInsights: ResourceValidationPolicy = {
  name: "cloudsql-query-insights",
  description: "Cloud SQL instances have Query Insights on (log_min_duration_statement stays -1, so Insights is how slow queries are seen).",
  enforcementLevel: "advisory",
  severity: "low",
  remediationSteps: "Set `settings.insightsConfig.queryInsightsEnabled: true` with queryPlansPerMinute and queryStringLength from config.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance) return;
    if (readKnown(args.props, "settings", "insightsConfig", "queryInsightsEnabled") !== true) {
      reportViolation("settings.insightsConfig.queryInsightsEnabled is not true: slow queries would go unseen.");
    }
  },
};
