/**
 * Every Memorystore for Redis instance is reachable only through the stack's
 * Private Service Access range. Memorystore never has a public address; the
 * way to expose it wider than intended is the default network or direct
 * peering to a network other than the stack's. No checkov check covers it.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PENDING, TYPES, isSet, read } from "./common";

export const memorystorePrivate: ResourceValidationPolicy = {
  name: "memorystore-private",
  description: "Memorystore for Redis instances connect through Private Service Access on a named VPC, never the default network.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    'Set `connectMode: "PRIVATE_SERVICE_ACCESS"` and `authorizedNetwork` to the stack\'s VPC (the one holding the Cloud SQL ' +
    "instances' PSA range). Both are chosen at creation: the instance will be replaced. " +
    "Source: https://cloud.google.com/memorystore/docs/redis/networking",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.redisInstance) return;
    const mode = read(args.props, "connectMode");
    if (mode !== "PRIVATE_SERVICE_ACCESS" && mode !== PENDING) {
      reportViolation(`connectMode is ${JSON.stringify(mode ?? null)}: use PRIVATE_SERVICE_ACCESS, the stack's private range.`);
    }
    const network = read(args.props, "authorizedNetwork");
    if (!isSet(network)) reportViolation("authorizedNetwork is not set: the instance would join the project's default network.");
    else if (typeof network === "string" && /(^|\/)default$/.test(network)) reportViolation(`authorizedNetwork is "${network}": the default network is open to every VM in the project.`);
  },
};
