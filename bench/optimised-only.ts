/**
 * The queries measured on the optimised schema only, outside the
 * before/after comparison (step 7 of bench/README.md): the floors this
 * machine and client set, with the analytics answers they read, and the
 * materialized-view read.
 */
import type { ClientBase } from "pg";
import { HOT_QUERIES, WINDOW_DAYS, analyticsQueryName, pick, type HotQuery, type SchemaFacts } from "./workload";

/**
 * The instructor-analytics answers stored beforehand, per instructor and
 * window, in a bench-only schema, and read back by primary key in the
 * answer's order: no aggregate, no sort, the cheapest form any server-side
 * design can give the same rows. Its latency is the floor of the analytics
 * windows on this machine: what sending, parsing and scheduling their rows
 * cost under a closed loop. `read` takes ($1 instructor, $2 window in days),
 * as the hot query does.
 */
export const PRECOMPUTED_ANALYTICS = {
  read: `SELECT day, event_type, events, learners FROM lp_bench.analytics_answers
      WHERE instructor_id = $1 AND window_days = $2
      ORDER BY day, event_type`,
  drop: "DROP SCHEMA IF EXISTS lp_bench CASCADE",
} as const;

/**
 * Stores every window's answer for `instructorIds`, as that window's hot
 * query computes it now on this schema (`facts`), in lp_bench, replacing an
 * earlier build, readable by every role; returns the rows stored. Needs a
 * session that may create schemas; PRECOMPUTED_ANALYTICS.drop removes it.
 */
export async function precomputeAnalytics(client: ClientBase, instructorIds: readonly string[], facts: SchemaFacts): Promise<number> {
  await client.query(PRECOMPUTED_ANALYTICS.drop);
  await client.query("CREATE SCHEMA lp_bench");
  await client.query(`CREATE UNLOGGED TABLE lp_bench.analytics_answers (
      instructor_id bigint, window_days integer, day timestamptz, event_type text, events bigint, learners bigint,
      CONSTRAINT analytics_answers_pkey PRIMARY KEY (instructor_id, window_days, day, event_type) INCLUDE (events, learners))`);
  let stored = 0;
  for (const days of Object.values(WINDOW_DAYS)) {
    const q = HOT_QUERIES.find((x) => x.name === analyticsQueryName(days));
    if (!q) throw new Error(`bench/workload.ts: no hot query ${analyticsQueryName(days)} to precompute the answers of`);
    // A SQL function's body takes the hot query's $1 (instructor) and $2 (days) as its arguments.
    await client.query(`CREATE FUNCTION lp_bench.${q.name}(bigint, integer)
        RETURNS TABLE (day timestamptz, event_type text, events bigint, learners bigint)
        LANGUAGE sql STABLE SET search_path = pg_catalog, public
        AS $body$ ${q.sql(facts)} $body$`);
    const r = await client.query(
      `INSERT INTO lp_bench.analytics_answers
       SELECT i, $2, a.day, a.event_type, a.events, a.learners FROM unnest($1::bigint[]) AS i, LATERAL lp_bench.${q.name}(i, $2) AS a`,
      [instructorIds, days],
    );
    stored += r.rowCount ?? 0;
  }
  // The visibility map lets the read be an index-only scan, in the key's order: no heap, no sort.
  await client.query("VACUUM (ANALYZE) lp_bench.analytics_answers");
  await client.query("GRANT USAGE ON SCHEMA lp_bench TO PUBLIC");
  await client.query("GRANT SELECT ON lp_bench.analytics_answers TO PUBLIC");
  return stored;
}

/**
 * Not part of the before/after comparison, measured on the optimised schema
 * only: the latency floors of this machine and client (no work at all, and
 * the analytics windows' answers precomputed, which bench/run.ts stores
 * before and drops after), and daily active learners read from migration
 * 0008's materialized view (the baseline has no such view, and the
 * comparison keeps the SQL the same), to show what the pre-aggregation buys
 * over the raw-events query in workload.ts.
 */
export const OPTIMISED_ONLY: readonly HotQuery[] = [
  {
    // The floor: a query that does no work, so its latency is the round trip, the
    // load generator and the machine's CPU contention — what no index can remove.
    name: "select_1_floor",
    sql: () => "SELECT 1",
    args: () => [],
  },
  {
    name: "daily_active_learners_from_view",
    sql: () => `SELECT activity_date AS day, active_learners AS learners
      FROM analytics_daily_active_learners
      WHERE course_id = $1 AND activity_date >= (now() AT TIME ZONE 'UTC')::date - $2::int
      ORDER BY 1`,
    args: (p) => [pick(p.courseIds), WINDOW_DAYS.month],
  },
  ...Object.values(WINDOW_DAYS).map(
    (days): HotQuery => ({
      // The same rows as that window's hot query for the same parameters, with no work: that query's floor.
      name: `${analyticsQueryName(days)}_precomputed`,
      sql: () => PRECOMPUTED_ANALYTICS.read,
      args: (p) => [pick(p.instructorIds), days],
    }),
  ),
];
