/**
 * A Cloud SQL user's password is generated, not written down. The gcp SDK always
 * marks `password` secret, so what a policy can check is where the value comes
 * from: a generated-secret resource (propertyDependencies), never a literal.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { TYPES, describeResource, isSet, read } from "./common";

export interface PasswordSourceConfig {
  /** Resource types whose output may feed a sql.User password. */
  readonly passwordSources: readonly string[];
}

/** IAM users log in with OAuth tokens; Cloud SQL ignores a password for them. */
const IAM_USER_TYPES = /^CLOUD_IAM_/;

export const sqlUserPasswordSource: StackValidationPolicy = {
  name: "sql-user-password-source",
  description: "Every Cloud SQL built-in user's password comes from a generated secret (random.RandomPassword); IAM users have none.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: {
    properties: {
      passwordSources: {
        type: "array",
        items: { type: "string" },
        default: [TYPES.randomPassword],
        description: "Type tokens whose outputs may feed a sql.User password.",
      },
    },
  },
  remediationSteps:
    "Create a random.RandomPassword (its result is always secret) and pass `password.result` to the sql.User; store " +
    "it in Secret Manager for clients. For CLOUD_IAM_SERVICE_ACCOUNT / CLOUD_IAM_USER users set no password.",
  validateStack: (args, reportViolation) => {
    const passwordSources = args.getConfig<Partial<PasswordSourceConfig>>().passwordSources ?? [TYPES.randomPassword];
    for (const user of args.resources.filter((r) => r.type === TYPES.sqlUser)) {
      const userType = read(user.props, "type");
      for (const key of ["password", "passwordWo"]) {
        if (!isSet(read(user.props, key))) continue;
        if (typeof userType === "string" && IAM_USER_TYPES.test(userType)) {
          reportViolation(`${describeResource(user)} is a ${userType} user but sets ${key}: IAM users have no password.`, user.urn);
          continue;
        }
        const sources = (user.propertyDependencies[key] ?? []).filter((dep) => passwordSources.includes(dep.type));
        if (sources.length === 0) {
          reportViolation(
            `${describeResource(user)}: ${key} does not come from a generated secret (${passwordSources.join(", ")}); a literal or copied password is readable in the program and its history.`,
            user.urn,
          );
        }
      }
    }
  },
};
