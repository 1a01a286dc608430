/**
 * The recovery drill's two bookkeeping resources, dynamic resources that run
 * in the engine's provider host (serialized into the state, so they keep to
 * plain functions and data):
 *
 * - DrillClock records when a drill started and restarts whenever its trigger
 *   (everything that makes a new clone) changes.
 * - DrillVerification connects to the clone and runs lib/drill-checks.ts;
 *   a failed check fails `pulumi up`, and it reports the measured recovery
 *   time against the target.
 *
 * components/recovery-drill.ts composes them with the clone.
 */
import * as pulumi from "@pulumi/pulumi";
import { describeFailures, recoveryTime, runDrillChecks, type CheckResult, type RowBounds } from "../lib/drill-checks";
import { isConnectError, withConnection, type PgTarget } from "../lib/pg-connect";

/**
 * Attempts to reach a clone that is unreachable or times out, and the wait
 * before the second (doubling after). A clone Cloud SQL has just reported
 * RUNNABLE can take a few seconds more to accept sessions on its private IP.
 */
export const DRILL_CONNECT_ATTEMPTS = 3;
export const DRILL_CONNECT_RETRY_MS = 2_000;

/** Inputs of the clock resource. */
interface ClockInputs {
  /** Changes whenever a new clone is wanted (see {@link drillTrigger}), so the clock restarts with it. */
  readonly trigger: string;
}

/** Records the instant the drill starts. */
const clockProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ClockInputs) {
    return { id: `drill-${Date.now()}`, outs: { trigger: inputs.trigger, startedAt: new Date().toISOString() } };
  },
  async diff(_id: string, olds: ClockInputs, news: ClockInputs) {
    const changed = olds.trigger !== news.trigger;
    return { changes: changed, replaces: changed ? ["trigger"] : [], deleteBeforeReplace: true };
  },
};

/** Inputs of the verification resource, as the provider receives them. */
export interface VerificationInputs {
  readonly cloneName: string;
  readonly target: PgTarget;
  readonly expectedLedgerHead: string;
  readonly rowBounds: Record<string, RowBounds>;
  readonly partitionedTables: string[];
  readonly partitionMonthsAhead: number;
  /** RFC3339 point in time recovered to; "" for the latest. */
  readonly pointInTime: string;
  /** When the clock started (RFC3339). */
  readonly startedAt: string;
  readonly targetMinutes: number;
}

/** Connects to the clone, runs the checks and measures the recovery time. Exported for tests. */
export const verificationProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: VerificationInputs) {
    const asOf = inputs.pointInTime ? new Date(inputs.pointInTime) : new Date(inputs.startedAt);
    const check = () =>
      withConnection(inputs.target, (client) =>
        runDrillChecks(client, {
          ledgerHead: inputs.expectedLedgerHead,
          rowBounds: inputs.rowBounds,
          partitionedTables: inputs.partitionedTables,
          partitionMonthsAhead: inputs.partitionMonthsAhead,
          asOf,
        }),
      );
    let report: Awaited<ReturnType<typeof check>> | undefined;
    for (let attempt = 1; report === undefined; attempt++) {
      try {
        report = await check();
      } catch (err) {
        const transient = isConnectError(err) && (err.kind === "unreachable" || err.kind === "timeout");
        if (!transient || attempt >= DRILL_CONNECT_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, DRILL_CONNECT_RETRY_MS * 2 ** (attempt - 1)));
      }
    }
    if (!report.passed) {
      throw new Error(
        `recovery drill on clone ${inputs.cloneName} failed: ${describeFailures(report)}. ` +
          "The clone is left in place for inspection; set lp-db:drillEnabled false to delete it.",
      );
    }
    const checksPassedAt = new Date();
    const measured = recoveryTime(new Date(inputs.startedAt), checksPassedAt, inputs.targetMinutes);
    return {
      id: `${inputs.cloneName}-verified`,
      outs: {
        cloneName: inputs.cloneName,
        checks: report.checks,
        startedAt: inputs.startedAt,
        checksPassedAt: checksPassedAt.toISOString(),
        recoveryMinutes: measured.minutes,
        targetMinutes: inputs.targetMinutes,
        withinTarget: measured.withinTarget,
      },
    };
  },
  async diff(_id: string, olds: { cloneName: string }, news: VerificationInputs) {
    // Verify again only for a new clone; a re-run against the same clone would measure nothing.
    const changed = olds.cloneName !== news.cloneName;
    return { changes: changed, replaces: changed ? ["cloneName"] : [], deleteBeforeReplace: true };
  },
};

/** Records when the drill started; replaced (restarted) whenever a new clone is wanted. */
export class DrillClock extends pulumi.dynamic.Resource {
  declare readonly startedAt: pulumi.Output<string>;
  constructor(name: string, trigger: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
    super(clockProvider, name, { trigger, startedAt: undefined }, opts, "backup", "DrillClock");
  }
}

/** The verified outcome of one drill (`pulumi-nodejs:dynamic/backup:DrillVerification`). */
export class DrillVerification extends pulumi.dynamic.Resource {
  declare readonly checks: pulumi.Output<CheckResult[]>;
  declare readonly recoveryMinutes: pulumi.Output<number>;
  declare readonly withinTarget: pulumi.Output<boolean>;
  constructor(name: string, inputs: { [K in keyof VerificationInputs]: pulumi.Input<VerificationInputs[K]> }, opts: pulumi.CustomResourceOptions) {
    super(
      verificationProvider,
      name,
      { ...inputs, checks: undefined, checksPassedAt: undefined, recoveryMinutes: undefined, withinTarget: undefined },
      opts,
      "backup",
      "DrillVerification",
    );
  }
}
