/**
 * One named read replica of the primary: private IP only, TLS required,
 * encrypted with a key from its own region, deletion protection at both levels,
 * managed pooling, and its own tier and flags when overridden. A cross-region
 * replica marked `disasterRecovery` is the DR target: it matches the primary's
 * availability type so that a promoted replica is HA again.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { maxConnectionsOf, type FlagSet } from "../lib/database-flags";
import { instanceSettingsProblem, poolingInstanceArgs, replicaSettings, standbyFlagsProblem, type PrimaryInstance } from "./primary-instance";

/** Read weights are 0 (out of rotation) to 100, as lp-db:replicas allows. */
export const MAX_READ_WEIGHT = 100;

/** Arguments of {@link ReadReplica}. */
export interface ReadReplicaArgs {
  /** The primary to replicate. */
  readonly primary: PrimaryInstance;
  /** Cloud SQL instance name. */
  readonly instanceName: string;
  /** Region of the replica; a key for it must exist in the primary's EncryptionKeys. @default the primary's region */
  readonly region?: string;
  /** Machine tier. @default the primary's tier */
  readonly tier?: string;
  /** Share of reads relative to other readers; 0 keeps it out of rotation. @default 1 */
  readonly readWeight?: number;
  /** True for the cross-region disaster-recovery replica. @default false */
  readonly disasterRecovery?: boolean;
  /** Resolved flags of this replica (max_connections at least the primary's). @default the primary's flags */
  readonly flags?: FlagSet;
  /** REGIONAL or ZONAL. @default the primary's for a DR replica, ZONAL otherwise */
  readonly availabilityType?: "REGIONAL" | "ZONAL";
  /** Resources (enabled APIs) that must exist first. @default the primary's `requires` */
  readonly requires?: readonly pulumi.Resource[];
}

/** `lp:database:ReadReplica`: a named read replica. */
export class ReadReplica extends pulumi.ComponentResource {
  /** The Cloud SQL replica instance. */
  public readonly instance: gcp.sql.DatabaseInstance;
  /** Instance name. */
  public readonly instanceName: string;
  public readonly region: string;
  public readonly tier: string;
  public readonly readWeight: number;
  public readonly disasterRecovery: boolean;
  /** Effective max_connections. */
  public readonly maxConnections: number;
  public readonly connectionName: pulumi.Output<string>;
  public readonly privateIp: pulumi.Output<string>;
  /** The key that encrypts the replica (in its own region). */
  public readonly encryptionKeyName: pulumi.Output<string>;

  constructor(name: string, args: ReadReplicaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:database:ReadReplica", name, {}, opts);
    const p = args.primary.args;
    this.instanceName = args.instanceName;
    this.region = args.region ?? p.region;
    this.tier = args.tier ?? p.tier;
    this.readWeight = args.readWeight ?? 1;
    this.disasterRecovery = args.disasterRecovery ?? false;
    const flags = args.flags ?? args.primary.flags;
    const fail = (message: string) => {
      throw new pulumi.ResourceError(message, this);
    };
    const shared = instanceSettingsProblem({ edition: p.edition, tier: this.tier, sslMode: p.sslMode, pooling: p.pooling });
    if (shared) fail(shared);
    if (!Number.isInteger(this.readWeight) || this.readWeight < 0 || this.readWeight > MAX_READ_WEIGHT) {
      fail(`readWeight ${this.readWeight} must be an integer from 0 to ${MAX_READ_WEIGHT}`);
    }
    if (this.disasterRecovery && this.region === p.region) {
      fail(`disasterRecovery needs a region other than the primary's (${p.region})`);
    }
    const standby = standbyFlagsProblem(flags, args.primary.maxConnections);
    if (standby) fail(standby);
    if (args.instanceName === p.instanceName) fail(`instanceName ${args.instanceName} is the primary's name`);
    this.maxConnections = maxConnectionsOf(flags);
    this.encryptionKeyName = p.encryption.keyFor(this.region);
    const availabilityType = args.availabilityType ?? (this.disasterRecovery ? p.availabilityType : "ZONAL");

    this.instance = new gcp.sql.DatabaseInstance(
      `${name}-instance`,
      {
        project: p.project,
        name: args.instanceName,
        region: this.region,
        databaseVersion: p.databaseVersion,
        masterInstanceName: args.primary.instance.name,
        instanceType: "READ_REPLICA_INSTANCE",
        encryptionKeyName: this.encryptionKeyName,
        deletionProtection: true,
        ...poolingInstanceArgs(p.pooling),
        settings: {
          ...replicaSettings(p, { tier: this.tier, availabilityType, role: this.disasterRecovery ? "dr" : "read", flags }),
        },
      },
      {
        parent: this,
        protect: true,
        ignoreChanges: ["settings.diskSize"],
        dependsOn: [p.network.psaConnection, ...p.encryption.grantsFor(this.region), ...(args.requires ?? p.requires ?? [])],
      },
    );
    this.connectionName = this.instance.connectionName;
    this.privateIp = this.instance.privateIpAddress;
    this.registerOutputs({ connectionName: this.connectionName, privateIp: this.privateIp, readWeight: this.readWeight });
  }
}
