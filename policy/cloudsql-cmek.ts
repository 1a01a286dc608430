/** Every Cloud SQL instance, primary and replica, is encrypted with a customer-managed key. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isSet, read } from "./common";

export const cloudsqlCmek: ResourceValidationPolicy = {
  name: "cloudsql-cmek",
  description: "Cloud SQL instances and their replicas are encrypted with a customer-managed KMS key (CMEK).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `encryptionKeyName` on the DatabaseInstance to a Cloud KMS key in the instance's region, and grant the " +
    "Cloud SQL service agent roles/cloudkms.cryptoKeyEncrypterDecrypter on it first. Replicas need their own " +
    "key in their own region. CMEK can only be chosen at creation: the instance will be replaced.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance) return;
    if (!isSet(read(args.props, "encryptionKeyName"))) {
      reportViolation("encryptionKeyName is not set: the instance would use a Google-managed key instead of CMEK.");
    }
  },
};
