/** In prod, Cloud SQL instances cannot be deleted by accident and primaries are highly available. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { ENVIRONMENT_SCHEMA, TYPES, environmentOf, isRecoveryDrillClone, isReplica, readKnown, type EnvironmentConfig } from "./common";

export const cloudsqlProdProtection: ResourceValidationPolicy = {
  name: "cloudsql-prod-protection",
  description: "In prod every Cloud SQL instance has deletion protection (Pulumi's and Cloud SQL's) and every primary is REGIONAL (high availability); recovery-drill clones are exempt.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: { properties: { ...ENVIRONMENT_SCHEMA } },
  remediationSteps:
    "Keep `deletionProtection` true (the provider's guard against `pulumi destroy`), set " +
    "`settings.deletionProtectionEnabled: true` (Cloud SQL's own guard against deletion from the console or gcloud), " +
    "and set `settings.availabilityType: REGIONAL` on the primary (lp-db:availabilityType).",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || isRecoveryDrillClone(args.props)) return;
    if (environmentOf(args.type, args.props, args.getConfig<EnvironmentConfig>()) !== "prod") return;
    // The provider's deletionProtection defaults to true, so only an explicit false turns it off.
    if (readKnown(args.props, "deletionProtection") === false) {
      reportViolation("deletionProtection is false: pulumi could delete this prod instance.");
    }
    if (readKnown(args.props, "settings", "deletionProtectionEnabled") !== true) {
      reportViolation("settings.deletionProtectionEnabled is not true: the prod instance could be deleted outside Pulumi.");
    }
    if (!isReplica(args.props) && readKnown(args.props, "settings", "availabilityType") !== "REGIONAL") {
      reportViolation("settings.availabilityType is not REGIONAL: the prod primary has no standby in a second zone.");
    }
  },
};
