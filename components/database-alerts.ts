/**
 * The alert policies of one Cloud SQL instance: for every signal in
 * lib/monitoring that applies to the instance's role, one WARNING and one
 * CRITICAL policy, each a PromQL condition over the same expression the
 * dashboard charts, routed to that severity's channels and documented with
 * what it means, what to do and a link to docs/alerts.md.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { LogMetrics } from "./log-metrics";
import {
  EVALUATION_INTERVAL_SECONDS,
  SEVERITIES,
  SIGNALS,
  alertQuery,
  appliesTo,
  formatLevel,
  signal,
  type InstanceContext,
  type InstanceRole,
  type Severity,
  type Signal,
} from "../lib/monitoring";

/** Where the per-alert response sections live, relative to the repository root. */
export const ALERTS_DOC = "docs/alerts.md";
/** Where the procedures (failover, restore, re-run an export) live, relative to the repository root. */
export const RUNBOOK_DOC = "docs/runbook.md";

/** The runbook's web address, next to docs/alerts.md at `alertsDocUrl`; undefined without one. */
export function runbookUrl(alertsDocUrl: string | undefined): string | undefined {
  return alertsDocUrl?.replace(/alerts\.md$/, "runbook.md");
}

/** The policy's links: its response section and, where it has one, its runbook procedure; none without `alertsDocUrl`. */
export function documentationLinks(s: Signal, alertsDocUrl: string | undefined): { displayName: string; url: string }[] | undefined {
  if (!alertsDocUrl) return undefined;
  const links = [{ displayName: "Response", url: `${alertsDocUrl}#${s.anchor}` }];
  const runbook = runbookUrl(alertsDocUrl);
  if (s.runbook && runbook !== alertsDocUrl) links.push({ displayName: "Runbook", url: `${runbook}#${s.runbook}` });
  return links;
}

/** An incident whose series stopped reporting closes itself after this long (Cloud Monitoring's autoClose). */
const AUTO_CLOSE_SECONDS = 7 * 24 * 3600;

/** Arguments of {@link DatabaseAlerts}. */
export interface DatabaseAlertsArgs {
  /** Project the policies live in (and the instance's project). */
  readonly project: pulumi.Input<string>;
  /** The instance's name (Cloud SQL or Memorystore). */
  readonly instanceName: pulumi.Input<string>;
  /**
   * The instance resource itself (Cloud SQL or Memorystore): every policy
   * depends on it, so none exists, and none can fire, before the instance does.
   */
  readonly instance: pulumi.Resource;
  /**
   * The instance label's value on its metrics.
   * @default "<project>:<instanceName>" (Cloud SQL)
   */
  readonly instanceId?: pulumi.Input<string>;
  /** Primary or read replica; replication-lag policies exist only on replicas, backup policies only on the primary. */
  readonly role: InstanceRole;
  /** The instance's `max_connections` (from the tier-sized flag set); pool utilisation divides by it. */
  readonly maxConnections: number;
  /**
   * Managed pooling limits; adds the pooler client and server connection policies.
   * @default no managed pooling
   */
  readonly pooling?: { readonly maxClientConnections: number; readonly maxPoolSize: number };
  /**
   * Name of the workflow that exports this instance on a schedule; adds the failed-run policies.
   * @default no scheduled export
   */
  readonly exportWorkflow?: pulumi.Input<string>;
  /** Channel names each severity notifies (NotificationChannels.warning / .critical). */
  readonly channels: Readonly<Record<Severity, pulumi.Input<pulumi.Input<string>[]>>>;
  /** The stack's log-based metrics (backup, export, deadlock and lock-wait counts). */
  readonly logMetrics: LogMetrics;
  /**
   * Web address of the repository's docs/alerts.md, added to each policy as a link.
   * @default no link; the documentation names the file and anchor instead
   */
  readonly alertsDocUrl?: string;
  /**
   * User labels on every policy.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** One instance's alert policies. */
export class DatabaseAlerts extends pulumi.ComponentResource {
  /** Policies by "<signal id>-<warning|critical>". */
  public readonly policies: Readonly<Record<string, gcp.monitoring.AlertPolicy>>;
  /** What the signal expressions know about this instance. */
  public readonly context: pulumi.Output<InstanceContext>;

  constructor(name: string, args: DatabaseAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:monitoring:DatabaseAlerts", name, {}, opts);

    if (!Number.isInteger(args.maxConnections) || args.maxConnections <= 0) {
      throw new pulumi.ResourceError(`maxConnections = ${args.maxConnections}: must be a positive integer (the max_connections flag)`, this);
    }
    if (args.pooling) {
      const { maxClientConnections, maxPoolSize } = args.pooling;
      if (!(maxClientConnections > 0) || !(maxPoolSize > 0)) {
        throw new pulumi.ResourceError(
          `pooling.maxClientConnections = ${maxClientConnections}, pooling.maxPoolSize = ${maxPoolSize}: both must be positive`,
          this,
        );
      }
    }
    if (args.alertsDocUrl !== undefined && !/^https:\/\/\S+$/.test(args.alertsDocUrl)) {
      throw new pulumi.ResourceError(`alertsDocUrl = "${args.alertsDocUrl}": must be an https:// address`, this);
    }

    this.context = pulumi.all([args.project, args.instanceName, args.exportWorkflow, args.instanceId]).apply(([project, instance, exportWorkflow, instanceId]) => ({
      databaseId: instanceId ?? `${project}:${instance}`,
      maxConnections: args.maxConnections,
      pooling: args.pooling,
      exportWorkflow,
      logMetrics: args.logMetrics.names,
    }));

    const has = { pooling: args.pooling !== undefined, exportWorkflow: args.exportWorkflow !== undefined };
    const policies: Record<string, gcp.monitoring.AlertPolicy> = {};
    for (const s of SIGNALS) {
      if (!s.levels || !appliesTo(s, args.role, has)) continue;
      // Cloud Monitoring validates a PromQL condition's metrics when the policy
      // is created, and a log-based metric created in the same update is not
      // known yet ("404 Cannot find metric(s)"; the provider retries only
      // concurrent-edit errors: hashicorp/terraform-provider-google#11102), so
      // the first deploy would fail. Validation is skipped on those conditions
      // only (field disableMetricValidation, @pulumi/gcp
      // types/input.d.ts AlertPolicyConditionConditionPrometheusQueryLanguage);
      // Cloud SQL's own metrics keep it, so a misspelt metric still fails the update.
      const usesLogs = s.metrics.some((m) => "log" in m);
      for (const severity of SEVERITIES) {
        const key = `${s.id}-${severity.toLowerCase()}`;
        policies[key] = new gcp.monitoring.AlertPolicy(
          `${name}-${key}`,
          {
            project: args.project,
            displayName: pulumi.interpolate`[${severity}] ${args.instanceName}: ${describeLevel(s, severity)}`,
            severity,
            combiner: "OR",
            conditions: [
              {
                displayName: describeLevel(s, severity),
                conditionPrometheusQueryLanguage: {
                  query: this.context.apply((c) => alertQuery(s, severity, c)),
                  duration: `${s.levels[severity].durationSeconds}s`,
                  evaluationInterval: `${EVALUATION_INTERVAL_SECONDS}s`,
                  alertRule: `${s.id.replace(/-/g, "_")}_${severity.toLowerCase()}`,
                  disableMetricValidation: usesLogs ? true : undefined,
                },
              },
            ],
            notificationChannels: args.channels[severity],
            alertStrategy: { autoClose: `${AUTO_CLOSE_SECONDS}s` },
            documentation: {
              mimeType: "text/markdown",
              subject: pulumi.interpolate`[${severity}] ${args.instanceName}: ${describeLevel(s, severity)}`,
              content: documentation(s, severity, args.role, args.alertsDocUrl),
              links: documentationLinks(s, args.alertsDocUrl),
            },
            userLabels: { ...(args.labels ?? {}), signal: s.id, severity: severity.toLowerCase(), role: args.role },
          },
          { parent: this, dependsOn: usesLogs ? [args.instance, args.logMetrics] : [args.instance] },
        );
      }
    }
    this.policies = Object.freeze(policies);

    this.registerOutputs({ context: this.context });
  }

  /** The PromQL value of a signal for this instance, exactly as its policies and the dashboard use it. */
  public query(signalId: string): pulumi.Output<string> {
    const s = signal(signalId);
    return this.context.apply((c) => s.expr(c));
  }
}

/** "Disk utilisation > 80% for 60 s". */
export function describeLevel(s: Signal, severity: Severity): string {
  const level = s.levels?.[severity];
  if (!level) throw new Error(`signal "${s.id}" has no ${severity} level`);
  const op = s.direction === "above" ? ">" : "<";
  const held = level.durationSeconds > 0 ? ` for ${level.durationSeconds} s` : "";
  return `${s.title} ${op} ${formatLevel(level.threshold, s.unit)}${held}`;
}

/**
 * The policy's Markdown documentation. It always names the response section
 * and runbook procedure by repository path (the repository's address is not
 * known to every stack); with `docUrl` set those paths are clickable links.
 */
export function documentation(s: Signal, severity: Severity, role: InstanceRole, docUrl: string | undefined): string {
  const ref = (file: string, anchor: string, url: string | undefined) =>
    url ? `[${file}#${anchor}](${url}#${anchor})` : `\`${file}#${anchor}\``;
  const runbook = runbookUrl(docUrl);
  const where = `${ref(ALERTS_DOC, s.anchor ?? "", docUrl)}${docUrl ? "" : " in the lp-db repository"}`;
  const procedure = s.runbook ? ` Procedure: ${ref(RUNBOOK_DOC, s.runbook, runbook === docUrl ? undefined : runbook)}.` : "";
  const pace = severity === "CRITICAL" ? "Act now: this pages." : "Look at it today: this is the early warning.";
  return [
    `**What it means.** ${s.meaning ?? s.title} (${role}).`,
    "",
    `**Level.** ${describeLevel(s, severity)}. ${pace}`,
    "",
    `**What to do.** ${s.action ?? "See the response section."}`,
    "",
    `**Runbook.** Response steps: ${where}.${procedure}`,
  ].join("\n");
}
