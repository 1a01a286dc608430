/**
 * The one place that reads stack configuration. It turns the `lp-db:*` keys of
 * `Pulumi.<stack>.yaml` (with the defaults declared in `Pulumi.yaml`) into a
 * typed, frozen {@link StackConfig}. Components never read config themselves.
 *
 * Pulumi's project config schema only types strings, integers, booleans and
 * arrays, so named collections (replicas, IAM users, existing keys, flags,
 * labels) are arrays of small `name=value` strings, parsed and checked here.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  DATABASE_VERSIONS,
  MAX_LOG_RETENTION_DAYS,
  REGIONS,
  TIER_HELP,
  databaseVersion,
  tierInfo,
} from "./lib/cloudsql-catalog";
// Type-only: reading config loads no component (nor @pulumi/gcp).
import type { DayOfWeek, PrimaryInstanceArgs } from "./components/primary-instance";
import { iamLoginName, membershipProblems } from "./lib/migrate/validation";
import { flagOverrideProblems } from "./lib/database-flags";
import { MAX_KEY_ROTATION_DAYS, MAX_PSA_PREFIX, MAX_READ_POOL_NODES, MAX_RETAINED_BACKUPS, MIN_PSA_PREFIX } from "./lib/limits";

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "lp-db";

/** A prod stack needs this many in-region read replicas (or a read pool) to spread reads during a failover. */
export const PROD_MIN_READ_REPLICAS = 2;
/** Most read replicas one Cloud SQL primary may have. Source: Cloud SQL "About replication", quotas. */
export const MAX_READ_REPLICAS = 10;
/** Cloud SQL disk size limits, GB. Source: Cloud SQL "Quotas and limits" (64 TB). */
export const MIN_DISK_GB = 10;
export const MAX_DISK_GB = 65_536;
/** A prod stack keeps at least this many days of PITR logs, so a Monday can recover last Friday. */
export const PROD_MIN_LOG_RETENTION_DAYS = 7;

export type Environment = "prod" | "staging";

/** One read replica, keyed by its stable name in {@link StackConfig.replicas}. */
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

/** An IAM database user for a service account, keyed by a short role name (application, analytics). */
export interface IamUserConfig {
  /** Service account email. */
  readonly serviceAccount: string;
  /** Database group roles the reconcile step grants this login. */
  readonly groupRoles: readonly string[];
}

/** The validated configuration of one stack. */
export interface StackConfig {
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
  /** The primary's settings: PrimaryInstance's own args, but flags as overrides of the named flag set. */
  readonly instance: Pick<
    PrimaryInstanceArgs,
    | "databaseVersion"
    | "edition"
    | "tier"
    | "availabilityType"
    | "diskType"
    | "diskSizeGb"
    | "diskAutoresizeLimitGb"
    | "sslMode"
    | "maintenanceWindow"
    | "maintenanceUpdateTrack"
    | "denyMaintenancePeriod"
    | "backup"
    | "insights"
    | "pooling"
  > & {
    /** Flags that override or add to the named flag set. */
    readonly flags: Readonly<Record<string, string>>;
  };
  readonly replicas: Readonly<Record<string, ReplicaConfig>>;
  readonly readPool?: { readonly nodeCount: number; readonly maxNodeCount: number };
  readonly database: { readonly name: string; readonly migrationUser: string };
  readonly iamUsers: Readonly<Record<string, IamUserConfig>>;
  readonly capacity: {
    readonly appInstances: number;
    readonly poolSizePerInstance: number;
    readonly readPercent: number;
  };
  readonly backup: {
    readonly bucketLocation: string;
    readonly retentionDays: number;
    readonly lockRetention: boolean;
    readonly softDeleteDays: number;
    readonly exportSchedule: string;
    readonly exportTimeZone: string;
    readonly exportDatabases: readonly string[];
    readonly drillEnabled: boolean;
    /** RFC3339 UTC instant the drill recovers to; undefined for the latest recoverable point. */
    readonly drillPointInTime?: string;
    /** Row-count bounds of the key tables the drill checks, by table. */
    readonly drillRowBounds: Readonly<Record<string, { readonly min: number; readonly max?: number }>>;
    /** Changing it repeats the drill at the same point in time; undefined for none. */
    readonly drillRunId?: string;
  };
  readonly monitoring: {
    readonly warningEmails: readonly string[];
    readonly criticalEmails: readonly string[];
    readonly slackChannel?: string;
    /** Web address of docs/alerts.md in the repository browser; each alert policy links its response section there. */
    readonly alertsDocUrl?: string;
    /** Slack bot token; always a secret. */
    readonly slackAuthToken?: pulumi.Output<string>;
  };
  readonly migrations: {
    /** How `pulumi up` reaches the primary: a runner inside the VPC dials its private IP, or the Cloud SQL connector. */
    readonly connection: "direct" | "connector";
    readonly partitionMonthsAhead: number;
    readonly analyticsRetentionMonths: number;
    readonly auditRetentionMonths: number;
  };
}

// ---------------------------------------------------------------------------
// Parsing helpers for the `name=value` string arrays.

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const SA_EMAIL = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;
const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const FLAG_NAME = /^[a-z_][a-z0-9_.]*$/;

/** Splits "k=v" (first '=' only). */
function pair(entry: string): [string, string] | undefined {
  const at = entry.indexOf("=");
  return at > 0 ? [entry.slice(0, at).trim(), entry.slice(at + 1).trim()] : undefined;
}

function pairsToRecord(ctx: z.RefinementCtx, entries: readonly string[], keyPattern: RegExp, what: string) {
  const out: Record<string, string> = {};
  entries.forEach((entry, i) => {
    const kv = pair(entry);
    if (!kv || !keyPattern.test(kv[0]) || kv[1] === "") {
      ctx.addIssue({ code: "custom", path: [i], message: `expected "${what}"` });
    } else if (kv[0] in out) {
      ctx.addIssue({ code: "custom", path: [i], message: `"${kv[0]}" is listed twice` });
    } else {
      out[kv[0]] = kv[1];
    }
  });
  return out;
}

const pairList = (keyPattern: RegExp, what: string) =>
  list(z.string()).transform((entries, ctx) => pairsToRecord(ctx, entries, keyPattern, what));

const REPLICA_HELP =
  'expected "<name>" or "<name>:<key>=<value>,..." with keys region, tier, weight, dr (true|false) and flag.<name>';

/** Parses one replica entry, reporting each problem through `issue`. */
function parseReplica(entry: string, issue: (message: string) => void) {
  const colon = entry.indexOf(":");
  const [name, rest] = colon >= 0 ? [entry.slice(0, colon), entry.slice(colon + 1)] : [entry, ""];
  if (!NAME.test(name)) {
    issue(`replica name "${name}" must be lowercase letters, digits and hyphens; ${REPLICA_HELP}`);
    return undefined;
  }
  const spec: { region?: string; tier?: string; readWeight?: number; disasterRecovery: boolean; flags: Record<string, string> } = {
    disasterRecovery: false,
    flags: {},
  };
  for (const part of rest ? rest.split(",") : []) {
    const kv = pair(part);
    if (!kv) {
      issue(`"${part}": ${REPLICA_HELP}`);
      continue;
    }
    const [k, v] = kv;
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
  return { name, spec };
}

const IAM_USER_HELP = 'expected "<name>=<service-account-email>:<group_role>[+<group_role>...]"';

// ---------------------------------------------------------------------------
// The raw schema: one entry per `lp-db:*` key, exactly as Pulumi.yaml declares it.

// `pulumi up` hands non-string values to the program as JSON text; the offline
// plan and tests hand them over typed. Accept both, and nothing else.
const fromText = (parse: (text: string) => unknown) => (v: unknown) => {
  if (typeof v !== "string") return v;
  try {
    return parse(v);
  } catch {
    return v;
  }
};
const int = (min: number, max: number) =>
  z.preprocess(fromText((t) => (/^-?\d+$/.test(t) ? Number(t) : t)), z.number().int().min(min).max(max));
const bool = () => z.preprocess(fromText((t) => (t === "true" ? true : t === "false" ? false : t)), z.boolean());
const list = <T extends z.ZodType>(item: T) => z.preprocess(fromText((t) => (t.startsWith("[") ? JSON.parse(t) : t)), z.array(item));
const emails = list(z.string().regex(EMAIL, "not a valid email address"));

const rawSchema = z.object({
  environment: z.enum(["prod", "staging"]),
  namePrefix: z.string().regex(/^[a-z][-a-z0-9]{2,30}$/, "must be 3–31 lowercase letters, digits or hyphens, starting with a letter"),
  labels: pairList(/^[a-z][-_a-z0-9]{0,62}$/, "<label>=<value>"),
  existingNetwork: z.string(),
  pscRangePrefixLength: int(MIN_PSA_PREFIX, MAX_PSA_PREFIX),
  kmsExistingKeys: pairList(/^[a-z]+-[a-z]+\d$/, "<region>=projects/<p>/locations/<region>/keyRings/<r>/cryptoKeys/<k>"),
  kmsRotationDays: int(1, MAX_KEY_ROTATION_DAYS),
  databaseVersion: z.string().refine((v) => databaseVersion(v) !== undefined, {
    message: `not a PostgreSQL version Cloud SQL offers; allowed: ${DATABASE_VERSIONS.map((v) => v.id).join(", ")}`,
  }),
  edition: z.enum(["ENTERPRISE", "ENTERPRISE_PLUS"]),
  tier: z.string().refine((v) => tierInfo(v) !== undefined, { message: `unknown tier; expected ${TIER_HELP}` }),
  availabilityType: z.enum(["REGIONAL", "ZONAL"]),
  diskType: z.enum(["PD_SSD", "PD_HDD"]),
  diskSizeGb: int(MIN_DISK_GB, MAX_DISK_GB),
  diskAutoresizeLimitGb: int(0, MAX_DISK_GB),
  sslMode: z.enum(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"]),
  maintenanceWindow: z
    .string()
    .regex(/^(MON|TUE|WED|THU|FRI|SAT|SUN) ([01]\d|2[0-3]):00$/, 'expected "<MON..SUN> <HH>:00" in UTC, for example "SUN 03:00"'),
  maintenanceUpdateTrack: z.enum(["canary", "stable", "week5"]),
  denyMaintenancePeriod: z
    .string()
    .refine((v) => v === "" || /^\d{4}-\d{2}-\d{2}\/\d{4}-\d{2}-\d{2}$/.test(v), {
      message: 'expected "" or "<YYYY-MM-DD>/<YYYY-MM-DD>"',
    }),
  backupStartTime: z.string().regex(HHMM, 'expected "HH:MM" (24-hour, UTC)'),
  backupLocation: z.string(),
  pointInTimeRecovery: bool(),
  transactionLogRetentionDays: int(1, MAX_LOG_RETENTION_DAYS.ENTERPRISE_PLUS),
  retainedBackups: int(1, MAX_RETAINED_BACKUPS),
  queryInsightsPlansPerMinute: int(0, 20),
  queryStringLength: int(256, 4500),
  databaseFlags: pairList(FLAG_NAME, "<flag>=<value>"),
  connectionPooling: bool(),
  poolMode: z.enum(["transaction", "session"]),
  poolMaxClientConnections: int(1, 262_142),
  poolMaxPoolSize: int(1, 262_142),
  replicas: list(z.string()),
  readPoolNodeCount: int(0, MAX_READ_POOL_NODES),
  readPoolMaxNodeCount: int(0, MAX_READ_POOL_NODES),
  databaseName: z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier"),
  migrationUser: z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier"),
  iamUsers: list(z.string()),
  appInstances: int(1, 10_000),
  appPoolSize: int(1, 1_000),
  appReadPercent: int(0, 100),
  backupBucketLocation: z.string().regex(/^[A-Z0-9-]+$/i, "must be a Cloud Storage location such as US, NAM4 or US-CENTRAL1"),
  backupRetentionDays: int(1, 3650),
  backupBucketLocked: bool(),
  backupSoftDeleteDays: int(7, 90),
  exportSchedule: z
    .string()
    .regex(/^(\S+\s+){4}\S+$/, 'expected a five-field cron expression, for example "0 3 * * *"'),
  exportTimeZone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'expected an IANA time zone such as "Etc/UTC"'),
  exportDatabases: list(z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier")).refine((d) => d.length > 0, {
    message: "name at least one database",
  }),
  drillEnabled: bool(),
  drillPointInTime: z
    .string()
    .refine((v) => v === "" || (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(v) && !Number.isNaN(Date.parse(v))), {
      message: 'expected "" (latest) or an RFC3339 UTC timestamp such as "2026-11-20T03:15:00Z"',
    }),
  drillRunId: z.string().regex(/^([a-z0-9][-a-z0-9]{0,19})?$/, 'expected "" or up to 20 lowercase letters, digits or hyphens'),
  drillRowBounds: pairList(PG_IDENT, "<table>=<min> or <table>=<min>..<max>").transform((bounds, ctx) =>
    Object.fromEntries(
      Object.entries(bounds).map(([table, range], i) => {
        const m = /^(\d+)(?:\.\.(\d+))?$/.exec(range);
        if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
          ctx.addIssue({ code: "custom", path: [i], message: 'expected "<table>=<min>" or "<table>=<min>..<max>" with min ≤ max' });
          return [table, { min: 0 }];
        }
        return [table, m[2] === undefined ? { min: Number(m[1]) } : { min: Number(m[1]), max: Number(m[2]) }];
      }),
    ),
  ),
  alertEmails: emails,
  criticalEmails: emails,
  slackChannel: z.string().refine((v) => v === "" || /^#[-_a-z0-9]{1,80}$/.test(v), { message: 'expected "" or "#channel-name"' }),
  alertsDocUrl: z.string().refine((v) => v === "" || /^https:\/\/[^\s#]+$/.test(v), { message: 'expected "" or the https:// address of docs/alerts.md (no #anchor)' }),
  migrationConnection: z.enum(["direct", "connector"]),
  partitionMonthsAhead: int(1, 24),
  analyticsRetentionMonths: int(1, 120),
  auditRetentionMonths: int(12, 240),
});

type RawConfig = z.input<typeof rawSchema>;
/** Every `lp-db:*` key this program reads. Pulumi.yaml must declare exactly these. */
export const CONFIG_KEYS = Object.freeze(Object.keys(rawSchema.shape)) as readonly (keyof RawConfig)[];

/** Keys that hold secrets; read with `requireSecret`/`getSecret`. */
export const SECRET_KEYS = Object.freeze(["slackAuthToken"] as const);

/** Raised for any invalid stack configuration; the message names the key, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "(not set)";
  return JSON.stringify(typeof value === "string" && value.startsWith("[") ? safeJson(value) : value);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => {
    const node = typeof v === "string" && v.startsWith("[") ? safeJson(v) : v;
    return node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[k] : undefined;
  }, raw);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function keyName(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${PROJECT}:${String(head)}${rest.map((p) => `[${String(p)}]`).join("")}`;
}

/** Inputs to {@link parseStackConfig}. */
export interface ConfigSource {
  /** GCP project id (`gcp:project`). */
  readonly project: string | undefined;
  /** Default region (`gcp:region`). */
  readonly region: string | undefined;
  /** The `lp-db:*` values, already merged with Pulumi.yaml defaults. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The Slack token, if set (a secret). */
  readonly slackAuthToken?: pulumi.Output<string>;
}

/**
 * Validates raw values into a {@link StackConfig}. Pure, so tests can feed it
 * any value; {@link loadStackConfig} feeds it `pulumi.Config`.
 */
export function parseStackConfig(source: ConfigSource): StackConfig {
  const problems: string[] = [];
  if (!source.project || !/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(source.project)) {
    problems.push(`gcp:project = ${describe(source.project)}: set the GCP project id with "pulumi config set gcp:project <id>"`);
  }
  if (!source.region || !REGIONS.includes(source.region)) {
    problems.push(`gcp:region = ${describe(source.region)}: must be one of ${REGIONS.join(", ")}`);
  }
  const parsed = rawSchema.safeParse(source.values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${keyName(issue.path)} = ${describe(valueAt(source.values, issue.path))}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const raw = parsed.data;
  const region = source.region ?? "";
  const fail = (key: string, message: string) =>
    problems.push(`${PROJECT}:${key} = ${describe(valueAt(source.values, [key]))}: ${message}`);

  // Replicas: a named map, so removing one never renames the others.
  const replicas: Record<string, ReplicaConfig> = {};
  raw.replicas.forEach((entry, i) => {
    const parsedReplica = parseReplica(entry, (message) => problems.push(`${PROJECT}:replicas[${i}] = ${describe(entry)}: ${message}`));
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
    replicas[parsedReplica.name] = Object.freeze({
      region: replicaRegion,
      tier: spec.tier ?? raw.tier,
      // DR replicas serve no reads unless a weight is given: they are far away.
      readWeight: spec.readWeight ?? (spec.disasterRecovery ? 0 : 1),
      disasterRecovery: spec.disasterRecovery,
      flags: Object.freeze(spec.flags),
    });
  });
  if (Object.keys(replicas).length > MAX_READ_REPLICAS) {
    fail("replicas", `at most ${MAX_READ_REPLICAS} read replicas per primary`);
  }

  // Flag overrides that would log personal data or move pg_cron (lib/database-flags, same rule as resolveFlags).
  for (const problem of flagOverrideProblems(raw.databaseFlags, raw.databaseName)) fail("databaseFlags", problem);
  raw.replicas.forEach((entry, i) => {
    const name = entry.split(":")[0];
    for (const problem of flagOverrideProblems(replicas[name]?.flags ?? {}, raw.databaseName)) problems.push(`${PROJECT}:replicas[${i}] = ${describe(entry)}: ${problem}`);
  });

  // IAM database users.
  const iamUsers: Record<string, IamUserConfig> = {};
  raw.iamUsers.forEach((entry, i) => {
    const kv = pair(entry);
    const [sa, roles] = kv ? [kv[1].split(":")[0], kv[1].split(":")[1] ?? ""] : ["", ""];
    const groupRoles = roles.split("+").filter(Boolean);
    if (!kv || !NAME.test(kv[0]) || !SA_EMAIL.test(sa) || groupRoles.length === 0 || !groupRoles.every((r) => PG_IDENT.test(r))) {
      fail(`iamUsers[${i}]`, IAM_USER_HELP);
    } else if (kv[0] in iamUsers) {
      fail(`iamUsers[${i}]`, `"${kv[0]}" is listed twice`);
    } else if (membershipProblems({ [iamLoginName(sa)]: groupRoles }).length > 0) {
      // The rules the migrations provider's check and the reconcile apply (lib/migrate/validation).
      for (const p of membershipProblems({ [iamLoginName(sa)]: groupRoles })) fail(`iamUsers[${i}]`, p.reason);
    } else {
      iamUsers[kv[0]] = Object.freeze({ serviceAccount: sa, groupRoles: Object.freeze(groupRoles) });
    }
  });

  // Cross-field rules.
  const tier = tierInfo(raw.tier);
  if (tier && tier.edition !== raw.edition) {
    fail("tier", `tier is an ${tier.edition} tier but lp-db:edition is ${raw.edition}`);
  }
  for (const [name, r] of Object.entries(replicas)) {
    const t = tierInfo(r.tier);
    if (t && t.edition !== raw.edition) fail("replicas", `replica "${name}" tier ${r.tier} is not an ${raw.edition} tier`);
  }
  if (raw.transactionLogRetentionDays > MAX_LOG_RETENTION_DAYS[raw.edition]) {
    fail("transactionLogRetentionDays", `${raw.edition} keeps at most ${MAX_LOG_RETENTION_DAYS[raw.edition]} days of transaction logs`);
  }
  if (raw.sslMode === "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" && raw.migrationConnection !== "connector") {
    fail(
      "sslMode",
      'client certificates are required, but migrations connect directly with a password; set lp-db:migrationConnection to "connector" (the Cloud SQL connector presents a client certificate)',
    );
  }
  if (raw.connectionPooling && raw.edition !== "ENTERPRISE_PLUS") {
    fail("connectionPooling", "managed connection pooling needs lp-db:edition ENTERPRISE_PLUS");
  }
  if (raw.diskAutoresizeLimitGb !== 0 && raw.diskAutoresizeLimitGb < raw.diskSizeGb) {
    fail("diskAutoresizeLimitGb", `must be 0 (no limit) or at least lp-db:diskSizeGb (${raw.diskSizeGb})`);
  }
  if (raw.readPoolMaxNodeCount !== 0 && raw.readPoolMaxNodeCount < raw.readPoolNodeCount) {
    fail("readPoolMaxNodeCount", `must be 0 (no autoscaling) or at least lp-db:readPoolNodeCount (${raw.readPoolNodeCount})`);
  }
  if (raw.readPoolNodeCount > 0 && raw.edition !== "ENTERPRISE_PLUS") {
    fail("readPoolNodeCount", "read pools need lp-db:edition ENTERPRISE_PLUS");
  }
  const deny = raw.denyMaintenancePeriod ? raw.denyMaintenancePeriod.split("/") : undefined;
  if (deny && !(DATE.test(deny[0]) && DATE.test(deny[1]) && deny[0] < deny[1])) {
    fail("denyMaintenancePeriod", "the start date must come before the end date");
  }
  if (raw.exportDatabases.some((d) => d !== raw.databaseName)) {
    fail("exportDatabases", `may only name databases this stack creates (${raw.databaseName})`);
  }
  if (raw.backupBucketLocked && raw.environment !== "prod") {
    fail("backupBucketLocked", "only a prod stack locks its export bucket (Bucket Lock is irreversible and blocks deleting the stack)");
  }
  if (raw.drillPointInTime && Date.parse(raw.drillPointInTime) > Date.now()) {
    fail("drillPointInTime", "is in the future; pick a moment inside the point-in-time recovery window");
  }
  if (raw.environment === "prod") {
    const inRegionReaders = Object.values(replicas).filter((r) => !r.disasterRecovery).length;
    if (raw.availabilityType !== "REGIONAL") fail("availabilityType", "a prod stack must be REGIONAL (high availability)");
    if (inRegionReaders < PROD_MIN_READ_REPLICAS && raw.readPoolNodeCount < PROD_MIN_READ_REPLICAS) {
      fail("replicas", `a prod stack needs at least ${PROD_MIN_READ_REPLICAS} in-region read replicas or read-pool nodes`);
    }
    if (!raw.pointInTimeRecovery) fail("pointInTimeRecovery", "a prod stack must keep point-in-time recovery on");
    if (raw.transactionLogRetentionDays < PROD_MIN_LOG_RETENTION_DAYS) {
      fail("transactionLogRetentionDays", `a prod stack keeps at least ${PROD_MIN_LOG_RETENTION_DAYS} days`);
    }
    if (raw.criticalEmails.length === 0 && raw.slackChannel === "") {
      fail("criticalEmails", "a prod stack must route critical alerts to at least one email or lp-db:slackChannel");
    }
  }
  if (raw.slackChannel !== "" && !source.slackAuthToken) {
    problems.push(
      `${PROJECT}:slackAuthToken = (not set): lp-db:slackChannel is "${raw.slackChannel}", so set the bot token with ` +
        `"pulumi config set --secret lp-db:slackAuthToken <token>"`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const [windowDay, windowTime] = raw.maintenanceWindow.split(" ");
  return deepFreeze({
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
    instance: {
      databaseVersion: raw.databaseVersion,
      edition: raw.edition,
      tier: raw.tier,
      availabilityType: raw.availabilityType,
      diskType: raw.diskType,
      diskSizeGb: raw.diskSizeGb,
      diskAutoresizeLimitGb: raw.diskAutoresizeLimitGb,
      sslMode: raw.sslMode,
      maintenanceWindow: { day: windowDay as DayOfWeek, hour: Number(windowTime.slice(0, 2)) },
      maintenanceUpdateTrack: raw.maintenanceUpdateTrack,
      denyMaintenancePeriod: deny ? { startDate: deny[0], endDate: deny[1] } : undefined,
      backup: {
        startTime: raw.backupStartTime,
        location: raw.backupLocation || undefined,
        pointInTimeRecovery: raw.pointInTimeRecovery,
        transactionLogRetentionDays: raw.transactionLogRetentionDays,
        retainedBackups: raw.retainedBackups,
      },
      insights: { queryPlansPerMinute: raw.queryInsightsPlansPerMinute, queryStringLength: raw.queryStringLength },
      flags: raw.databaseFlags,
      pooling: {
        enabled: raw.connectionPooling,
        mode: raw.poolMode,
        maxClientConnections: raw.poolMaxClientConnections,
        maxPoolSize: raw.poolMaxPoolSize,
      },
    },
    replicas,
    readPool: raw.readPoolNodeCount > 0 ? { nodeCount: raw.readPoolNodeCount, maxNodeCount: raw.readPoolMaxNodeCount } : undefined,
    database: { name: raw.databaseName, migrationUser: raw.migrationUser },
    iamUsers,
    capacity: { appInstances: raw.appInstances, poolSizePerInstance: raw.appPoolSize, readPercent: raw.appReadPercent },
    backup: {
      bucketLocation: raw.backupBucketLocation,
      retentionDays: raw.backupRetentionDays,
      lockRetention: raw.backupBucketLocked,
      softDeleteDays: raw.backupSoftDeleteDays,
      exportSchedule: raw.exportSchedule,
      exportTimeZone: raw.exportTimeZone,
      exportDatabases: raw.exportDatabases,
      drillEnabled: raw.drillEnabled,
      drillPointInTime: raw.drillPointInTime || undefined,
      drillRowBounds: raw.drillRowBounds,
      drillRunId: raw.drillRunId || undefined,
    },
    monitoring: {
      warningEmails: raw.alertEmails,
      criticalEmails: raw.criticalEmails,
      slackChannel: raw.slackChannel || undefined,
      alertsDocUrl: raw.alertsDocUrl || undefined,
      slackAuthToken: source.slackAuthToken,
    },
    migrations: {
      connection: raw.migrationConnection,
      partitionMonthsAhead: raw.partitionMonthsAhead,
      analyticsRetentionMonths: raw.analyticsRetentionMonths,
      auditRetentionMonths: raw.auditRetentionMonths,
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads `pulumi.Config` once for the running stack and validates it. Throws
 * {@link ConfigError} before any resource is created.
 */
export function loadStackConfig(): StackConfig {
  const cfg = new pulumi.Config(PROJECT);
  const gcp = new pulumi.Config("gcp");
  const values: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const text = cfg.get(key);
    if (text !== undefined) values[key] = text;
  }
  return parseStackConfig({
    project: gcp.get("project"),
    region: gcp.get("region"),
    values,
    slackAuthToken: cfg.getSecret("slackAuthToken"),
  });
}
