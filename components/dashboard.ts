/**
 * The stack's Cloud Monitoring dashboard, built from the same signals as the
 * alert policies (lib/monitoring): every tile charts a signal's PromQL for each
 * instance it applies to and draws the signal's warning and critical levels as
 * threshold lines. Rows: traffic, latency, saturation, replication, storage,
 * backups, cache.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { LogMetrics } from "./log-metrics";
import { DASHBOARD_ROWS, SIGNALS, appliesTo, type DashboardRow, type InstanceContext, type InstanceRole } from "../lib/monitoring";

/** Cloud Monitoring's mosaic grid is 48 columns wide. Source: Dashboards API, MosaicLayout.columns. */
export const GRID_COLUMNS = 48;
/** Three charts side by side. */
const TILE_WIDTH = 16;
const TILE_HEIGHT = 16;
/** The collapsible row header's height. */
const HEADER_HEIGHT = 1;

/** One instance as the dashboard sees it. */
export interface DashboardInstance {
  /** The instance's name. */
  readonly instanceName: pulumi.Input<string>;
  readonly role: InstanceRole;
  /**
   * The instance label's value on its metrics.
   * @default "<project>:<instanceName>" (Cloud SQL)
   */
  readonly instanceId?: pulumi.Input<string>;
  /** The instance's `max_connections` flag value. */
  readonly maxConnections: number;
  /**
   * Managed pooling limits.
   * @default no managed pooling
   */
  readonly pooling?: { readonly maxClientConnections: number; readonly maxPoolSize: number };
  /**
   * Name of the workflow that exports this instance on a schedule.
   * @default no scheduled export
   */
  readonly exportWorkflow?: pulumi.Input<string>;
}

/** Arguments of {@link Dashboard}. */
export interface DashboardArgs {
  /** Project of the dashboard and the instances. */
  readonly project: pulumi.Input<string>;
  /** Title of the dashboard. */
  readonly displayName: string;
  /** The instances, by their stable key ("primary", replica names); the key is the legend. */
  readonly instances: Readonly<Record<string, DashboardInstance>>;
  /** The stack's log-based metrics. */
  readonly logMetrics: LogMetrics;
}

/** An instance resolved for building the JSON. */
export interface ResolvedInstance {
  readonly role: InstanceRole;
  readonly context: InstanceContext;
}

/** A tile's place and what it shows, for the layout snapshot. */
export interface TileLayout {
  readonly row: DashboardRow;
  readonly title: string;
  readonly xPos: number;
  readonly yPos: number;
  readonly width: number;
  readonly height: number;
  /** Legends of the charted instances. */
  readonly instances: readonly string[];
  /** Threshold lines (warning, critical). */
  readonly thresholds: readonly number[];
}

/**
 * The dashboard JSON (Dashboards API v1 `Dashboard`) for these instances. Pure,
 * so tests can build it without a Pulumi runtime.
 */
export function buildDashboard(displayName: string, instances: Readonly<Record<string, ResolvedInstance>>) {
  const tiles: Record<string, unknown>[] = [];
  let y = 0;
  for (const row of DASHBOARD_ROWS) {
    const charts = [];
    for (const s of SIGNALS.filter((sig) => sig.row === row)) {
      const dataSets = Object.entries(instances)
        .filter(([, i]) => appliesTo(s, i.role, { pooling: i.context.pooling !== undefined, exportWorkflow: i.context.exportWorkflow !== undefined }))
        .map(([key, i]) => ({
          timeSeriesQuery: { prometheusQuery: s.expr(i.context), unitOverride: s.unit },
          plotType: "LINE",
          legendTemplate: key,
          targetAxis: "Y1",
        }));
      if (dataSets.length === 0) continue;
      const direction = s.direction === "above" ? "ABOVE" : "BELOW";
      const thresholds = s.levels
        ? [
            { label: "warning", value: s.levels.WARNING.threshold, color: "YELLOW", direction, targetAxis: "Y1" },
            { label: "critical", value: s.levels.CRITICAL.threshold, color: "RED", direction, targetAxis: "Y1" },
          ]
        : [];
      charts.push({
        title: s.title,
        xyChart: { dataSets, thresholds, yAxis: { label: s.unit, scale: "LINEAR" }, chartOptions: { mode: "COLOR" } },
      });
    }
    if (charts.length === 0) continue;
    const lines = Math.ceil(charts.length / (GRID_COLUMNS / TILE_WIDTH));
    tiles.push({
      xPos: 0,
      yPos: y,
      width: GRID_COLUMNS,
      height: HEADER_HEIGHT + lines * TILE_HEIGHT,
      widget: { title: row, collapsibleGroup: { collapsed: false } },
    });
    charts.forEach((widget, i) => {
      const perLine = GRID_COLUMNS / TILE_WIDTH;
      tiles.push({
        xPos: (i % perLine) * TILE_WIDTH,
        yPos: y + HEADER_HEIGHT + Math.floor(i / perLine) * TILE_HEIGHT,
        width: TILE_WIDTH,
        height: TILE_HEIGHT,
        widget,
      });
    });
    y += HEADER_HEIGHT + lines * TILE_HEIGHT;
  }
  return {
    displayName,
    mosaicLayout: { columns: GRID_COLUMNS, tiles },
  };
}

/** Where each chart sits, under the row header it belongs to. */
export function dashboardLayout(dashboard: ReturnType<typeof buildDashboard>): TileLayout[] {
  const out: TileLayout[] = [];
  let row: DashboardRow = DASHBOARD_ROWS[0];
  type Tile = {
    xPos: number;
    yPos: number;
    width: number;
    height: number;
    widget: { title: string; collapsibleGroup?: unknown; xyChart?: { dataSets: { legendTemplate: string }[]; thresholds: { value: number }[] } };
  };
  for (const t of dashboard.mosaicLayout.tiles as Tile[]) {
    if (t.widget.collapsibleGroup) {
      row = t.widget.title as DashboardRow;
      continue;
    }
    out.push({
      row,
      title: t.widget.title,
      xPos: t.xPos,
      yPos: t.yPos,
      width: t.width,
      height: t.height,
      instances: t.widget.xyChart?.dataSets.map((d) => d.legendTemplate) ?? [],
      thresholds: t.widget.xyChart?.thresholds.map((x) => x.value) ?? [],
    });
  }
  return out;
}

/** The stack's dashboard. */
export class Dashboard extends pulumi.ComponentResource {
  /** The dashboard JSON as deployed. */
  public readonly dashboardJson: pulumi.Output<string>;
  public readonly dashboard: gcp.monitoring.Dashboard;

  constructor(name: string, args: DashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:monitoring:Dashboard", name, {}, opts);

    const keys = Object.keys(args.instances);
    if (keys.length === 0) throw new pulumi.ResourceError("instances is empty: the dashboard needs at least one instance", this);
    if (!keys.some((k) => args.instances[k].role === "primary")) {
      throw new pulumi.ResourceError(`instances (${keys.join(", ")}) has no role "primary"`, this);
    }

    const names = keys.map((k) => args.instances[k].instanceName);
    const workflows = keys.map((k) => args.instances[k].exportWorkflow);
    const ids = keys.map((k) => args.instances[k].instanceId);
    this.dashboardJson = pulumi.all([args.project, pulumi.all(names), pulumi.all(workflows), pulumi.all(ids)]).apply(([project, resolved, exportWorkflows, instanceIds]) => {
      const instances: Record<string, ResolvedInstance> = {};
      keys.forEach((key, i) => {
        const inst = args.instances[key];
        instances[key] = {
          role: inst.role,
          context: {
            databaseId: instanceIds[i] ?? `${project}:${resolved[i]}`,
            maxConnections: inst.maxConnections,
            pooling: inst.pooling,
            exportWorkflow: exportWorkflows[i],
            logMetrics: args.logMetrics.names,
          },
        };
      });
      return JSON.stringify(buildDashboard(args.displayName, instances));
    });

    this.dashboard = new gcp.monitoring.Dashboard(
      `${name}-dashboard`,
      { project: args.project, dashboardJson: this.dashboardJson },
      { parent: this, dependsOn: [args.logMetrics] },
    );

    this.registerOutputs({ dashboardJson: this.dashboardJson });
  }
}
