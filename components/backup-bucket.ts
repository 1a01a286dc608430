/**
 * The bucket the scheduled logical exports land in: CMEK with a key in the
 * bucket's own location, uniform access, public access prevention, a
 * retention policy (Bucket Lock) plus soft delete, and lifecycle rules that
 * move exports to colder classes and delete them when retention ends.
 *
 * Retention policy, not Object Versioning: Cloud Storage refuses a bucket that
 * has both ("Bucket Lock": "a bucket cannot have a retention policy and Object
 * Versioning at the same time"). The retention policy is the stronger of the
 * two here: it makes every export immutable (no overwrite, no delete) for the
 * whole retention period, even for project owners once locked, while
 * versioning only keeps the previous generation of an object that anyone with
 * delete rights can still purge. Exports are written once under unique names,
 * so there is nothing to version; soft delete covers the one gap left (an
 * export deleted after its retention period ends can still be restored for
 * `softDeleteDays`).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { MAX_ROTATION_DAYS as MAX_KEY_ROTATION_DAYS } from "./encryption";

const SECONDS_PER_DAY = 86_400;

/**
 * Minimum storage durations of the colder classes; deleting or moving an
 * object earlier is billed as if it stayed that long. Source: Cloud Storage
 * "Storage classes" (Nearline 30 days, Coldline 90 days, Archive 365 days).
 */
export const MIN_STORAGE_DAYS = Object.freeze({ NEARLINE: 30, COLDLINE: 90, ARCHIVE: 365 } as const);

/**
 * Age at which an export moves to each colder class. An export is most likely
 * to be restored in its first month (Standard), rarely within the quarter
 * (Nearline), then kept for audits (Coldline, Archive after a year). Each age
 * is the previous class's minimum storage duration, so no move is billed as an
 * early deletion.
 */
export const STORAGE_CLASS_AFTER_DAYS = Object.freeze({
  NEARLINE: MIN_STORAGE_DAYS.NEARLINE,
  COLDLINE: MIN_STORAGE_DAYS.COLDLINE,
  ARCHIVE: MIN_STORAGE_DAYS.ARCHIVE,
} as const);

/** Soft-delete window Cloud Storage accepts: 7 to 90 days. Source: Cloud Storage "Soft delete". */
export const SOFT_DELETE_DAYS = Object.freeze({ min: 7, max: 90 });

/** Longest retention period a bucket accepts: 3,155,760,000 s (100 years). Source: Cloud Storage "Bucket Lock". */
export const MAX_RETENTION_SECONDS = 3_155_760_000;

/**
 * Predefined dual-regions and the multi-region whose KMS location holds their
 * key. Source: Cloud Storage "Bucket locations" (NAM4 = Iowa + South
 * Carolina, EUR4 = Finland + Netherlands, ASIA1 = Tokyo + Osaka) and
 * "Customer-managed encryption keys" (the key must be in the bucket's
 * location; for a dual-region, the multi-region that contains it).
 */
export const DUAL_REGIONS: Readonly<Record<string, { readonly kmsLocation: string; readonly regions: readonly string[] }>> = Object.freeze({
  NAM4: { kmsLocation: "us", regions: ["us-central1", "us-east1"] },
  EUR4: { kmsLocation: "eu", regions: ["europe-north1", "europe-west4"] },
  ASIA1: { kmsLocation: "asia", regions: ["asia-northeast1", "asia-northeast2"] },
});

/** Multi-regions; their KMS location has the same name in lower case. */
export const MULTI_REGIONS: readonly string[] = Object.freeze(["US", "EU", "ASIA"]);

const REGION = /^[a-z]+-[a-z]+\d+$/;

/** The Cloud KMS location a CMEK key for a bucket in `location` must live in; undefined for an unknown location. */
export function kmsLocationFor(location: string): string | undefined {
  const upper = location.toUpperCase();
  if (upper in DUAL_REGIONS) return DUAL_REGIONS[upper].kmsLocation;
  if (MULTI_REGIONS.includes(upper)) return upper.toLowerCase();
  return REGION.test(location.toLowerCase()) ? location.toLowerCase() : undefined;
}

/** One lifecycle transition: objects older than `ageDays` move to `storageClass`. */
export interface StorageTransition {
  readonly storageClass: keyof typeof MIN_STORAGE_DAYS;
  readonly ageDays: number;
}

/**
 * The colder-class moves worth making for objects deleted at `retentionDays`:
 * a move is skipped when the object would be deleted before that class's
 * minimum storage duration has passed (it would cost more, not less).
 */
export function storageTransitions(retentionDays: number): StorageTransition[] {
  return (Object.keys(STORAGE_CLASS_AFTER_DAYS) as (keyof typeof MIN_STORAGE_DAYS)[])
    .map((storageClass) => ({ storageClass, ageDays: STORAGE_CLASS_AFTER_DAYS[storageClass] }))
    .filter((t) => retentionDays - t.ageDays >= MIN_STORAGE_DAYS[t.storageClass]);
}

/** Arguments of {@link BackupBucket}. */
export interface BackupBucketArgs {
  /** Globally unique bucket name (3–63 characters). */
  readonly bucketName: string;
  /** A region (`US-CENTRAL1`), a predefined dual-region (`NAM4`) or a multi-region (`US`). */
  readonly location: string;
  /** Days each export is kept: the retention period (no delete or overwrite before) and the lifecycle delete age. */
  readonly retentionDays: number;
  /** Lock the retention policy (Bucket Lock). Irreversible: the bucket cannot be deleted until every object has aged out. */
  readonly lockRetention: boolean;
  /** Days a deleted export stays recoverable (soft delete), 7–90. */
  readonly softDeleteDays: number;
  /** Labels for the bucket and its key. */
  readonly labels: Readonly<Record<string, string>>;
  /** Rotation period of the created key, in days. */
  readonly keyRotationDays: number;
  /**
   * An existing Cloud KMS key in the bucket's KMS location to use instead of creating a key ring and key.
   * @default undefined (a key ring and key are created in {@link kmsLocationFor}(location))
   */
  readonly existingKeyId?: string;
  /**
   * Resources (enabled APIs, grants) every child must wait for.
   * @default []
   */
  readonly requires?: readonly pulumi.Resource[];
}

/** Checks the bucket's arguments (for a bucket whose KMS location is `kmsLocation`) against Cloud Storage's and Cloud KMS's rules; returns the first problem or undefined. */
function bucketArgsProblem(args: BackupBucketArgs, kmsLocation: string): string | undefined {
  if (!/^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$/.test(args.bucketName)) {
    return `bucketName "${args.bucketName}" must be 3–63 lowercase letters, digits, '-', '_' or '.'`;
  }
  if (args.softDeleteDays < SOFT_DELETE_DAYS.min || args.softDeleteDays > SOFT_DELETE_DAYS.max) {
    return `softDeleteDays ${args.softDeleteDays} must be ${SOFT_DELETE_DAYS.min}–${SOFT_DELETE_DAYS.max}`;
  }
  if (!Number.isInteger(args.retentionDays) || args.retentionDays < 1 || args.retentionDays * SECONDS_PER_DAY > MAX_RETENTION_SECONDS) {
    return `retentionDays ${args.retentionDays} must be a whole number of days from 1 to 100 years`;
  }
  if (!Number.isInteger(args.keyRotationDays) || args.keyRotationDays < 1 || args.keyRotationDays > MAX_KEY_ROTATION_DAYS) {
    return `keyRotationDays ${args.keyRotationDays} must be 1 to ${MAX_KEY_ROTATION_DAYS}`;
  }
  if (args.existingKeyId !== undefined && !args.existingKeyId.includes(`/locations/${kmsLocation}/`)) {
    return `existingKeyId "${args.existingKeyId}" is not in location "${kmsLocation}", where a key for a bucket in ${args.location} must be`;
  }
  return undefined;
}

/** The export bucket with its CMEK key and the Cloud Storage service agent's grant on that key. */
export class BackupBucket extends pulumi.ComponentResource {
  /** The bucket. */
  readonly bucket: gcp.storage.Bucket;
  /** The bucket's name. */
  readonly bucketName: pulumi.Output<string>;
  /** `gs://<name>`. */
  readonly url: pulumi.Output<string>;
  /** The CMEK key id objects are encrypted with. */
  readonly kmsKeyId: pulumi.Output<string>;
  /** The KMS location of that key. */
  readonly kmsLocation: string;
  /** The lifecycle moves to colder classes this bucket makes. */
  readonly transitions: readonly StorageTransition[];

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:backup:BackupBucket", name, {}, opts);

    const kmsLocation = kmsLocationFor(args.location);
    if (!kmsLocation) {
      throw new pulumi.ResourceError(
        `location "${args.location}" is not a Cloud Storage region, predefined dual-region (${Object.keys(DUAL_REGIONS).join(", ")}) or multi-region (${MULTI_REGIONS.join(", ")})`,
        this,
      );
    }
    const problem = bucketArgsProblem(args, kmsLocation);
    if (problem) throw new pulumi.ResourceError(problem, this);
    this.kmsLocation = kmsLocation;
    const requires = [...(args.requires ?? [])];

    const { keyId, dependsOn } = this.bucketKey(name, args, kmsLocation, requires);

    // The Cloud Storage service agent encrypts and decrypts with the key, on this key only.
    const storageAgent = gcp.storage.getProjectServiceAccountOutput({}, { parent: this });
    const keyGrant = new gcp.kms.CryptoKeyIAMMember(
      `${name}-storage-agent-key`,
      { cryptoKeyId: keyId, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: storageAgent.member },
      { parent: this, dependsOn },
    );

    this.transitions = Object.freeze(storageTransitions(args.retentionDays));
    const lifecycleRules: gcp.types.input.storage.BucketLifecycleRule[] = [
      ...this.transitions.map((t) => ({
        action: { type: "SetStorageClass", storageClass: t.storageClass },
        condition: { age: t.ageDays },
      })),
      { action: { type: "Delete" }, condition: { age: args.retentionDays } },
    ];

    this.bucket = new gcp.storage.Bucket(
      `${name}-bucket`,
      {
        name: args.bucketName,
        location: args.location.toUpperCase(),
        storageClass: "STANDARD",
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        encryption: { defaultKmsKeyName: keyId },
        // See the file comment: a retention policy and Object Versioning exclude each other.
        versioning: { enabled: false },
        retentionPolicy: { retentionPeriod: String(args.retentionDays * SECONDS_PER_DAY), isLocked: args.lockRetention },
        softDeletePolicy: { retentionDurationSeconds: args.softDeleteDays * SECONDS_PER_DAY },
        lifecycleRules,
        labels: { ...args.labels },
        forceDestroy: false,
      },
      // The key grant must exist before the bucket names the key, or creation fails.
      { parent: this, dependsOn: [...requires, keyGrant], protect: args.lockRetention },
    );

    this.bucketName = this.bucket.name;
    this.url = this.bucket.url;
    this.kmsKeyId = pulumi.output(keyId);
    this.registerOutputs({ bucketName: this.bucketName, url: this.url, kmsKeyId: this.kmsKeyId });
  }

  /**
   * The key the bucket is encrypted with: `existingKeyId`, or a protected key ring and key in
   * the bucket's KMS location; `dependsOn` is what the key grant waits for.
   */
  private bucketKey(
    name: string,
    args: BackupBucketArgs,
    kmsLocation: string,
    requires: pulumi.Resource[],
  ): { keyId: pulumi.Input<string>; dependsOn: pulumi.Resource[] } {
    const dependsOn: pulumi.Resource[] = [...requires];
    if (args.existingKeyId !== undefined) return { keyId: args.existingKeyId, dependsOn };
    // Cloud SQL's keys (EncryptionKeys) live in regions and grant Cloud SQL; a dual- or
    // multi-region bucket needs a key in a multi-region location that only Cloud Storage
    // may use, so the bucket brings its own. Same rules as EncryptionKeys: key rings cannot
    // be deleted in GCP, and a destroyed key makes every export unreadable, so both are protected.
    const ring = new gcp.kms.KeyRing(`${name}-keyring`, { name: `${args.bucketName}-ring`, location: kmsLocation }, { parent: this, protect: true, dependsOn: requires });
    const key = new gcp.kms.CryptoKey(
      `${name}-key`,
      {
        name: `${args.bucketName}-key`,
        keyRing: ring.id,
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: `${args.keyRotationDays * SECONDS_PER_DAY}s`,
        labels: { ...args.labels },
        deletionPolicy: "PREVENT",
      },
      { parent: this, protect: true, dependsOn: requires },
    );
    dependsOn.push(key);
    return { keyId: key.id, dependsOn };
  }
}
