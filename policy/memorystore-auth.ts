/** Every Memorystore for Redis instance requires AUTH. checkov CKV_GCP_95. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PENDING, TYPES, read } from "./common";

export const memorystoreAuth: ResourceValidationPolicy = {
  name: "memorystore-auth",
  description: "Memorystore for Redis instances require AUTH, so a client on the network needs the AUTH string (checkov CKV_GCP_95).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `authEnabled: true` on the redis Instance and store its `authString` in Secret Manager (components/cache-instance.ts " +
    "does both); applications read the AUTH string from the secret. Source: https://cloud.google.com/memorystore/docs/redis/about-redis-auth",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.redisInstance) return;
    const auth = read(args.props, "authEnabled");
    if (auth !== true && auth !== PENDING) reportViolation(`authEnabled is ${JSON.stringify(auth ?? null)}: any client on the network could read and write the cache.`);
  },
};
