/** Every Memorystore for Redis instance is encrypted with a customer-managed key. No checkov check covers it (none found). */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isSet, read } from "./common";

export const memorystoreCmek: ResourceValidationPolicy = {
  name: "memorystore-cmek",
  description: "Memorystore for Redis instances are encrypted with a customer-managed KMS key (CMEK), like the database they cache.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `customerManagedKey` on the redis Instance to a Cloud KMS key in its region, and grant the Memorystore service agent " +
    "(service-<project number>@cloud-redis.iam.gserviceaccount.com) roles/cloudkms.cryptoKeyEncrypterDecrypter on it first. " +
    "CMEK can only be chosen at creation: the instance will be replaced. Source: https://cloud.google.com/memorystore/docs/redis/cmek",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.redisInstance) return;
    if (!isSet(read(args.props, "customerManagedKey"))) {
      reportViolation("customerManagedKey is not set: the cache (rows copied from the database) would use a Google-managed key instead of CMEK.");
    }
  },
};
