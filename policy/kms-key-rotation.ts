/** KMS keys rotate at least every 90 days. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { SECONDS_PER_DAY, TYPES, durationSeconds, readKnown } from "./common";

/** CIS GCP Foundations 1.10 and checkov CKV_GCP_43: rotate within 90 days. */
export const DEFAULT_MAX_ROTATION_DAYS = 90;

export interface KeyRotationConfig {
  readonly maxRotationDays: number;
}

export const kmsKeyRotation: ResourceValidationPolicy = {
  name: "kms-key-rotation",
  description: "Cloud KMS keys rotate automatically at least every 90 days.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: {
    properties: {
      maxRotationDays: { type: "integer", minimum: 1, maximum: DEFAULT_MAX_ROTATION_DAYS, default: DEFAULT_MAX_ROTATION_DAYS, description: "Longest rotation period allowed, in days." },
    },
  },
  remediationSteps: `Set \`rotationPeriod\` on the CryptoKey to at most "${DEFAULT_MAX_ROTATION_DAYS * SECONDS_PER_DAY}s" (${DEFAULT_MAX_ROTATION_DAYS} days; lp-db:kmsRotationDays).`,
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.cryptoKey) return;
    const maxRotationDays = args.getConfig<Partial<KeyRotationConfig>>().maxRotationDays ?? DEFAULT_MAX_ROTATION_DAYS;
    const period = readKnown(args.props, "rotationPeriod");
    const seconds = durationSeconds(period);
    if (seconds === undefined) {
      reportViolation(`rotationPeriod is ${JSON.stringify(period ?? null)}: the key never rotates; set it to at most ${maxRotationDays} days.`);
    } else if (seconds > maxRotationDays * SECONDS_PER_DAY) {
      reportViolation(`rotationPeriod is ${String(period)} (${(seconds / SECONDS_PER_DAY).toFixed(1)} days): rotate at least every ${maxRotationDays} days.`);
    }
  },
};
