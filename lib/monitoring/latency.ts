/**
 * Signal family — Latency and slow queries, from Query Insights. Every signal
 * here runs on the primary only: Query Insights metrics are not reported for
 * read replicas (nor read pool nodes), so a replica policy would never receive
 * data. Source: Cloud SQL "Use Query insights"
 * (https://cloud.google.com/sql/docs/postgres/using-query-insights) describes
 * Insights per primary instance and documents no replica support; no page found
 * states the replica case explicitly.
 */
import { M, PRIMARY_ONLY, RATE_WINDOW, SUSTAINED_SECONDS, US_PER_MS, levels, series, type MetricRef, type InstanceContext, type Signal } from "./signal";

/** Labels that name a normalized query; kept so the incident carries the query text. */
const PER_QUERY = ["query_hash", "querystring"] as const;

/** Query latency, ms. Source: the platform team's write-up, "Alert Conditions" ("> 500ms warning / > 1000ms critical"). */
export const QUERY_LATENCY_WARNING_MS = 500;
export const QUERY_LATENCY_CRITICAL_MS = 1000;
/** The platform's slow-query threshold, ms. Source: the platform team's write-up (`slowQueryThresholdMs: 1000`). */
export const SLOW_QUERY_MS = 1000;
/**
 * A statement this many times over the slow-query threshold holds its
 * connection (and its locks) long enough to starve a transaction-mode pool:
 * the team's escalation point for one normalized query.
 */
export const SLOW_QUERY_CRITICAL_FACTOR = 5;
/**
 * Window over which slow executions are counted. A query run a few times an
 * hour leaves gaps in its per-query series: a 2-minute window holds at most
 * one point of it, so neither a quantile nor an increase can be computed
 * there. An hour holds the points of a query that runs a few times an hour.
 */
export const SLOW_EXECUTION_WINDOW = "1h";
/**
 * The `le` of the bucket whose upper bound is the slow-query threshold, 1 s =
 * 1,000,000 us (Query Insights reports microseconds). Unverified: Google
 * publishes neither the bucket boundaries of the Query Insights
 * distributions nor how Cloud Monitoring's PromQL spells a boundary, so the
 * matcher takes both spellings Prometheus systems use. If 1 s is not a
 * boundary this matches nothing and the rare-query signal is silent: check
 * the boundaries once in Metrics Explorer and set the smallest one at or
 * above 1 s here (docs/monitoring.md, "Slow queries").
 */
export const SLOW_QUERY_BUCKET_LE = "1e\\\\+06|1000000";
/** Slow executions of one query in the window: one is a warning; one a minute, sustained, is critical. */
export const SLOW_EXECUTIONS_WARNING = 0;
export const SLOW_EXECUTIONS_CRITICAL = 60;

/** A latency quantile (ms) from a Query Insights distribution, optionally kept per label. */
function latencyQuantile(q: number, metric: MetricRef, ctx: InstanceContext, by: readonly string[] = []): string {
  const keep = ["le", ...by].join(", ");
  return `histogram_quantile(${q}, sum by (${keep}) (rate(${series(metric, ctx, {}, "_bucket")}[${RATE_WINDOW}]))) / ${US_PER_MS}`;
}

/** This family's signals, in dashboard order. */
export const LATENCY_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "query-latency-p95",
    title: "Query latency p95 (ms)",
    row: "latency",
    roles: PRIMARY_ONLY,
    metrics: [M.latency],
    unit: "ms",
    expr: (c) => latencyQuantile(0.95, M.latency, c),
    direction: "above",
    levels: levels(QUERY_LATENCY_WARNING_MS, QUERY_LATENCY_CRITICAL_MS, SUSTAINED_SECONDS),
    meaning: "The 95th percentile of statement latency on this instance (Query Insights) is over the level.",
    action: "Open Query Insights for the instance, find the statements whose latency rose, check locks, CPU and cache hit ratio on the dashboard.",
    anchor: "query-latency",
  },
  {
    id: "query-latency-p99",
    title: "Query latency p99 (ms)",
    row: "latency",
    roles: PRIMARY_ONLY,
    metrics: [M.latency],
    unit: "ms",
    expr: (c) => latencyQuantile(0.99, M.latency, c),
    direction: "above",
    levels: levels(QUERY_LATENCY_WARNING_MS, QUERY_LATENCY_CRITICAL_MS, SUSTAINED_SECONDS),
    meaning: "The 99th percentile of statement latency on this instance (Query Insights) is over the level.",
    action: "As for p95; a p99 alert alone points at a few slow statements: see the slow-query alert and Query Insights' top queries.",
    anchor: "query-latency",
  },
  {
    id: "slow-queries",
    title: "Slowest normalized queries p95 (ms)",
    row: "latency",
    roles: PRIMARY_ONLY,
    metrics: [M.perQuery],
    unit: "ms",
    // Kept per query, so the incident's labels carry the normalized query text.
    expr: (c) => latencyQuantile(0.95, M.perQuery, c, PER_QUERY),
    direction: "above",
    levels: levels(SLOW_QUERY_MS, SLOW_QUERY_MS * SLOW_QUERY_CRITICAL_FACTOR, SUSTAINED_SECONDS),
    meaning: "A normalized query's p95 latency is over the platform's slow-query threshold. The incident's `querystring` label is the query.",
    action: "Run EXPLAIN (ANALYZE, BUFFERS) on the query from the incident on a clone, add or fix the index, or rewrite it.",
    anchor: "slow-queries",
  },
  {
    id: "slow-executions",
    title: `Executions over ${SLOW_QUERY_MS} ms per normalized query, last ${SLOW_EXECUTION_WINDOW}`,
    row: "latency",
    roles: PRIMARY_ONLY,
    metrics: [M.perQuery],
    unit: "1",
    // All executions minus those at or under the threshold, from the buckets: no quantile, so one execution counts.
    expr: (c) => {
      const count = (le: string | { re: string }) =>
        `sum by (${PER_QUERY.join(", ")}) (increase(${series(M.perQuery, c, { le }, "_bucket")}[${SLOW_EXECUTION_WINDOW}]))`;
      return `${count("+Inf")} - ${count({ re: SLOW_QUERY_BUCKET_LE })}`;
    },
    direction: "above",
    levels: levels(SLOW_EXECUTIONS_WARNING, SLOW_EXECUTIONS_CRITICAL, 0, SUSTAINED_SECONDS),
    meaning: `A normalized query ran over ${SLOW_QUERY_MS} ms at least once in the last ${SLOW_EXECUTION_WINDOW}, however rarely it runs. The incident's \`querystring\` label is the query; it clears an hour after the last slow run.`,
    action: "Run EXPLAIN (ANALYZE, BUFFERS) on the query from the incident on a clone; a rare slow run is often a report or a cold cache: check Query Insights' samples for it.",
    anchor: "slow-queries",
  },
] satisfies Signal[]);
