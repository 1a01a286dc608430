/** Cloud Storage buckets can never be made public. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, readKnown } from "./common";

export const bucketPublicAccessPrevention: ResourceValidationPolicy = {
  name: "bucket-public-access-prevention",
  description: "Cloud Storage buckets enforce public access prevention.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps: 'Set `publicAccessPrevention: "enforced"` on the bucket ("inherited" leaves it to the organization policy).',
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.bucket) return;
    const value = readKnown(args.props, "publicAccessPrevention");
    if (value !== "enforced") {
      reportViolation(`publicAccessPrevention is ${JSON.stringify(value ?? null)}: it must be "enforced".`);
    }
  },
};
