/** No IAM grant, on any resource, reaches the public. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { itemsKnown, readKnown } from "./common";

/** Principals that mean "anyone" (with or without a Google account). Source: Cloud IAM "Principal identifiers". */
export const PUBLIC_PRINCIPALS: readonly string[] = Object.freeze(["allUsers", "allAuthenticatedUsers", "principalSet://goog/public:all"]);

/** IAMMember / IAMBinding / IAMPolicy resources of every service (bucketIAMMember, secretIamMember, …). */
const IAM_TYPE = /(iammember|iambinding|iampolicy)$/i;

function publicIn(members: readonly unknown[]): string[] {
  return members.filter((m): m is string => typeof m === "string" && PUBLIC_PRINCIPALS.includes(m));
}

export const iamNoPublicMembers: ResourceValidationPolicy = {
  name: "iam-no-public-members",
  description: "No IAM member, binding or policy grants a role to allUsers or allAuthenticatedUsers.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Grant the role to a specific service account, group or user instead of allUsers / allAuthenticatedUsers. " +
    "Buckets here also enforce public access prevention, which makes such grants fail at apply time.",
  validateResource: (args, reportViolation) => {
    const kind = args.type.slice(args.type.lastIndexOf(":") + 1);
    if (!IAM_TYPE.test(kind)) return;
    const found = publicIn([readKnown(args.props, "member"), ...itemsKnown(args.props, "members")]);
    const policyData = readKnown(args.props, "policyData");
    if (typeof policyData === "string" && policyData !== "") {
      let bindings: { members?: unknown[] }[] = [];
      try {
        bindings = (JSON.parse(policyData) as { bindings?: { members?: unknown[] }[] }).bindings ?? [];
      } catch {
        reportViolation("policyData is not valid JSON, so its members cannot be checked.");
      }
      for (const binding of bindings) found.push(...publicIn(binding.members ?? []));
    }
    for (const member of new Set(found)) {
      reportViolation(`grants ${String(readKnown(args.props, "role") ?? "a role")} to ${member}: that is anyone on the internet.`);
    }
  },
};
