/** Cloud Storage buckets use IAM only, never object ACLs. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, readKnown } from "./common";

export const bucketUniformAccess: ResourceValidationPolicy = {
  name: "bucket-uniform-access",
  description: "Cloud Storage buckets have uniform bucket-level access, so access is governed by IAM alone.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps: "Set `uniformBucketLevelAccess: true` on the bucket and grant access through bucket IAM members.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.bucket) return;
    if (readKnown(args.props, "uniformBucketLevelAccess") !== true) {
      reportViolation("uniformBucketLevelAccess is not true: object ACLs could grant access outside IAM.");
    }
  },
};
