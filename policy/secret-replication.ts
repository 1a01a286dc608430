/** Secret Manager secrets declare their replication, with CMEK when the config asks for it. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isSet, items, read } from "./common";

export interface SecretReplicationConfig {
  /** Require every secret's replicas to be encrypted with a customer-managed key. */
  readonly requireCmek: boolean;
}

export const secretReplication: ResourceValidationPolicy = {
  name: "secret-replication",
  description: "Secret Manager secrets set a replication policy (automatic or user-managed) and, when `requireCmek` is on, encrypt every replica with a customer-managed key.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: {
    properties: {
      requireCmek: { type: "boolean", default: false, description: "Require customerManagedEncryption on every secret replica." },
    },
  },
  remediationSteps:
    "Set `replication.auto` (optionally with `customerManagedEncryption.kmsKeyName`, a global or multi-region key) or " +
    "`replication.userManaged.replicas` with a location and, when CMEK is required, `customerManagedEncryption.kmsKeyName` " +
    "in that location.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.secret) return;
    const auto = read(args.props, "replication", "auto");
    const replicas = items(args.props, "replication", "userManaged", "replicas");
    const isAuto = auto !== undefined && auto !== null;
    if (!isAuto && replicas.length === 0) {
      reportViolation("replication sets neither auto nor userManaged replicas.");
      return;
    }
    if (args.getConfig<Partial<SecretReplicationConfig>>().requireCmek !== true) return;
    if (isAuto && !isSet(read(auto, "customerManagedEncryption", "kmsKeyName"))) {
      reportViolation("replication.auto has no customerManagedEncryption.kmsKeyName, and this stack requires CMEK.");
    }
    replicas.forEach((replica, i) => {
      if (!isSet(read(replica, "customerManagedEncryption", "kmsKeyName"))) {
        reportViolation(`replication.userManaged.replicas[${i}] has no customerManagedEncryption.kmsKeyName, and this stack requires CMEK.`);
      }
    });
  },
};
