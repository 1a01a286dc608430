/** Every Cloud SQL instance refuses unencrypted connections. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, readKnown } from "./common";

/** `sslMode` values that refuse plaintext. Source: Cloud SQL Admin API, IpConfiguration.sslMode. */
export const ENFORCED_SSL_MODES: readonly string[] = Object.freeze(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"]);

export const cloudsqlTls: ResourceValidationPolicy = {
  name: "cloudsql-tls",
  description: "Cloud SQL instances accept only TLS connections (`sslMode` ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED).",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    `Set \`settings.ipConfiguration.sslMode\` to one of ${ENFORCED_SSL_MODES.join(", ")} (lp-db:sslMode). ` +
    "ALLOW_UNENCRYPTED_AND_ENCRYPTED, or leaving it unset, lets clients connect in plaintext.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance) return;
    const mode = readKnown(args.props, "settings", "ipConfiguration", "sslMode");
    if (typeof mode !== "string" || !ENFORCED_SSL_MODES.includes(mode)) {
      reportViolation(`settings.ipConfiguration.sslMode is ${JSON.stringify(mode ?? null)}: it must be one of ${ENFORCED_SSL_MODES.join(", ")}.`);
    }
  },
};
