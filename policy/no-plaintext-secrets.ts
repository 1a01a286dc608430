/**
 * No credential is stored in plaintext. Policies cannot see whether an input
 * value is a Pulumi secret (they receive secrets decrypted; pulumi/pulumi-policy#241),
 * but they can see which properties a resource keeps secret in state:
 * `additionalSecretOutputs`, which provider SDKs fill in for their credential
 * fields (sql.User password, SecretVersion secretData, …) and which a dynamic
 * provider or a field the SDK does not mark must set explicitly.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PENDING, read } from "./common";

/** Input keys that hold credentials. */
export const CREDENTIAL_KEY = /(password|passwd|passphrase|secretdata|authtoken|apikey|api_key|privatekey|private_key|clientsecret|client_secret|credentials?|token)(wo)?$/i;
/** A URL that embeds a password: scheme://user:password@host. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^@\s]+@/i;

/** Every [path, value] below `root` whose key names a credential or whose string embeds one. */
function credentials(root: unknown, path: string[] = []): [string, unknown][] {
  if (root === null || typeof root !== "object") return [];
  const found: [string, unknown][] = [];
  for (const key of Object.keys(root)) {
    const value = read(root, key);
    const at = [...path, key];
    if (value === undefined || value === null || value === "") continue;
    if (CREDENTIAL_KEY.test(key) && (typeof value === "string" || value === PENDING)) found.push([at.join("."), value]);
    else if (typeof value === "string" && URL_WITH_PASSWORD.test(value)) found.push([at.join("."), value]);
    else if (typeof value === "object") found.push(...credentials(value, at));
  }
  return found;
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: "no-plaintext-secrets",
  description:
    "Inputs that carry a password, token or key (or a URL with an embedded password) belong to properties the resource keeps secret in state (`additionalSecretOutputs`).",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Generate the credential (random.RandomPassword) or read it with config.requireSecret, pass it as a secret, and " +
    "register the resource with `additionalSecretOutputs: [\"<property>\"]` when its provider does not already mark " +
    "the property secret (dynamic providers, monitoring NotificationChannel sensitiveLabels). Never write a credential " +
    "into labels, flags or annotations.",
  validateResource: (args, reportViolation) => {
    const secretProps = new Set(args.opts.additionalSecretOutputs ?? []);
    for (const [path, value] of credentials(args.props)) {
      const top = path.split(".")[0];
      if (secretProps.has(top)) continue;
      const what = value === PENDING ? "a value computed during the update" : "a plaintext value";
      reportViolation(`${path} holds ${what} that state would keep in plaintext: "${top}" is not in additionalSecretOutputs.`);
    }
  },
};
