/**
 * Config area: where the stack lives — environment, names and labels, network
 * and encryption keys.
 */
import { z } from "zod";
import { REGIONS } from "../lib/cloudsql-catalog";
import { MAX_KEY_ROTATION_DAYS, MAX_PSA_PREFIX, MIN_PSA_PREFIX } from "../lib/limits";
import { describe, int, pairList, type AreaContext, type ConfigSource } from "./common";
import type { RawConfig } from "./schema";

export type Environment = "prod" | "staging";

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const platformKeys = {
  environment: z.enum(["prod", "staging"]),
  namePrefix: z.string().regex(/^[a-z][-a-z0-9]{2,30}$/, "must be 3–31 lowercase letters, digits or hyphens, starting with a letter"),
  labels: pairList(/^[a-z][-_a-z0-9]{0,62}$/, "<label>=<value>"),
  existingNetwork: z.string(),
  pscRangePrefixLength: int(MIN_PSA_PREFIX, MAX_PSA_PREFIX),
  kmsExistingKeys: pairList(/^[a-z]+-[a-z]+\d$/, "<region>=projects/<p>/locations/<region>/keyRings/<r>/cryptoKeys/<k>"),
  kmsRotationDays: int(1, MAX_KEY_ROTATION_DAYS),
};

/** This area's part of the stack config. */
export interface PlatformConfig {
  readonly project: string;
  readonly region: string;
  readonly environment: Environment;
  readonly namePrefix: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly network: {
    /** Existing VPC name or self link; undefined to create one. */
    readonly existingNetwork?: string;
    readonly pscRangePrefixLength: number;
  };
  readonly encryption: {
    /** Existing KMS keys by region; regions not listed get a key ring and key created. */
    readonly existingKeys: Readonly<Record<string, string>>;
    readonly rotationDays: number;
  };
}

/** Checks `gcp:project` and `gcp:region`, which live outside the `lp-db` namespace. */
export function gcpProblems(source: ConfigSource): string[] {
  const problems: string[] = [];
  if (!source.project || !/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(source.project)) {
    problems.push(`gcp:project = ${describe(source.project)}: set the GCP project id with "pulumi config set gcp:project <id>"`);
  }
  if (!source.region || !REGIONS.includes(source.region)) {
    problems.push(`gcp:region = ${describe(source.region)}: must be one of ${REGIONS.join(", ")}`);
  }
  return problems;
}

export function parsePlatform({ raw, region, source }: AreaContext<RawConfig>): PlatformConfig {
  return {
    project: source.project as string,
    region,
    environment: raw.environment,
    namePrefix: raw.namePrefix,
    labels: { ...raw.labels, environment: raw.environment, "managed-by": "pulumi" },
    network: {
      existingNetwork: raw.existingNetwork || undefined,
      pscRangePrefixLength: raw.pscRangePrefixLength,
    },
    encryption: { existingKeys: raw.kmsExistingKeys, rotationDays: raw.kmsRotationDays },
  };
}
