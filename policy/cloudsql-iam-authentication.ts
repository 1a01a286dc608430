/**
 * IAM database authentication stays on: the platform's applications sign in as
 * IAM service-account logins, never with passwords. Flag: Cloud SQL "IAM
 * database authentication", https://cloud.google.com/sql/docs/postgres/iam-authentication
 * (cloudsql.iam_authentication).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isPostgres } from "./common";
import { flagsOf } from "./flags";

export const cloudsqlIamAuthentication: ResourceValidationPolicy = {
  name: "cloudsql-iam-authentication",
  description: "Cloud SQL PostgreSQL instances set cloudsql.iam_authentication=on, so applications sign in as IAM service accounts instead of password users.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set database flag cloudsql.iam_authentication=on (lib/database-flags.ts sets it in the named set); remove any override that turns it off.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || !isPostgres(args.props)) return;
    const value = flagsOf(args.props).get("cloudsql.iam_authentication");
    if (value === undefined) reportViolation("database flag cloudsql.iam_authentication is not set: set it to on.");
    else if (value.toLowerCase() !== "on") reportViolation(`database flag cloudsql.iam_authentication is "${value}": it must be on.`);
  },
};
