/** Every Cloud SQL instance is attached to a VPC through private IP. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isSet, read } from "./common";

export const cloudsqlPrivateNetwork: ResourceValidationPolicy = {
  name: "cloudsql-private-network",
  description: "Cloud SQL instances are reachable on a private IP in the stack's VPC (`privateNetwork` set).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `settings.ipConfiguration.privateNetwork` to the VPC's self link (and `allocatedIpRange` to the Private " +
    "Service Access range), and make the instance depend on the servicenetworking connection.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance) return;
    if (!isSet(read(args.props, "settings", "ipConfiguration", "privateNetwork"))) {
      reportViolation("settings.ipConfiguration.privateNetwork is not set: the instance has no private IP.");
    }
  },
};
