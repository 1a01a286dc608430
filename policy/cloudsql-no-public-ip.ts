/** No Cloud SQL instance gets a public IPv4 address or authorized networks. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, itemsKnown, read, readKnown } from "./common";

export const cloudsqlNoPublicIp: ResourceValidationPolicy = {
  name: "cloudsql-no-public-ip",
  description: "Cloud SQL instances have no public IP address and no authorized networks.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Set `settings.ipConfiguration.ipv4Enabled: false` (the provider defaults it to true) and remove every entry " +
    "of `settings.ipConfiguration.authorizedNetworks`. Clients connect over private IP (Private Service Access) " +
    "or the Cloud SQL connectors.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance) return;
    // The Terraform provider enables a public IP unless told otherwise, so only an explicit false passes.
    if (readKnown(args.props, "settings", "ipConfiguration", "ipv4Enabled") !== false) {
      reportViolation("settings.ipConfiguration.ipv4Enabled is not false: the instance would get a public IP address.");
    }
    const networks = itemsKnown(args.props, "settings", "ipConfiguration", "authorizedNetworks");
    if (networks.length > 0) {
      const values = networks.map((n) => String(read(n, "value") ?? "?")).join(", ");
      reportViolation(`settings.ipConfiguration.authorizedNetworks admits ${values}: no authorized networks are allowed.`);
    }
  },
};
