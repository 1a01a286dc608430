/**
 * No credential sits in a resource input in plaintext: inputs are stored in
 * state, and only secret inputs are encrypted there.
 *
 * Where the runner knows which inputs are secrets (the offline plan and tests:
 * `secretInputPaths`), every credential must be one. The Pulumi engine hands
 * policies secrets decrypted and unmarked (pulumi/pulumi-policy#241), so there
 * the only visible evidence is `additionalSecretOutputs`: provider SDKs declare
 * their credential fields (sql.User password, SecretVersion secretData, …), and
 * a dynamic provider or a field the SDK leaves out must declare it explicitly.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PENDING, read, type SecretAwareArgs } from "./common";

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

/** True when `path` or one of its ancestors is a known secret input. */
function underSecret(path: string, secrets: ReadonlySet<string>): boolean {
  const parts = path.split(".");
  return parts.some((_p, i) => secrets.has(parts.slice(0, i + 1).join(".")));
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: "no-plaintext-secrets",
  description:
    "Inputs that carry a password, token or key (or a URL with an embedded password) are Pulumi secrets; under the engine, which cannot show secretness to policies, they belong to a property the resource keeps secret (`additionalSecretOutputs`).",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Generate the credential (random.RandomPassword) or read it with config.requireSecret, and pass it as a secret " +
    "(never a literal). Register the resource with `additionalSecretOutputs: [\"<property>\"]` when its provider does " +
    "not already declare the property secret (dynamic providers, monitoring NotificationChannel sensitiveLabels). " +
    "Never write a credential into labels, flags or annotations.",
  validateResource: (args, reportViolation) => {
    const known = (args as SecretAwareArgs).secretInputPaths;
    const declared = new Set(args.opts.additionalSecretOutputs ?? []);
    for (const [path, value] of credentials(args.props)) {
      if (known) {
        if (!underSecret(path, known)) reportViolation(`${path} holds a credential that is not a Pulumi secret, so state would keep it in plaintext.`);
        continue;
      }
      const top = path.split(".")[0];
      if (declared.has(top)) continue;
      const what = value === PENDING ? "a credential computed during the update" : "a credential";
      reportViolation(
        `${path} holds ${what}, but "${top}" is not in additionalSecretOutputs; policies cannot see whether an input is a secret, so the property must be declared secret.`,
      );
    }
  },
};
