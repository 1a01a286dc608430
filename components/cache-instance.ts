/**
 * The platform's query cache: one Memorystore for Redis instance, reachable
 * only on the stack's private network, with AUTH, TLS that clients verify
 * against the instance's CA, and data encrypted with the stack's CMEK key.
 *
 * Why Memorystore for Redis and not Memorystore for Valkey: the stack reaches
 * its services through Private Service Access (components/network.ts), and
 * Memorystore for Redis connects over PSA (`connectMode:
 * PRIVATE_SERVICE_ACCESS`), while Memorystore for Valkey is reached only
 * through Private Service Connect endpoints, a second connectivity model to
 * run. Redis 7.2 also gives the standalone instance the client expects
 * (one primary endpoint, one read endpoint), where Valkey is cluster-shaped.
 * Sources: https://cloud.google.com/memorystore/docs/redis/networking
 * (connection modes), https://cloud.google.com/memorystore/docs/valkey/networking
 * (PSC only).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { PrivateNetwork } from "./network";
import type { DayOfWeek } from "./primary-instance";
import { ENCRYPTER_DECRYPTER_ROLE } from "./encryption";

/** Memorystore's weekly maintenance window names days in full. Source: provider resource_redis_instance.go, weekly_maintenance_window.day. */
const DAY_NAMES: Readonly<Record<DayOfWeek, string>> = Object.freeze({
  MON: "MONDAY",
  TUE: "TUESDAY",
  WED: "WEDNESDAY",
  THU: "THURSDAY",
  FRI: "FRIDAY",
  SAT: "SATURDAY",
  SUN: "SUNDAY",
});

/** Hours a day has; the cache's window follows the database's by one hour (see {@link CacheInstanceArgs.maintenanceWindow}). */
const HOURS_PER_DAY = 24;

/**
 * Connected clients one Memorystore for Redis node accepts (each of primary
 * and read replicas). Source: https://cloud.google.com/memorystore/docs/redis/quotas
 */
export const MAX_CLIENTS_PER_NODE = 65_000;

/** Arguments of {@link CacheInstance}. */
export interface CacheInstanceArgs {
  /** Project of the instance. */
  readonly project: string;
  /** Region of the instance (the primary database's). */
  readonly region: string;
  /** Instance id (lowercase letters, digits and hyphens). */
  readonly instanceName: string;
  /** The stack's network; the instance connects over its Private Service Access range. */
  readonly network: PrivateNetwork;
  /** CMEK key (full resource id) in {@link region}; the Memorystore service agent is granted on this key only. */
  readonly kmsKeyId: pulumi.Input<string>;
  /** BASIC (one node) or STANDARD_HA (a replica and automatic failover). */
  readonly tier: "BASIC" | "STANDARD_HA";
  /** Capacity, GB. */
  readonly memorySizeGb: number;
  /**
   * Read replicas behind the read endpoint (STANDARD_HA, 5 GB or more).
   * @default 0
   */
  readonly readReplicas?: number;
  /** Redis version, e.g. REDIS_7_2. */
  readonly redisVersion: string;
  /** `maxmemory-policy`: what Redis evicts when full. */
  readonly maxmemoryPolicy: string;
  /** RDB snapshot period (ONE_HOUR … TWENTY_FOUR_HOURS). */
  readonly rdbSnapshotPeriod: string;
  /**
   * The database's weekly maintenance window (UTC). The cache's is the hour
   * after it, so the platform never loses both at once.
   */
  readonly maintenanceWindow: { readonly day: DayOfWeek; readonly hour: number };
  /** Secret Manager secret id that holds the AUTH string. */
  readonly authSecretId: string;
  /**
   * Refuse `pulumi destroy` of the instance (prod).
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * Labels on the instance and the secret.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Resources to wait for, e.g. the APIs being enabled.
   * @default []
   */
  readonly requires?: readonly pulumi.Resource[];
}

/** `lp:cache:CacheInstance`: a private, encrypted, authenticated Memorystore for Redis instance. */
export class CacheInstance extends pulumi.ComponentResource {
  public readonly instance: gcp.redis.Instance;
  /** Primary endpoint. */
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  /** Read endpoint (read replicas); undefined without them. */
  public readonly readEndpoint?: pulumi.Output<{ host: string; port: number }>;
  /** PEM of the CA that signs the server's TLS certificate: clients verify against it. */
  public readonly caCert: pulumi.Output<string>;
  /** Secret Manager secret holding the AUTH string (its id only; the value never leaves Secret Manager and the state's secrets). */
  public readonly authSecretId: pulumi.Output<string>;
  /** Full resource name, the `instance_id` label of its metrics. */
  public readonly resourceName: pulumi.Output<string>;
  /** Connected clients the instance accepts per node. */
  public readonly maxClients: number;

  constructor(name: string, args: CacheInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:cache:CacheInstance", name, {}, opts);
    const readReplicas = args.readReplicas ?? 0;
    if (readReplicas > 0 && args.tier !== "STANDARD_HA") {
      throw new pulumi.ResourceError(`readReplicas = ${readReplicas} with tier ${args.tier}: read replicas need STANDARD_HA`, this);
    }
    if (!Number.isInteger(args.maintenanceWindow.hour) || args.maintenanceWindow.hour < 0 || args.maintenanceWindow.hour >= HOURS_PER_DAY) {
      throw new pulumi.ResourceError(`maintenanceWindow.hour = ${args.maintenanceWindow.hour}: must be 0-23 (UTC)`, this);
    }
    const requires = args.requires ?? [];

    // The Memorystore service agent encrypts with the key; grant it on this key only.
    // Source: https://cloud.google.com/memorystore/docs/redis/cmek (service-<number>@cloud-redis.iam.gserviceaccount.com).
    const agent = new gcp.projects.ServiceIdentity(`${name}-agent`, { project: args.project, service: "redis.googleapis.com" }, { parent: this, dependsOn: [...requires] });
    const grant = new gcp.kms.CryptoKeyIAMMember(
      `${name}-encrypter`,
      { cryptoKeyId: args.kmsKeyId, role: ENCRYPTER_DECRYPTER_ROLE, member: agent.member },
      { parent: this },
    );

    const { day, hour } = args.maintenanceWindow;
    const days = Object.keys(DAY_NAMES) as DayOfWeek[];
    const windowDay = hour + 1 < HOURS_PER_DAY ? day : days[(days.indexOf(day) + 1) % days.length];
    const windowHour = (hour + 1) % HOURS_PER_DAY;
    this.instance = new gcp.redis.Instance(
      `${name}-redis`,
      {
        project: args.project,
        region: args.region,
        name: args.instanceName,
        displayName: args.instanceName,
        tier: args.tier,
        memorySizeGb: args.memorySizeGb,
        redisVersion: args.redisVersion,
        // Private only: an address from the stack's PSA range, no public endpoint exists for Memorystore.
        // Source: https://cloud.google.com/memorystore/docs/redis/networking
        connectMode: "PRIVATE_SERVICE_ACCESS",
        authorizedNetwork: args.network.networkSelfLink,
        authEnabled: true,
        // Clients verify the server against serverCaCerts. Source: https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        customerManagedKey: args.kmsKeyId,
        replicaCount: args.tier === "STANDARD_HA" ? Math.max(1, readReplicas) : undefined,
        readReplicasMode: readReplicas > 0 ? "READ_REPLICAS_ENABLED" : "READ_REPLICAS_DISABLED",
        redisConfigs: { "maxmemory-policy": args.maxmemoryPolicy },
        persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: args.rdbSnapshotPeriod },
        maintenancePolicy: {
          weeklyMaintenanceWindows: [{ day: DAY_NAMES[windowDay], startTime: { hours: windowHour, minutes: 0, seconds: 0, nanos: 0 } }],
        },
        deletionProtection: args.deletionProtection ?? false,
        labels: { ...(args.labels ?? {}) },
      },
      { parent: this, dependsOn: [args.network.psaConnection, grant, ...requires], additionalSecretOutputs: ["authString"] },
    );

    const secret = new gcp.secretmanager.Secret(
      `${name}-auth-secret`,
      { project: args.project, secretId: args.authSecretId, replication: { auto: {} }, labels: { ...(args.labels ?? {}) } },
      { parent: this, dependsOn: [...requires] },
    );
    new gcp.secretmanager.SecretVersion(`${name}-auth-secret-version`, { secret: secret.id, secretData: pulumi.secret(this.instance.authString) }, { parent: this });

    this.host = this.instance.host;
    this.port = this.instance.port;
    this.readEndpoint = readReplicas > 0 ? pulumi.all([this.instance.readEndpoint, this.instance.readEndpointPort]).apply(([host, port]) => ({ host, port })) : undefined;
    this.caCert = this.instance.serverCaCerts.apply((certs) => (certs ?? []).map((c) => c.cert).join(""));
    this.authSecretId = secret.id;
    this.resourceName = pulumi.interpolate`projects/${args.project}/locations/${args.region}/instances/${args.instanceName}`;
    this.maxClients = MAX_CLIENTS_PER_NODE;

    this.registerOutputs({ host: this.host, port: this.port, caCert: this.caCert, authSecretId: this.authSecretId, resourceName: this.resourceName });
  }
}
