/**
 * Signal family — Latency and slow queries, from Query Insights. Every signal
 * here runs on the primary only: Query Insights metrics are not reported for
 * read replicas (nor read pool nodes), so a replica policy would never receive
 * data. Source: issue 14's review; Cloud SQL "Use Query insights"
 * (https://cloud.google.com/sql/docs/postgres/using-query-insights) describes
 * Insights per primary instance and documents no replica support; no page found
 * states the replica case explicitly.
 */
import { M, PRIMARY_ONLY, RATE_WINDOW, SUSTAINED_SECONDS, US_PER_MS, levels, series, type MetricRef, type InstanceContext, type Signal } from "./signal";

/** Query latency, ms. Source: issue 7 and the write-up ("> 500ms warning / > 1000ms critical"). */
export const QUERY_LATENCY_WARNING_MS = 500;
export const QUERY_LATENCY_CRITICAL_MS = 1000;
/** The platform's slow-query threshold, ms. Source: issue 7 and the write-up (`slowQueryThresholdMs: 1000`). */
export const SLOW_QUERY_MS = 1000;
/**
 * A statement this many times over the slow-query threshold holds its
 * connection (and its locks) long enough to starve a transaction-mode pool:
 * the team's escalation point for one normalized query.
 */
export const SLOW_QUERY_CRITICAL_FACTOR = 5;

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
    expr: (c) => latencyQuantile(0.95, M.perQuery, c, ["query_hash", "querystring"]),
    direction: "above",
    levels: levels(SLOW_QUERY_MS, SLOW_QUERY_MS * SLOW_QUERY_CRITICAL_FACTOR, SUSTAINED_SECONDS),
    meaning: "A normalized query's p95 latency is over the platform's slow-query threshold. The incident's `querystring` label is the query.",
    action: "Run EXPLAIN (ANALYZE, BUFFERS) on the query from the incident on a clone, add or fix the index, or rewrite it.",
    anchor: "slow-queries",
  },
] satisfies Signal[]);
