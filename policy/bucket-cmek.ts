/** Cloud Storage buckets encrypt new objects with a customer-managed key. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isSet, read } from "./common";

export const bucketCmek: ResourceValidationPolicy = {
  name: "bucket-cmek",
  description: "Cloud Storage buckets have a default customer-managed KMS key (CMEK).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `encryption.defaultKmsKeyName` to a KMS key in the bucket's location and grant the Cloud Storage service " +
    "agent roles/cloudkms.cryptoKeyEncrypterDecrypter on it before the bucket is created.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.bucket) return;
    if (!isSet(read(args.props, "encryption", "defaultKmsKeyName"))) {
      reportViolation("encryption.defaultKmsKeyName is not set: objects would be encrypted with a Google-managed key.");
    }
  },
};
