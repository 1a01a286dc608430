/**
 * The stack's `connectionManifest` output: its type (the Pulumi program
 * produces it, this package consumes it) and a validating reader that names
 * the bad field. Types only, so the Pulumi side can import it without pulling
 * in the client's runtime dependencies.
 */
import * as fs from "fs";

/** The primary: takes every write. */
export interface ManifestPrimary {
  readonly instanceName: string;
  readonly connectionName: string;
  readonly privateIp: string;
  readonly region: string;
  readonly maxConnections: number;
}

/** A named read replica; `readWeight` 0 (the DR replica) gets reads only when nothing else is up. */
export interface ManifestReplica {
  readonly instanceName: string;
  readonly connectionName: string;
  readonly privateIp: string;
  readonly region: string;
  readonly readWeight: number;
  readonly disasterRecovery: boolean;
  readonly maxConnections: number;
}

/** The optional Cloud SQL read pool (one endpoint in front of several nodes). */
export interface ManifestReadPool {
  readonly instanceName: string;
  readonly connectionName: string;
  readonly privateIp: string;
  readonly readWeight: number;
  readonly nodeCount: number;
  readonly maxNodeCount: number;
}

/** Connection budget per application instance, from lib/connection-budget.ts. */
export interface ManifestPools {
  readonly managedPooling: boolean;
  readonly poolMode: string;
  readonly maxClientConnectionsPerInstance: number;
  readonly maxPoolSize: number;
  readonly appPoolSizePerInstance: number;
  readonly appWritePoolPerInstance: number;
  readonly appReadPoolPerInstance: number;
}

/** Cache lifetimes in seconds: l1 hot and volatile, l2 per-user, l3 slow-changing catalog data. */
export interface CacheTtlTiers {
  readonly l1: number;
  readonly l2: number;
  readonly l3: number;
}

/** A Redis endpoint. */
export interface CacheEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * The Memorystore cache. The AUTH string is never here: `authSecretId` names
 * the Secret Manager secret, and the application reads it at runtime.
 */
export interface ManifestCache {
  /** Primary endpoint (reads and writes). */
  readonly host: string;
  readonly port: number;
  /** Read endpoint (STANDARD_HA with read replicas); null when the tier has none (read from host/port). */
  readonly readEndpoint: CacheEndpoint | null;
  /** PEM of the server CA chain for in-transit encryption (server authentication). */
  readonly caCert: string;
  /** Secret Manager id (`projects/<p>/secrets/<s>`) holding the AUTH string. */
  readonly authSecretId: string;
  /** TTL tiers in seconds; the platform's are { l1: 60, l2: 300, l3: 1800 }. */
  readonly ttlSeconds: CacheTtlTiers;
}

/** The whole manifest. `cache` is null on a stack without a cache tier. */
export interface ConnectionManifest {
  readonly databaseName: string;
  readonly primary: ManifestPrimary;
  readonly replicas: Readonly<Record<string, ManifestReplica>>;
  readonly readPool: ManifestReadPool | null;
  readonly pools: ManifestPools;
  readonly clientCapacity: { readonly total: number; readonly usable: number };
  readonly migrationUser: { readonly name: string; readonly passwordSecretId: string };
  readonly iamLogins: Readonly<Record<string, string>>;
  readonly cache: ManifestCache | null;
}

/** The platform's TTL tiers (seed write-up, "Multi-level caching"). */
export const DEFAULT_TTL_TIERS: CacheTtlTiers = Object.freeze({ l1: 60, l2: 300, l3: 1800 });

/** Thrown for a manifest that does not match the type; `field` is the dotted path. */
export class ManifestError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`connectionManifest.${field}: ${problem}`);
    this.name = "ManifestError";
  }
}

type Obj = Record<string, unknown>;

const fieldPath = (at: string, key: string): string => (at ? `${at}.${key}` : key);

function obj(v: unknown, field: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ManifestError(field, `expected an object, got ${describe(v)}`);
  return v as Obj;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing (the field is missing)";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}` : `${typeof v} ${String(v)}`;
}

function str(o: Obj, key: string, at: string): string {
  const v = o[key];
  if (typeof v !== "string" || v.trim() === "") throw new ManifestError(fieldPath(at, key), `expected a non-empty string, got ${describe(v)}`);
  return v;
}

function int(o: Obj, key: string, at: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ManifestError(fieldPath(at, key), `expected an integer from ${min} to ${max}, got ${describe(v)}`);
  return v;
}

function bool(o: Obj, key: string, at: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new ManifestError(fieldPath(at, key), `expected true or false, got ${describe(v)}`);
  return v;
}

function weight(o: Obj, key: string, at: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ManifestError(fieldPath(at, key), `expected a number ≥ 0, got ${describe(v)}`);
  return v;
}

const TCP_PORT_MAX = 65_535;
const SECRET_ID = /^projects\/[^/]+\/secrets\/[^/]+$/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

function readCache(v: unknown): ManifestCache | null {
  if (v === null || v === undefined) return null;
  const c = obj(v, "cache");
  const re = c.readEndpoint === null || c.readEndpoint === undefined ? null : obj(c.readEndpoint, "cache.readEndpoint");
  const ttl = obj(c.ttlSeconds, "cache.ttlSeconds");
  const authSecretId = str(c, "authSecretId", "cache");
  if (!SECRET_ID.test(authSecretId)) throw new ManifestError("cache.authSecretId", "expected a Secret Manager id projects/<project>/secrets/<name> (the AUTH string itself never belongs in the manifest)");
  const caCert = str(c, "caCert", "cache");
  if (!PEM_CERT.test(caCert)) throw new ManifestError("cache.caCert", "expected a PEM certificate (-----BEGIN CERTIFICATE----- …)");
  const tiers = { l1: int(ttl, "l1", "cache.ttlSeconds", 1), l2: int(ttl, "l2", "cache.ttlSeconds", 1), l3: int(ttl, "l3", "cache.ttlSeconds", 1) };
  if (!(tiers.l1 <= tiers.l2 && tiers.l2 <= tiers.l3)) throw new ManifestError("cache.ttlSeconds", `expected l1 ≤ l2 ≤ l3, got ${tiers.l1}/${tiers.l2}/${tiers.l3}`);
  return {
    host: str(c, "host", "cache"),
    port: int(c, "port", "cache", 1, TCP_PORT_MAX),
    readEndpoint: re && { host: str(re, "host", "cache.readEndpoint"), port: int(re, "port", "cache.readEndpoint", 1, TCP_PORT_MAX) },
    caCert,
    authSecretId,
    ttlSeconds: tiers,
  };
}

/** Validates a manifest object (a StackReference output's value, or parsed JSON) and returns it typed and frozen. */
export function parseManifest(value: unknown): ConnectionManifest {
  const m = obj(value, "(root)");
  const p = obj(m.primary, "primary");
  const replicas: Record<string, ManifestReplica> = {};
  for (const [name, rv] of Object.entries(obj(m.replicas, "replicas"))) {
    const at = `replicas.${name}`;
    const r = obj(rv, at);
    replicas[name] = Object.freeze({
      instanceName: str(r, "instanceName", at),
      connectionName: str(r, "connectionName", at),
      privateIp: str(r, "privateIp", at),
      region: str(r, "region", at),
      readWeight: weight(r, "readWeight", at),
      disasterRecovery: bool(r, "disasterRecovery", at),
      maxConnections: int(r, "maxConnections", at, 1),
    });
    if (replicas[name].disasterRecovery && replicas[name].readWeight !== 0)
      throw new ManifestError(`${at}.readWeight`, `a disaster-recovery replica takes no regular reads: expected 0, got ${replicas[name].readWeight}`);
  }
  let readPool: ManifestReadPool | null = null;
  if (m.readPool !== null && m.readPool !== undefined) {
    const r = obj(m.readPool, "readPool");
    readPool = Object.freeze({
      instanceName: str(r, "instanceName", "readPool"),
      connectionName: str(r, "connectionName", "readPool"),
      privateIp: str(r, "privateIp", "readPool"),
      readWeight: weight(r, "readWeight", "readPool"),
      nodeCount: int(r, "nodeCount", "readPool", 1),
      maxNodeCount: int(r, "maxNodeCount", "readPool", 1),
    });
  }
  const pl = obj(m.pools, "pools");
  const cap = obj(m.clientCapacity, "clientCapacity");
  const mu = obj(m.migrationUser, "migrationUser");
  const iam: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(m.iamLogins ?? {}, "iamLogins"))) {
    if (typeof v !== "string" || v === "") throw new ManifestError(`iamLogins.${k}`, `expected a non-empty string, got ${describe(v)}`);
    iam[k] = v;
  }
  return Object.freeze({
    databaseName: str(m, "databaseName", ""),
    primary: Object.freeze({
      instanceName: str(p, "instanceName", "primary"),
      connectionName: str(p, "connectionName", "primary"),
      privateIp: str(p, "privateIp", "primary"),
      region: str(p, "region", "primary"),
      maxConnections: int(p, "maxConnections", "primary", 1),
    }),
    replicas: Object.freeze(replicas),
    readPool,
    pools: Object.freeze({
      managedPooling: bool(pl, "managedPooling", "pools"),
      poolMode: str(pl, "poolMode", "pools"),
      maxClientConnectionsPerInstance: int(pl, "maxClientConnectionsPerInstance", "pools", 0),
      maxPoolSize: int(pl, "maxPoolSize", "pools", 0),
      appPoolSizePerInstance: int(pl, "appPoolSizePerInstance", "pools", 1),
      appWritePoolPerInstance: int(pl, "appWritePoolPerInstance", "pools", 1),
      appReadPoolPerInstance: int(pl, "appReadPoolPerInstance", "pools", 1),
    }),
    clientCapacity: Object.freeze({ total: int(cap, "total", "clientCapacity", 0), usable: int(cap, "usable", "clientCapacity", 0) }),
    migrationUser: Object.freeze({ name: str(mu, "name", "migrationUser"), passwordSecretId: str(mu, "passwordSecretId", "migrationUser") }),
    iamLogins: Object.freeze(iam),
    cache: readCache(m.cache),
  });
}

/** Reads and validates a manifest from a JSON file (`pulumi stack output connectionManifest --json > file`). */
export function readManifestFile(file: string): ConnectionManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`connectionManifest: cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`connectionManifest: ${file} is not JSON (${(err as Error).message}); write it with \`pulumi stack output connectionManifest --json\``);
  }
  return parseManifest(value);
}
