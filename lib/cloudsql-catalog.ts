/**
 * What Cloud SQL for PostgreSQL offers, as facts the config validator, the
 * components and the policy pack share. One place, so that a new major version
 * or tier is added once.
 */

/** A PostgreSQL major version as Cloud SQL names it, with its support dates. */
export interface DatabaseVersionInfo {
  /** Cloud SQL's `databaseVersion` value. */
  readonly id: string;
  /** PostgreSQL major version number. */
  readonly major: number;
  /** First day of extended (paid) support: standard support ends the day before. */
  readonly extendedSupportFrom: string;
}

/**
 * Source: Cloud SQL "Database versions and version policies" (PostgreSQL),
 * table "Major and minor versions supported by Cloud SQL". Standard support for
 * each major ends on 1 February, five years after the community release.
 */
export const DATABASE_VERSIONS: readonly DatabaseVersionInfo[] = Object.freeze([
  { id: "POSTGRES_9_6", major: 9, extendedSupportFrom: "2025-02-01" },
  { id: "POSTGRES_10", major: 10, extendedSupportFrom: "2025-02-01" },
  { id: "POSTGRES_11", major: 11, extendedSupportFrom: "2025-02-01" },
  { id: "POSTGRES_12", major: 12, extendedSupportFrom: "2025-02-01" },
  { id: "POSTGRES_13", major: 13, extendedSupportFrom: "2026-02-01" },
  { id: "POSTGRES_14", major: 14, extendedSupportFrom: "2027-02-01" },
  { id: "POSTGRES_15", major: 15, extendedSupportFrom: "2028-02-01" },
  { id: "POSTGRES_16", major: 16, extendedSupportFrom: "2029-02-01" },
  { id: "POSTGRES_17", major: 17, extendedSupportFrom: "2030-02-01" },
  { id: "POSTGRES_18", major: 18, extendedSupportFrom: "2031-02-01" },
]);

/**
 * PostgreSQL majors the migrations are proven on: `npm test` applies and
 * re-applies them on embedded PostgreSQL of each (test/harness/postgres.ts).
 * Config and the policy pack refuse every other major.
 */
export const SUPPORTED_MAJORS = Object.freeze([14, 15, 16, 17, 18] as const);
export type SupportedMajor = (typeof SUPPORTED_MAJORS)[number];
/** The major the stacks run (Pulumi.yaml's default) and the full test suite runs on. */
export const STACK_MAJOR: SupportedMajor = 18;

/**
 * Why a Cloud SQL version is refused, or undefined when it is supported. Majors
 * below 14 are outside the test matrix, and Cloud SQL's standard support for
 * every one of them has ended (DATABASE_VERSIONS).
 */
export function unsupportedVersionReason(id: string): string | undefined {
  const info = databaseVersion(id);
  if (!info) return `not a PostgreSQL version Cloud SQL offers; allowed: ${DATABASE_VERSIONS.map((v) => v.id).join(", ")}`;
  if ((SUPPORTED_MAJORS as readonly number[]).includes(info.major)) return undefined;
  return (
    `PostgreSQL ${info.major} is not supported: the migrations are tested on PostgreSQL ` +
    `${SUPPORTED_MAJORS[0]}–${SUPPORTED_MAJORS[SUPPORTED_MAJORS.length - 1]} only (embedded PostgreSQL of each in npm test), ` +
    `and Cloud SQL's standard support for ${info.major} ended on ${dayBefore(info.extendedSupportFrom)}; ` +
    `use one of ${supportedVersionIds().join(", ")}`
  );
}

function dayBefore(isoDate: string): string {
  return new Date(Date.parse(isoDate) - 86_400_000).toISOString().slice(0, 10);
}

/** Cloud SQL ids of the supported majors. */
export function supportedVersionIds(): string[] {
  return DATABASE_VERSIONS.filter((v) => (SUPPORTED_MAJORS as readonly number[]).includes(v.major)).map((v) => v.id);
}

/** Looks a version up by its Cloud SQL id. */
export function databaseVersion(id: string): DatabaseVersionInfo | undefined {
  return DATABASE_VERSIONS.find((v) => v.id === id);
}

/** True while `id` is in standard (not extended) support on `on`. */
export function inStandardSupport(id: string, on: Date = new Date()): boolean {
  const info = databaseVersion(id);
  return info !== undefined && on.getTime() < Date.parse(info.extendedSupportFrom);
}

export type Edition = "ENTERPRISE" | "ENTERPRISE_PLUS";

/** A machine tier: its edition and size. */
export interface TierInfo {
  readonly edition: Edition;
  readonly vcpus: number;
  readonly memoryGb: number;
}

/**
 * Enterprise Plus tiers: "db-perf-optimized-N-<vCPU>", 8 GB of memory per vCPU.
 * Source: Cloud SQL "Machine series overview", N2 performance-optimized series.
 */
const PERF_OPTIMIZED_VCPUS = [2, 4, 8, 16, 32, 48, 64, 80, 96, 128] as const;
const PERF_OPTIMIZED_GB_PER_VCPU = 8;

/**
 * Enterprise custom tiers: "db-custom-<vCPU>-<memory MB>". Cloud SQL allows 1 or
 * an even number of vCPUs up to 96, and 0.9 to 6.5 GB of memory per vCPU in
 * multiples of 256 MB. Source: Cloud SQL "Instance settings", machine types.
 */
const CUSTOM_MAX_VCPUS = 96;
const CUSTOM_MIN_GB_PER_VCPU = 0.9;
const CUSTOM_MAX_GB_PER_VCPU = 6.5;
const CUSTOM_MEMORY_STEP_MB = 256;

/** Parses a tier name; undefined when Cloud SQL has no such tier. */
export function tierInfo(tier: string): TierInfo | undefined {
  const perf = /^db-perf-optimized-N-(\d+)$/.exec(tier);
  if (perf) {
    const vcpus = Number(perf[1]);
    return (PERF_OPTIMIZED_VCPUS as readonly number[]).includes(vcpus)
      ? { edition: "ENTERPRISE_PLUS", vcpus, memoryGb: vcpus * PERF_OPTIMIZED_GB_PER_VCPU }
      : undefined;
  }
  const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
  if (custom) {
    const vcpus = Number(custom[1]);
    const memoryMb = Number(custom[2]);
    const gbPerVcpu = memoryMb / 1024 / vcpus;
    const vcpusOk = vcpus === 1 || (vcpus % 2 === 0 && vcpus <= CUSTOM_MAX_VCPUS);
    const memoryOk =
      memoryMb % CUSTOM_MEMORY_STEP_MB === 0 &&
      gbPerVcpu >= CUSTOM_MIN_GB_PER_VCPU &&
      gbPerVcpu <= CUSTOM_MAX_GB_PER_VCPU;
    return vcpusOk && memoryOk ? { edition: "ENTERPRISE", vcpus, memoryGb: memoryMb / 1024 } : undefined;
  }
  return undefined;
}

/** Human-readable list of the tier shapes, for error messages. */
export const TIER_HELP =
  `db-perf-optimized-N-{${PERF_OPTIMIZED_VCPUS.join(",")}} (ENTERPRISE_PLUS) or ` +
  `db-custom-<vCPUs: 1 or even ≤ ${CUSTOM_MAX_VCPUS}>-<memory MB: multiple of ${CUSTOM_MEMORY_STEP_MB}, ` +
  `${CUSTOM_MIN_GB_PER_VCPU}–${CUSTOM_MAX_GB_PER_VCPU} GB per vCPU> (ENTERPRISE)`;

/**
 * Longest transaction-log retention for point-in-time recovery, by edition.
 * Source: Cloud SQL "Point-in-time recovery": 1–7 days on Enterprise, 1–35 on
 * Enterprise Plus.
 */
export const MAX_LOG_RETENTION_DAYS: Readonly<Record<Edition, number>> = Object.freeze({
  ENTERPRISE: 7,
  ENTERPRISE_PLUS: 35,
});

/** Cloud SQL regions this project may deploy to (where Enterprise Plus is offered). */
export const REGIONS: readonly string[] = Object.freeze([
  "us-central1", "us-east1", "us-east4", "us-west1", "us-west2", "us-west4", "us-south1",
  "northamerica-northeast1", "southamerica-east1",
  "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-north1",
  "asia-east1", "asia-northeast1", "asia-south1", "asia-southeast1", "australia-southeast1",
]);
