/** Resources carry the labels cost reports and the policies rely on. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PENDING, labelPath, labelsOf, read } from "./common";

/** Labels config/ puts on every resource. */
export const DEFAULT_REQUIRED_LABELS: readonly string[] = Object.freeze(["environment", "managed-by"]);

export interface LabelsConfig {
  readonly requiredLabels: readonly string[];
}

export const labelsPresent: ResourceValidationPolicy = {
  name: "labels-present",
  description: "Cloud SQL instances, buckets, KMS keys, secrets and alert policies carry the required labels (environment, managed-by).",
  enforcementLevel: "advisory",
  severity: "low",
  configSchema: {
    properties: {
      requiredLabels: { type: "array", items: { type: "string" }, default: [...DEFAULT_REQUIRED_LABELS], description: "Label keys every labelled resource carries." },
    },
  },
  remediationSteps: "Pass the StackConfig's `labels` to the resource (settings.userLabels on Cloud SQL, userLabels on alert policies, labels elsewhere).",
  validateResource: (args, reportViolation) => {
    const at = labelPath(args.type);
    // Labels computed from other resources are checked at update time.
    if (!at || read(args.props, ...at) === PENDING) return;
    const labels = labelsOf(args.type, args.props);
    const required = args.getConfig<Partial<LabelsConfig>>().requiredLabels ?? DEFAULT_REQUIRED_LABELS;
    const missing = required.filter((key) => !(key in labels));
    if (missing.length > 0) reportViolation(`${at.join(".")} lacks ${missing.join(", ")}.`);
  },
};
