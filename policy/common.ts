/**
 * What the policies share: the type tokens they match (those of @pulumi/gcp 9.x
 * and @pulumi/random), safe reads of resource inputs that may be unknown during
 * preview, and how a resource's environment is found.
 *
 * Policies match type tokens rather than importing provider classes, so the pack
 * stays independent of how the components build their resources.
 */
import { UnknownValueError, type PolicyResource } from "@pulumi/policy";

/** Type tokens the pack inspects. */
export const TYPES = Object.freeze({
  sqlInstance: "gcp:sql/databaseInstance:DatabaseInstance",
  sqlUser: "gcp:sql/user:User",
  bucket: "gcp:storage/bucket:Bucket",
  cryptoKey: "gcp:kms/cryptoKey:CryptoKey",
  secret: "gcp:secretmanager/secret:Secret",
  alertPolicy: "gcp:monitoring/alertPolicy:AlertPolicy",
  notificationChannel: "gcp:monitoring/notificationChannel:NotificationChannel",
  redisInstance: "gcp:redis/instance:Instance",
  randomPassword: "random:index/randomPassword:RandomPassword",
  /** What `pulumi.dynamic.Resource` registers as unless its subclass passes a custom type. */
  dynamicResource: "pulumi-nodejs:dynamic:Resource",
});

/**
 * Stands for an input preview cannot know yet because it comes from a resource
 * that does not exist yet (a key id, a network link, a generated password).
 * Such a value is set, so presence checks pass; value checks let the engine's
 * `UnknownValueError` through, which `pulumi preview` reports as "can't run
 * during preview" (advisory) and `pulumi up` then checks with the real value.
 */
export const PENDING: unique symbol = Symbol("value known only after the update");

type Key = string | number;

/**
 * Reads `root[path[0]][path[1]]…` without throwing: undefined when a step is
 * missing, {@link PENDING} when a step is unknown during preview.
 */
export function read(root: unknown, ...path: readonly Key[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    try {
      node = (node as Record<Key, unknown>)[key];
    } catch (err) {
      if (err instanceof UnknownValueError) return PENDING;
      throw err;
    }
  }
  return node;
}

/**
 * Like {@link read}, but lets an unknown value throw `UnknownValueError`, for
 * checks that need the value itself (the engine downgrades them to advisory
 * during preview).
 */
export function readKnown(root: unknown, ...path: readonly Key[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<Key, unknown>)[key];
  }
  return node;
}

/** True when a value is set: a non-empty string, any number or boolean, a non-empty array or object, or {@link PENDING}. */
export function isSet(value: unknown): boolean {
  if (value === PENDING) return true;
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/** The elements of an input array (empty when unset), each read safely. */
export function items(root: unknown, ...path: readonly Key[]): unknown[] {
  const list = read(root, ...path);
  if (!Array.isArray(list)) return [];
  return Array.from({ length: list.length }, (_v, i) => read(list, i));
}

/** Like {@link items}, but an unknown list throws `UnknownValueError` (see {@link readKnown}). */
export function itemsKnown(root: unknown, ...path: readonly Key[]): unknown[] {
  const list = readKnown(root, ...path);
  if (!Array.isArray(list)) return [];
  return Array.from({ length: list.length }, (_v, i) => readKnown(list, i));
}

/** A Cloud SQL instance is a replica when it names its primary. */
export function isReplica(props: unknown): boolean {
  return isSet(read(props, "masterInstanceName"));
}

/** The label components/recovery-drill.ts puts on its throwaway clone. */
export const RECOVERY_DRILL_LABEL = Object.freeze({ key: "purpose", value: "recovery-drill" });

/**
 * A recovery-drill clone: created from the primary's backups (`clone` set) and
 * labelled as the drill's. Nothing routes traffic to it and it is deleted after
 * the drill, so the durability policies (backups, prod protection, alerts,
 * migrations) exempt it; every security policy still applies. Both marks are
 * required, so a label alone exempts nothing.
 */
export function isRecoveryDrillClone(props: unknown): boolean {
  return isSet(read(props, "clone")) && read(props, "settings", "userLabels", RECOVERY_DRILL_LABEL.key) === RECOVERY_DRILL_LABEL.value;
}

/** True for Cloud SQL PostgreSQL versions (`POSTGRES_*`). */
export function isPostgres(props: unknown): boolean {
  const version = readKnown(props, "databaseVersion");
  return typeof version === "string" && version.startsWith("POSTGRES");
}

/** Where each labelled type keeps its labels. */
const LABEL_PATHS: Readonly<Record<string, readonly Key[]>> = Object.freeze({
  [TYPES.sqlInstance]: ["settings", "userLabels"],
  [TYPES.bucket]: ["labels"],
  [TYPES.cryptoKey]: ["labels"],
  [TYPES.secret]: ["labels"],
  [TYPES.alertPolicy]: ["userLabels"],
});

/** The path of a type's labels, or undefined for types this pack does not label-check. */
export function labelPath(type: string): readonly Key[] | undefined {
  return LABEL_PATHS[type];
}

/** A resource's labels (empty when it has none or they are not known yet). */
export function labelsOf(type: string, props: unknown): Record<string, unknown> {
  const at = labelPath(type);
  const labels = at ? read(props, ...at) : undefined;
  return labels !== null && typeof labels === "object" ? (labels as Record<string, unknown>) : {};
}

/** Policy config every environment-aware policy accepts. */
export interface EnvironmentConfig {
  /** `prod` or `staging`; when unset, the resource's `environment` label decides. */
  readonly environment?: string;
}

/** JSON schema of {@link EnvironmentConfig}, for `configSchema`. */
export const ENVIRONMENT_SCHEMA = Object.freeze({
  environment: {
    type: "string" as const,
    enum: ["prod", "staging"],
    description: "The stack's environment. When unset, the resource's `environment` label (config/ adds it to every resource) decides.",
  },
});

/** The environment a resource belongs to: the policy config's, else its `environment` label. */
export function environmentOf(type: string, props: unknown, config: EnvironmentConfig): string | undefined {
  if (config.environment) return config.environment;
  const label = read(labelsOf(type, props), "environment");
  return typeof label === "string" ? label : undefined;
}

/** Parses a Google duration such as "7776000s" into seconds; undefined when it is not one. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Number(match[1]) : undefined;
}

/** Seconds in a day, for durations given in days. */
export const SECONDS_PER_DAY = 86_400;

/** Short label for messages: "type name". */
export function describeResource(r: Pick<PolicyResource, "type" | "name">): string {
  return `${r.type} "${r.name}"`;
}

/**
 * What a runner that knows input secretness adds to the validation args: the
 * dotted paths of the inputs that are Pulumi secrets. The offline runner sets
 * it; the engine cannot (it hands policies secrets decrypted and unmarked).
 */
export interface SecretAwareArgs {
  readonly secretInputPaths?: ReadonlySet<string>;
}

/** Transitive dependencies of a resource (not including itself). */
export function transitiveDependencies(resource: PolicyResource): Set<PolicyResource> {
  const seen = new Set<PolicyResource>();
  const stack = [...resource.dependencies];
  while (stack.length > 0) {
    const next = stack.pop() as PolicyResource;
    if (seen.has(next) || next === resource) continue;
    seen.add(next);
    stack.push(...next.dependencies);
  }
  return seen;
}

/** True when `resource` is `ancestor` or sits below it in the parent chain. */
export function isWithin(resource: PolicyResource, ancestor: PolicyResource): boolean {
  for (let r: PolicyResource | undefined = resource; r; r = r.parent) {
    if (r === ancestor || r.urn === ancestor.urn) return true;
  }
  return false;
}
