/**
 * KMS keys are protected from deletion. Terraform's `prevent_destroy` (what
 * checkov CKV_GCP_82 checks) has two observable Pulumi equivalents: the
 * `protect` resource option (policies see `opts.protect`) and the provider's
 * `deletionPolicy: "PREVENT"` (gcp 7+), which fails any destroy of the key.
 * `retainOnDelete` is not visible to policies, so it does not count.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, readKnown } from "./common";

export const kmsKeyProtected: ResourceValidationPolicy = {
  name: "kms-key-protected",
  description:
    "Cloud KMS keys are protected from deletion (Pulumi's `protect` option or `deletionPolicy: PREVENT`): destroying a key's versions makes every backup and disk encrypted with it unreadable.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    'Register the CryptoKey with `{ protect: true }` and set `deletionPolicy: "PREVENT"`. To retire a key on purpose, remove the protection in its own reviewed change first.',
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.cryptoKey) return;
    if (args.opts.protect !== true && readKnown(args.props, "deletionPolicy") !== "PREVENT") {
      reportViolation('the key has neither the protect option nor deletionPolicy "PREVENT": `pulumi destroy` or a rename would destroy its key versions.');
    }
  },
};
