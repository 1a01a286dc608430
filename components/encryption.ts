/**
 * Customer-managed encryption keys: one key ring and key per location that needs
 * one (every region holding a Cloud SQL instance; other components may ask for
 * more, for example a bucket's location), or existing keys named in config. The
 * service identity of each Google service that encrypts with the keys (Cloud SQL by
 * default) gets `roles/cloudkms.cryptoKeyEncrypterDecrypter` on each key, and
 * whatever encrypts with a key depends on that grant.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { MAX_KEY_ROTATION_DAYS } from "../lib/limits";

/** Keys rotate at least this often (lib/limits.ts, CIS GCP Foundations Benchmark 1.10). */
export const MAX_ROTATION_DAYS = MAX_KEY_ROTATION_DAYS;
const SECONDS_PER_DAY = 86_400;
/** The role that lets a service agent use a key. */
export const ENCRYPTER_DECRYPTER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter";

const LOCATION = /^[a-z][a-z0-9]*(-[a-z]+[0-9]+)?$/;
const KEY_ID = /^projects\/[^/]+\/locations\/([^/]+)\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const SERVICE = /^[a-z][a-z0-9-]*\.googleapis\.com$/;

/** Arguments of {@link EncryptionKeys}. */
export interface EncryptionKeysArgs {
  /** GCP project id. */
  readonly project: string;
  /** Prefix of key ring and key names; the location is appended. */
  readonly namePrefix: string;
  /** KMS locations that need a key, for example ["us-central1", "us-east1"] or ["nam4"]. */
  readonly locations: readonly string[];
  /** Existing keys to use instead of creating them, by location. @default {} */
  readonly existingKeys?: Readonly<Record<string, string>>;
  /** Rotation period of created keys, in days (1-90). @default 90 */
  readonly rotationDays?: number;
  /** Google services whose service identity gets encrypter/decrypter on every key. @default ["sqladmin.googleapis.com"] */
  readonly services?: readonly string[];
  /** Labels for created keys. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Resources (enabled APIs) that must exist before any child. @default [] */
  readonly requires?: readonly pulumi.Resource[];
}

/** Checks the rotation period, the locations, the existing keys and the service names; returns the first problem or undefined. */
function keysArgsProblem(args: EncryptionKeysArgs, rotationDays: number, serviceNames: readonly string[]): string | undefined {
  if (!Number.isInteger(rotationDays) || rotationDays < 1 || rotationDays > MAX_ROTATION_DAYS) {
    return `rotationDays ${rotationDays} must be 1 to ${MAX_ROTATION_DAYS}`;
  }
  if (args.locations.length === 0) return "locations must name at least one KMS location";
  for (const location of args.locations) {
    if (!LOCATION.test(location)) return `locations: "${location}" is not a lowercase KMS location`;
  }
  const twice = args.locations.filter((l, i) => args.locations.indexOf(l) !== i);
  if (twice.length > 0) return `locations: ${twice.join(", ")} listed twice`;
  for (const [location, keyId] of Object.entries(args.existingKeys ?? {})) {
    const m = KEY_ID.exec(keyId);
    if (!m) return `existingKeys.${location}: "${keyId}" is not projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`;
    if (m[1] !== location) return `existingKeys.${location}: the key is in ${m[1]}, not ${location}`;
    if (!args.locations.includes(location)) {
      return `existingKeys.${location}: no resource here needs a key in ${location} (locations: ${args.locations.join(", ")})`;
    }
  }
  const badService = serviceNames.filter((s) => !SERVICE.test(s));
  if (serviceNames.length === 0 || badService.length > 0) {
    return `services must list Google API names; got ${JSON.stringify(serviceNames)}`;
  }
  return undefined;
}

/** `lp:security:EncryptionKeys`: CMEK keys by location, with the service agents' grants. */
export class EncryptionKeys extends pulumi.ComponentResource {
  /** Key ids (`projects/…/locations/<loc>/keyRings/…/cryptoKeys/…`) by location. */
  public readonly keyIds: Readonly<Record<string, pulumi.Output<string>>>;
  /** Created keys by location (absent for existing keys). */
  public readonly cryptoKeys: Readonly<Record<string, gcp.kms.CryptoKey>>;
  /** The encrypter/decrypter grants on each location's key; encrypting resources depend on them. */
  public readonly grants: Readonly<Record<string, readonly gcp.kms.CryptoKeyIAMMember[]>>;
  /** Service identities by service name (for example Cloud SQL's). */
  public readonly serviceIdentities: Readonly<Record<string, gcp.projects.ServiceIdentity>>;
  private readonly name: string;

  constructor(name: string, args: EncryptionKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:security:EncryptionKeys", name, {}, opts);
    this.name = name;
    const rotationDays = args.rotationDays ?? MAX_ROTATION_DAYS;
    const existing = args.existingKeys ?? {};
    const serviceNames = args.services ?? ["sqladmin.googleapis.com"];
    const problem = keysArgsProblem(args, rotationDays, serviceNames);
    if (problem) throw new pulumi.ResourceError(problem, this);
    const requires = [...(args.requires ?? [])];

    const identities: Record<string, gcp.projects.ServiceIdentity> = {};
    for (const service of serviceNames) {
      identities[service] = new gcp.projects.ServiceIdentity(
        `${name}-${service.split(".")[0]}-identity`,
        { project: args.project, service },
        { parent: this, dependsOn: requires },
      );
    }
    this.serviceIdentities = Object.freeze(identities);

    const keyIds: Record<string, pulumi.Output<string>> = {};
    const cryptoKeys: Record<string, gcp.kms.CryptoKey> = {};
    const grants: Record<string, gcp.kms.CryptoKeyIAMMember[]> = {};
    for (const location of args.locations) {
      if (existing[location]) {
        keyIds[location] = pulumi.output(existing[location]);
      } else {
        // Key rings cannot be deleted in GCP, and a destroyed key makes every backup
        // and disk under it unreadable: both are protected.
        const ring = new gcp.kms.KeyRing(
          `${name}-${location}-ring`,
          { project: args.project, name: `${args.namePrefix}-${location}`, location },
          { parent: this, dependsOn: requires, protect: true },
        );
        const key = new gcp.kms.CryptoKey(
          `${name}-${location}-key`,
          {
            name: `${args.namePrefix}-${location}`,
            keyRing: ring.id,
            purpose: "ENCRYPT_DECRYPT",
            rotationPeriod: `${rotationDays * SECONDS_PER_DAY}s`,
            labels: { ...args.labels },
            deletionPolicy: "PREVENT",
          },
          { parent: this, protect: true },
        );
        cryptoKeys[location] = key;
        keyIds[location] = key.id;
      }
      grants[location] = serviceNames.map(
        (service) =>
          new gcp.kms.CryptoKeyIAMMember(
            `${name}-${location}-${service.split(".")[0]}-encrypter`,
            { cryptoKeyId: keyIds[location], role: ENCRYPTER_DECRYPTER_ROLE, member: identities[service].member },
            { parent: this },
          ),
      );
    }
    this.keyIds = Object.freeze(keyIds);
    this.cryptoKeys = Object.freeze(cryptoKeys);
    this.grants = Object.freeze(grants);
    this.registerOutputs({ keyIds: this.keyIds });
  }

  /** The key id for `location`. Throws when this component holds no key there. */
  keyFor(location: string): pulumi.Output<string> {
    const key = this.keyIds[location];
    if (!key) {
      throw new pulumi.ResourceError(`no encryption key in ${location}; keys exist in: ${Object.keys(this.keyIds).join(", ")}`, this);
    }
    return key;
  }

  /** The grants a resource encrypting with `location`'s key must depend on. */
  grantsFor(location: string): readonly gcp.kms.CryptoKeyIAMMember[] {
    this.keyFor(location);
    return this.grants[location];
  }

  /** Grants `member` (for example a bucket's storage service agent) encrypter/decrypter on `location`'s key; `key` names the grant. */
  grantEncrypterDecrypter(key: string, location: string, member: pulumi.Input<string>): gcp.kms.CryptoKeyIAMMember {
    return new gcp.kms.CryptoKeyIAMMember(
      `${this.name}-${location}-${key}-encrypter`,
      { cryptoKeyId: this.keyFor(location), role: ENCRYPTER_DECRYPTER_ROLE, member },
      { parent: this },
    );
  }
}
