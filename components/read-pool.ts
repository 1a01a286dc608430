/**
 * A Cloud SQL read pool (Enterprise Plus): one load-balanced read endpoint in
 * front of 1–20 read nodes, with a fixed node count or autoscaling between the
 * node count and a ceiling. An alternative to, or a companion of, named replicas.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { maxConnectionsOf, type FlagSet } from "../lib/database-flags";
import { MAX_READ_POOL_NODES } from "../lib/limits";
import { instanceSettingsProblem, poolingInstanceArgs, replicaSettings, standbyFlagsProblem, type PrimaryInstance } from "./primary-instance";

/** Autoscaling keeps average CPU near half, leaving room for a node's failure. Cloud SQL allows 0.1–0.9 ("Read pool autoscaling"). */
export const AUTOSCALE_CPU_TARGET = 0.5;
/** Cooldowns between scaling steps, seconds; Cloud SQL's documented example values ("Read pool autoscaling"). */
export const SCALE_COOLDOWN_SECONDS = 600;

/** Arguments of {@link ReadPool}. */
export interface ReadPoolArgs {
  /** The primary to replicate. */
  readonly primary: PrimaryInstance;
  /** Cloud SQL instance name of the pool. */
  readonly instanceName: string;
  /** Nodes (with autoscaling: the minimum). */
  readonly nodeCount: number;
  /** Autoscaling ceiling; 0 turns autoscaling off. @default 0 */
  readonly maxNodeCount?: number;
  /** Share of reads relative to other readers. @default nodeCount (each node weighs like one replica) */
  readonly readWeight?: number;
  /** Machine tier of each node. @default the primary's tier */
  readonly tier?: string;
  /** Resolved flags. @default the primary's flags */
  readonly flags?: FlagSet;
}

/** `lp:database:ReadPool`: a read pool instance in the primary's region. */
export class ReadPool extends pulumi.ComponentResource {
  /** The read pool instance. */
  public readonly instance: gcp.sql.DatabaseInstance;
  public readonly instanceName: string;
  public readonly region: string;
  public readonly tier: string;
  public readonly nodeCount: number;
  public readonly maxNodeCount: number;
  public readonly readWeight: number;
  public readonly maxConnections: number;
  public readonly connectionName: pulumi.Output<string>;
  /** The pool's load-balanced private IP. */
  public readonly privateIp: pulumi.Output<string>;
  public readonly encryptionKeyName: pulumi.Output<string>;

  constructor(name: string, args: ReadPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:database:ReadPool", name, {}, opts);
    const p = args.primary.args;
    const fail = (message: string) => {
      throw new pulumi.ResourceError(message, this);
    };
    this.instanceName = args.instanceName;
    this.region = p.region;
    this.tier = args.tier ?? p.tier;
    this.nodeCount = args.nodeCount;
    this.maxNodeCount = args.maxNodeCount ?? 0;
    this.readWeight = args.readWeight ?? args.nodeCount;
    const flags = args.flags ?? args.primary.flags;
    if (p.edition !== "ENTERPRISE_PLUS") fail("read pools need the primary's edition to be ENTERPRISE_PLUS");
    const shared = instanceSettingsProblem({ edition: p.edition, tier: this.tier, sslMode: p.sslMode, pooling: p.pooling });
    if (shared) fail(shared);
    if (!Number.isInteger(this.nodeCount) || this.nodeCount < 1 || this.nodeCount > MAX_READ_POOL_NODES) {
      fail(`nodeCount ${this.nodeCount} must be 1 to ${MAX_READ_POOL_NODES}`);
    }
    if (this.maxNodeCount !== 0 && (this.maxNodeCount < this.nodeCount || this.maxNodeCount > MAX_READ_POOL_NODES)) {
      fail(`maxNodeCount ${this.maxNodeCount} must be 0 (no autoscaling) or ${this.nodeCount} to ${MAX_READ_POOL_NODES}`);
    }
    const standby = standbyFlagsProblem(flags, args.primary.maxConnections);
    if (standby) fail(standby);
    this.maxConnections = maxConnectionsOf(flags);
    this.encryptionKeyName = p.encryption.keyFor(this.region);
    const autoscale = this.maxNodeCount > 0;

    this.instance = new gcp.sql.DatabaseInstance(
      `${name}-instance`,
      {
        project: p.project,
        name: args.instanceName,
        region: this.region,
        databaseVersion: p.databaseVersion,
        masterInstanceName: args.primary.instance.name,
        instanceType: "READ_POOL_INSTANCE",
        // With autoscaling the node count is Cloud SQL's to set.
        nodeCount: autoscale ? undefined : this.nodeCount,
        encryptionKeyName: this.encryptionKeyName,
        deletionProtection: true,
        ...poolingInstanceArgs(p.pooling),
        settings: {
          ...replicaSettings(p, { tier: this.tier, role: "read-pool", flags }),
          readPoolAutoScaleConfig: autoscale
            ? {
                enabled: true,
                minNodeCount: this.nodeCount,
                maxNodeCount: this.maxNodeCount,
                scaleInCooldownSeconds: SCALE_COOLDOWN_SECONDS,
                scaleOutCooldownSeconds: SCALE_COOLDOWN_SECONDS,
                targetMetrics: [{ metric: "AVERAGE_CPU_UTILIZATION", targetValue: AUTOSCALE_CPU_TARGET }],
              }
            : undefined,
        },
      },
      {
        parent: this,
        protect: true,
        ignoreChanges: autoscale ? ["settings.diskSize", "nodeCount"] : ["settings.diskSize"],
        dependsOn: [p.network.psaConnection, ...p.encryption.grantsFor(this.region), ...(p.requires ?? [])],
      },
    );
    this.connectionName = this.instance.connectionName;
    this.privateIp = this.instance.privateIpAddress;
    this.registerOutputs({ connectionName: this.connectionName, privateIp: this.privateIp, nodeCount: this.nodeCount });
  }
}
