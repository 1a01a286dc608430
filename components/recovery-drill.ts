/**
 * The recovery drill: a point-in-time clone of the primary, verified.
 *
 * 1. A clock resource records when the drill started (just before the clone
 *    is requested). The clone is named after the clock (`<source>-<clock id>`),
 *    so a new clock always means a new clone; and the clock's trigger holds
 *    everything that would replace the clone (source, point in time, run id,
 *    project, region, version, key, IP range), so a new clone always means a
 *    new clock. Changing `runId` repeats the drill.
 * 2. The clone: a new Cloud SQL instance made from the primary's backups and
 *    transaction logs (`clone.pointInTime`), private IP only, CMEK-encrypted,
 *    zonal, no backups, deletion protection off — an isolated throwaway that
 *    nothing routes traffic to. Cloning only reads the source's backups and
 *    logs; the primary is never modified, restarted or written to.
 * 3. A verification resource connects to the clone (lib/pg-connect.ts) and
 *    runs lib/drill-checks.ts: ledger head, row counts of the key tables,
 *    monthly partitions. A failed check fails `pulumi up` with the reasons.
 *    It reports the measured recovery time — clone request to checks passed —
 *    against the 30-minute target.
 *
 * The clone copies the primary's flags except pg_cron, which is turned off:
 * the primary's scheduled jobs (partition maintenance, materialized-view
 * refreshes) would otherwise run on the clone and change the rows and
 * partitions while the checks compare them with the primary's.
 *
 * Tearing down (`lp-db:drillEnabled false`) deletes the clone and the two
 * bookkeeping resources; nothing else depends on them.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { RTO_TARGET_MINUTES, type CheckResult, type RowBounds } from "../lib/drill-checks";
import type { PgTarget } from "../lib/pg-connect";
import { DrillClock, DrillVerification } from "./drill-verification";

/** The flag that enables pg_cron; off on the clone (file comment). */
export const PG_CRON_FLAG = "cloudsql.enable_pg_cron";

/** The SSL mode the clone uses when the primary's settings do not say (the most permissive mode the primary may have). */
export const DEFAULT_CLONE_SSL_MODE = "ENCRYPTED_ONLY";

/** The primary's flags for the clone: the same, with pg_cron off so no scheduled job changes what is being verified. */
export function cloneDatabaseFlags(
  flags: readonly { readonly name: string; readonly value: string }[] | undefined,
): { name: string; value: string }[] {
  const copied = (flags ?? []).filter((f) => f.name !== PG_CRON_FLAG).map((f) => ({ name: f.name, value: f.value }));
  return [...copied, { name: PG_CRON_FLAG, value: "off" }];
}

/** What restarts the drill clock: every input whose change makes a new clone. */
export function drillTrigger(t: {
  readonly project: string;
  readonly region: string;
  readonly source: string;
  readonly pointInTime?: string;
  readonly runId: string;
  readonly databaseVersion: string;
  readonly encryptionKeyName: string;
  readonly allocatedIpRange?: string;
}): string {
  const clone = [t.project, t.region, t.databaseVersion, t.encryptionKeyName, t.allocatedIpRange ?? ""].join("|");
  return `${t.source}@${t.pointInTime ?? "latest"}#${t.runId} ${clone}`;
}

/** Arguments of {@link RecoveryDrill}. */
export interface RecoveryDrillArgs {
  /** GCP project id. */
  readonly project: string;
  /** Region of the primary (the clone is made there). */
  readonly region: string;
  /** Name of the primary instance to clone. */
  readonly sourceInstanceName: pulumi.Input<string>;
  /**
   * Point in time to recover to, RFC3339 UTC ("2026-11-20T03:15:00Z"); must lie in the primary's PITR window.
   * @default undefined (the latest recoverable point)
   */
  readonly pointInTime?: string;
  /** Cloud SQL version (the clone's must equal the primary's). */
  readonly databaseVersion: string;
  /** Cloud SQL edition. */
  readonly edition: string;
  /** Machine tier of the clone; the primary's gives a representative recovery time. */
  readonly tier: string;
  /**
   * The primary's settings; the clone copies its database flags, maintenance window and Query Insights
   * settings, so it behaves like the primary and meets the same policies.
   */
  readonly primarySettings: pulumi.Input<gcp.types.output.sql.DatabaseInstanceSettings | undefined>;
  /** VPC (self link or id) the clone gets its private IP in. */
  readonly privateNetwork: pulumi.Input<string>;
  /**
   * Private services access range to take the clone's IP from.
   * @default undefined (any range allocated to the VPC)
   */
  readonly allocatedIpRange?: pulumi.Input<string>;
  /** CMEK key, in the primary's region, for the clone's disk. */
  readonly encryptionKeyName: pulumi.Input<string>;
  /** Labels for the clone. */
  readonly labels: Readonly<Record<string, string>>;
  /** Database the checks run in. */
  readonly database: string;
  /** Login for the checks (a user that exists on the primary, so on the clone too). */
  readonly user: string;
  /** That user's password; a secret. */
  readonly password: pulumi.Input<string>;
  /** Ledger head the clone must have (the migrations resource's output). */
  readonly expectedLedgerHead: pulumi.Input<string>;
  /** Row-count bounds of the key tables. */
  readonly rowBounds: Readonly<Record<string, RowBounds>>;
  /** Tables partitioned by month. */
  readonly partitionedTables: readonly string[];
  /** Months ahead that partition maintenance keeps ready. */
  readonly partitionMonthsAhead: number;
  /**
   * Names this drill run; change it to run the drill again (a new clock and a new clone) with the same point in time.
   * @default "" (one drill per source and point in time)
   */
  readonly runId?: string;
  /**
   * Reach the clone through the Cloud SQL connector (private IP) instead of dialling its private IP directly.
   * @default false (the runner is inside the VPC)
   */
  readonly useConnector?: boolean;
  /**
   * Recovery-time target the measurement is compared with, in minutes.
   * @default RTO_TARGET_MINUTES (30)
   */
  readonly targetMinutes?: number;
  /**
   * Resources (enabled APIs, grants) every child must wait for.
   * @default []
   */
  readonly requires?: readonly pulumi.Resource[];
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** A verified point-in-time clone of the primary. */
export class RecoveryDrill extends pulumi.ComponentResource {
  /** The clone. */
  readonly clone: gcp.sql.DatabaseInstance;
  /** The clone's instance name. */
  readonly cloneName: pulumi.Output<string>;
  /** Minutes from requesting the clone to the checks passing. */
  readonly recoveryMinutes: pulumi.Output<number>;
  /** Whether that is within the target. */
  readonly withinTarget: pulumi.Output<boolean>;
  /** Each check's outcome. */
  readonly checks: pulumi.Output<CheckResult[]>;

  constructor(name: string, args: RecoveryDrillArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:backup:RecoveryDrill", name, {}, opts);

    if (args.pointInTime !== undefined && !(RFC3339_UTC.test(args.pointInTime) && !Number.isNaN(Date.parse(args.pointInTime)))) {
      throw new pulumi.ResourceError(`pointInTime "${args.pointInTime}" must be an RFC3339 UTC timestamp such as 2026-11-20T03:15:00Z`, this);
    }
    if (args.pointInTime !== undefined && Date.parse(args.pointInTime) > Date.now()) {
      throw new pulumi.ResourceError(`pointInTime "${args.pointInTime}" is in the future; pick a moment inside the PITR window`, this);
    }
    const runId = args.runId ?? "";
    if (!/^[a-z0-9-]{0,20}$/.test(runId)) {
      throw new pulumi.ResourceError(`runId "${runId}" must be at most 20 lowercase letters, digits or hyphens`, this);
    }
    const targetMinutes = args.targetMinutes ?? RTO_TARGET_MINUTES;

    const trigger = pulumi
      .all([args.sourceInstanceName, args.encryptionKeyName, args.allocatedIpRange])
      .apply(([source, encryptionKeyName, allocatedIpRange]) =>
        drillTrigger({
          project: args.project,
          region: args.region,
          source,
          pointInTime: args.pointInTime,
          runId,
          databaseVersion: args.databaseVersion,
          encryptionKeyName,
          allocatedIpRange,
        }),
      );
    const clock = new DrillClock(`${name}-clock`, trigger, { parent: this, dependsOn: [...(args.requires ?? [])] });

    this.clone = new gcp.sql.DatabaseInstance(
      `${name}-clone`,
      {
        // Named after the clock: a restarted clock always gets a fresh clone (and never reuses a recently deleted name).
        name: pulumi.interpolate`${args.sourceInstanceName}-${clock.id}`,
        project: args.project,
        region: args.region,
        databaseVersion: args.databaseVersion,
        clone: { sourceInstanceName: args.sourceInstanceName, pointInTime: args.pointInTime, allocatedIpRange: args.allocatedIpRange },
        encryptionKeyName: args.encryptionKeyName,
        // A drill clone is disposable: nothing may stop its deletion.
        deletionProtection: false,
        settings: pulumi.output(args.primarySettings).apply((primary) => ({
          tier: args.tier,
          databaseFlags: cloneDatabaseFlags(primary?.databaseFlags),
          maintenanceWindow: primary?.maintenanceWindow,
          insightsConfig: primary?.insightsConfig,
          edition: args.edition,
          availabilityType: "ZONAL",
          deletionProtectionEnabled: false,
          ipConfiguration: { ipv4Enabled: false, privateNetwork: args.privateNetwork, sslMode: primary?.ipConfiguration?.sslMode ?? DEFAULT_CLONE_SSL_MODE },
          backupConfiguration: { enabled: false },
          userLabels: { ...args.labels, purpose: "recovery-drill" },
        })),
      },
      { parent: this, dependsOn: [...(args.requires ?? []), clock] },
    );
    this.cloneName = this.clone.name;

    const target = pulumi
      .all([this.clone.privateIpAddress, this.clone.serverCaCerts, this.clone.connectionName, pulumi.secret(args.password)])
      .apply(
        ([host, cas, connectionName, password]): PgTarget => ({
          host,
          database: args.database,
          user: args.user,
          password,
          serverCa: cas?.[0]?.cert,
          applicationName: "lp-recovery-drill",
          connector: args.useConnector ? { instanceConnectionName: connectionName, ipType: "PRIVATE" } : undefined,
        }),
      );

    const verification = new DrillVerification(
      `${name}-verification`,
      {
        cloneName: this.clone.name,
        target: pulumi.secret(target),
        expectedLedgerHead: args.expectedLedgerHead,
        rowBounds: { ...args.rowBounds },
        partitionedTables: [...args.partitionedTables],
        partitionMonthsAhead: args.partitionMonthsAhead,
        pointInTime: args.pointInTime ?? "",
        startedAt: clock.startedAt,
        targetMinutes,
      },
      // The target holds the clone's password: keep it encrypted in state.
      { parent: this, dependsOn: [this.clone], additionalSecretOutputs: ["target"] },
    );
    this.checks = verification.checks;
    this.recoveryMinutes = verification.recoveryMinutes;
    this.withinTarget = verification.withinTarget;

    this.registerOutputs({
      cloneName: this.cloneName,
      recoveryMinutes: this.recoveryMinutes,
      withinTarget: this.withinTarget,
      checks: this.checks,
    });
  }
}
