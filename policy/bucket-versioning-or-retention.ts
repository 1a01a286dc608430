/** Backup objects are protected against deletion: by versioning or by a retention policy, never both. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isSet, read, readKnown } from "./common";

export const bucketVersioningOrRetention: ResourceValidationPolicy = {
  name: "bucket-versioning-or-retention",
  description:
    "Cloud Storage buckets have either Object Versioning or a retention policy. Not both: Cloud Storage rejects a retention policy on a versioned bucket.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "For a backup bucket set `retentionPolicy.retentionPeriod` (lp-db:backupRetentionDays; lock it with isLocked in " +
    "prod) and leave `versioning` off; otherwise set `versioning.enabled: true`.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.bucket) return;
    const versioned = readKnown(args.props, "versioning", "enabled") === true;
    const retained = isSet(read(args.props, "retentionPolicy", "retentionPeriod"));
    if (versioned && retained) {
      reportViolation("both versioning and a retention policy are set: Cloud Storage does not allow both on one bucket; keep one.");
    } else if (!versioned && !retained) {
      reportViolation("neither versioning nor a retention policy is set: deleted or overwritten objects cannot be recovered.");
    }
  },
};
