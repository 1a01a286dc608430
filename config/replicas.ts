/**
 * Config area: read capacity — named read replicas (one may be a cross-region
 * DR replica) and the read pool.
 */
import { z } from "zod";
import { REGIONS, TIER_HELP, tierInfo } from "../lib/cloudsql-catalog";
import { MAX_READ_POOL_NODES } from "../lib/limits";
import { FLAG_NAME, NAME, describe, int, list, pair, PROJECT, type AreaContext } from "./common";
import type { RawConfig } from "./schema";
import { flagOverrideProblems } from "../lib/database-flags";

/** A prod stack needs this many in-region read replicas (or a read pool) to spread reads during a failover. */
export const PROD_MIN_READ_REPLICAS = 2;
/** Most read replicas one Cloud SQL primary may have. Source: Cloud SQL "About replication", quotas. */
export const MAX_READ_REPLICAS = 10;

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const replicaKeys = {
  replicas: list(z.string()),
  readPoolNodeCount: int(0, MAX_READ_POOL_NODES),
  readPoolMaxNodeCount: int(0, MAX_READ_POOL_NODES),
};

/** One read replica, keyed by its stable name in {@link ReplicasConfig.replicas}. */
export interface ReplicaConfig {
  /** Region of the replica; the primary's region unless overridden. */
  readonly region: string;
  /** Machine tier; the primary's unless overridden. */
  readonly tier: string;
  /** Share of read traffic sent here, relative to the other replicas' weights. 0 keeps it out of rotation. */
  readonly readWeight: number;
  /** True for a cross-region disaster-recovery replica. */
  readonly disasterRecovery: boolean;
  /** Flags that override or add to the primary's for this replica. */
  readonly flags: Readonly<Record<string, string>>;
}

/** This area's part of the stack config. */
export interface ReplicasConfig {
  readonly replicas: Readonly<Record<string, ReplicaConfig>>;
  readonly readPool?: { readonly nodeCount: number; readonly maxNodeCount: number };
}

const REPLICA_HELP =
  'expected "<name>" or "<name>:<key>=<value>,..." with keys region, tier, weight, dr (true|false) and flag.<name>';

interface ReplicaSpec {
  region?: string;
  tier?: string;
  readWeight?: number;
  disasterRecovery: boolean;
  flags: Record<string, string>;
}

/** Applies one `key=value` of a replica entry to its spec, reporting a bad one through `issue`. */
function applyReplicaKey(spec: ReplicaSpec, k: string, v: string, issue: (message: string) => void): void {
  if (k === "region") {
    if (!REGIONS.includes(v)) issue(`region "${v}" is not one of: ${REGIONS.join(", ")}`);
    spec.region = v;
  } else if (k === "tier") {
    if (!tierInfo(v)) issue(`tier "${v}" is not a Cloud SQL tier; expected ${TIER_HELP}`);
    spec.tier = v;
  } else if (k === "weight") {
    const w = Number(v);
    if (!Number.isInteger(w) || w < 0 || w > 100) issue(`weight "${v}" must be an integer from 0 to 100`);
    spec.readWeight = w;
  } else if (k === "dr") {
    if (v !== "true" && v !== "false") issue(`dr "${v}" must be true or false`);
    spec.disasterRecovery = v === "true";
  } else if (k.startsWith("flag.") && FLAG_NAME.test(k.slice(5))) {
    spec.flags[k.slice(5)] = v;
  } else {
    issue(`unknown replica key "${k}"; ${REPLICA_HELP}`);
  }
}

/** Parses one replica entry, reporting each problem through `issue`. */
function parseReplica(entry: string, issue: (message: string) => void) {
  const colon = entry.indexOf(":");
  const [name, rest] = colon >= 0 ? [entry.slice(0, colon), entry.slice(colon + 1)] : [entry, ""];
  if (!NAME.test(name)) {
    issue(`replica name "${name}" must be lowercase letters, digits and hyphens; ${REPLICA_HELP}`);
    return undefined;
  }
  const spec: ReplicaSpec = { disasterRecovery: false, flags: {} };
  for (const part of rest ? rest.split(",") : []) {
    const kv = pair(part);
    if (kv) applyReplicaKey(spec, kv[0], kv[1], issue);
    else issue(`"${part}": ${REPLICA_HELP}`);
  }
  return { name, spec };
}

/** Replicas as a named map, so removing one never renames the others. */
function namedReplicas({ raw, region, fail, problem }: AreaContext<RawConfig>): Record<string, ReplicaConfig> {
  const replicas: Record<string, ReplicaConfig> = {};
  raw.replicas.forEach((entry, i) => {
    const parsedReplica = parseReplica(entry, (message) => problem(`${PROJECT}:replicas[${i}] = ${describe(entry)}: ${message}`));
    if (!parsedReplica) return;
    if (parsedReplica.name in replicas) {
      fail("replicas", `replica "${parsedReplica.name}" is listed twice`);
      return;
    }
    const { spec } = parsedReplica;
    const replicaRegion = spec.region ?? region;
    if (spec.disasterRecovery && replicaRegion === region) {
      fail("replicas", `DR replica "${parsedReplica.name}" must set region= to a region other than the primary's (${region})`);
    }
    // Overrides that would log personal data or move pg_cron (lib/database-flags, the rule resolveFlags applies).
    for (const p of flagOverrideProblems(spec.flags, raw.databaseName)) problem(`${PROJECT}:replicas[${i}] = ${describe(entry)}: ${p}`);
    replicas[parsedReplica.name] = Object.freeze({
      region: replicaRegion,
      tier: spec.tier ?? raw.tier,
      // DR replicas serve no reads unless a weight is given: they are far away.
      readWeight: spec.readWeight ?? (spec.disasterRecovery ? 0 : 1),
      disasterRecovery: spec.disasterRecovery,
      flags: Object.freeze(spec.flags),
    });
  });
  return replicas;
}

export function parseReplicas(ctx: AreaContext<RawConfig>): ReplicasConfig {
  const { raw, fail } = ctx;
  const replicas = namedReplicas(ctx);
  if (Object.keys(replicas).length > MAX_READ_REPLICAS) {
    fail("replicas", `at most ${MAX_READ_REPLICAS} read replicas per primary`);
  }
  for (const [name, r] of Object.entries(replicas)) {
    const t = tierInfo(r.tier);
    if (t && t.edition !== raw.edition) fail("replicas", `replica "${name}" tier ${r.tier} is not an ${raw.edition} tier`);
  }
  if (raw.readPoolMaxNodeCount !== 0 && raw.readPoolMaxNodeCount < raw.readPoolNodeCount) {
    fail("readPoolMaxNodeCount", `must be 0 (no autoscaling) or at least lp-db:readPoolNodeCount (${raw.readPoolNodeCount})`);
  }
  if (raw.readPoolNodeCount > 0 && raw.edition !== "ENTERPRISE_PLUS") {
    fail("readPoolNodeCount", "read pools need lp-db:edition ENTERPRISE_PLUS");
  }
  if (raw.environment === "prod") {
    const inRegionReaders = Object.values(replicas).filter((r) => !r.disasterRecovery).length;
    if (inRegionReaders < PROD_MIN_READ_REPLICAS && raw.readPoolNodeCount < PROD_MIN_READ_REPLICAS) {
      fail("replicas", `a prod stack needs at least ${PROD_MIN_READ_REPLICAS} in-region read replicas or read-pool nodes`);
    }
  }
  return {
    replicas,
    readPool: raw.readPoolNodeCount > 0 ? { nodeCount: raw.readPoolNodeCount, maxNodeCount: raw.readPoolMaxNodeCount } : undefined,
  };
}
