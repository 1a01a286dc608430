/** Every Memorystore for Redis instance encrypts traffic in transit. checkov CKV_GCP_97. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PENDING, TYPES, read } from "./common";

export const memorystoreTransitEncryption: ResourceValidationPolicy = {
  name: "memorystore-transit-encryption",
  description: "Memorystore for Redis instances use in-transit encryption (TLS with server authentication), so the AUTH string and cached rows never cross the network in clear (checkov CKV_GCP_97).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    'Set `transitEncryptionMode: "SERVER_AUTHENTICATION"` on the redis Instance and give clients its server CA (`serverCaCerts`, ' +
    "exported in the connection manifest). It can only be chosen at creation: the instance will be replaced. " +
    "Source: https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.redisInstance) return;
    const mode = read(args.props, "transitEncryptionMode");
    if (mode !== "SERVER_AUTHENTICATION" && mode !== PENDING) {
      reportViolation(`transitEncryptionMode is ${JSON.stringify(mode ?? null)}: traffic to the cache, AUTH string included, would be plain text.`);
    }
  },
};
