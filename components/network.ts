/**
 * The private network the Cloud SQL instances live on: an existing VPC or a new
 * one, a range reserved for Private Service Access, and the servicenetworking
 * peering connection. Every instance depends on {@link PrivateNetwork.psaConnection}
 * explicitly, because nothing in an instance's inputs references it and the
 * instance would otherwise race the peering.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { MAX_PSA_PREFIX, MIN_PSA_PREFIX } from "../lib/limits";


const NETWORK_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NETWORK_PATH = /^(https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/[^/]+\/global\/networks\/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * A /16 gives Cloud SQL room for many instances and regions; Google recommends
 * allocating at least /24 and suggests /16 for growth ("Configure private services access").
 */
export const DEFAULT_PSA_PREFIX = 16;

/** Arguments of {@link PrivateNetwork}. */
export interface PrivateNetworkArgs {
  /** GCP project id. */
  readonly project: string;
  /** Name of the VPC to create, and prefix of the PSA range's name. */
  readonly networkName: string;
  /** Existing VPC (name, `projects/<p>/global/networks/<n>` or self link) to attach to instead of creating one. @default undefined (create a VPC) */
  readonly existingNetwork?: string;
  /** Prefix length of the Private Service Access range. @default DEFAULT_PSA_PREFIX (16) */
  readonly pscRangePrefixLength?: number;
  /** Resources (enabled APIs) that must exist before any child. @default [] */
  readonly requires?: readonly pulumi.Resource[];
}

/** `lp:network:PrivateNetwork`: the VPC plus Private Service Access for Cloud SQL. */
export class PrivateNetwork extends pulumi.ComponentResource {
  /** The VPC as Cloud SQL's `privateNetwork` takes it (a self link). */
  public readonly networkSelfLink: pulumi.Output<string>;
  /** The created VPC; undefined when an existing one is used. */
  public readonly network?: gcp.compute.Network;
  /** The reserved PSA range. */
  public readonly psaRange: gcp.compute.GlobalAddress;
  /** The servicenetworking peering; every instance depends on it. */
  public readonly psaConnection: gcp.servicenetworking.Connection;
  /** Name of the PSA range, for `ipConfiguration.allocatedIpRange`. */
  public readonly allocatedIpRange: pulumi.Output<string>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:network:PrivateNetwork", name, {}, opts);
    const prefix = args.pscRangePrefixLength ?? DEFAULT_PSA_PREFIX;
    if (!Number.isInteger(prefix) || prefix < MIN_PSA_PREFIX || prefix > MAX_PSA_PREFIX) {
      throw new pulumi.ResourceError(`pscRangePrefixLength ${prefix} must be /${MIN_PSA_PREFIX} to /${MAX_PSA_PREFIX}`, this);
    }
    if (!NETWORK_NAME.test(args.networkName)) {
      throw new pulumi.ResourceError(`networkName "${args.networkName}" must be a lowercase VPC name (1-63 letters, digits, hyphens)`, this);
    }
    const existing = args.existingNetwork;
    if (existing !== undefined && !NETWORK_NAME.test(existing) && !NETWORK_PATH.test(existing)) {
      throw new pulumi.ResourceError(
        `existingNetwork "${existing}" must be a VPC name, projects/<p>/global/networks/<n>, or its self link`,
        this,
      );
    }
    const requires = [...(args.requires ?? [])];

    if (existing === undefined) {
      this.network = new gcp.compute.Network(
        `${name}-vpc`,
        {
          project: args.project,
          name: args.networkName,
          autoCreateSubnetworks: false,
          routingMode: "REGIONAL",
          description: "Private network of the learning platform's Cloud SQL tier",
        },
        { parent: this, dependsOn: requires },
      );
      this.networkSelfLink = this.network.selfLink;
    } else if (NETWORK_PATH.test(existing)) {
      this.networkSelfLink = pulumi.output(
        existing.startsWith("https://") ? existing : `https://www.googleapis.com/compute/v1/${existing}`,
      );
    } else {
      this.networkSelfLink = gcp.compute
        .getNetworkOutput({ name: existing, project: args.project }, { parent: this })
        .apply((n) => n.selfLink);
    }

    this.psaRange = new gcp.compute.GlobalAddress(
      `${name}-psa-range`,
      {
        project: args.project,
        name: `${args.networkName}-psa`,
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        prefixLength: prefix,
        network: this.networkSelfLink,
        description: "Range reserved for Private Service Access (Cloud SQL private IPs)",
      },
      { parent: this, dependsOn: requires },
    );
    this.allocatedIpRange = this.psaRange.name;

    this.psaConnection = new gcp.servicenetworking.Connection(
      `${name}-psa`,
      {
        network: this.networkSelfLink,
        service: "servicenetworking.googleapis.com",
        reservedPeeringRanges: [this.psaRange.name],
        // Deleting the peering fails while any producer (Cloud SQL) still uses it; on
        // destroy the peering is left for the VPC's deletion to remove.
        deletionPolicy: "ABANDON",
      },
      { parent: this, dependsOn: requires },
    );

    this.registerOutputs({
      networkSelfLink: this.networkSelfLink,
      allocatedIpRange: this.allocatedIpRange,
      psaConnection: this.psaConnection.id,
    });
  }
}
