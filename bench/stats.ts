/**
 * Server-side cost per call from pg_stat_statements: execution time and
 * shared-buffer traffic for one statement over one measured cell. Under a
 * closed loop on few cores, p95 ≈ clients × (CPU per call) / cores, and the
 * server's own figure is far less noisy than the client's latency.
 */
import type { ClientBase } from "pg";
import { round } from "./report";

/** One statement's server cost per call over a cell. */
export interface ServerCost {
  /** Calls pg_stat_statements counted. */
  readonly calls: number;
  /** total_exec_time / calls (ms): the executor's time, planning excluded. */
  readonly meanExecMs: number;
  /** total_plan_time / calls (ms): planning, spread over all calls (0 unless pg_stat_statements.track_planning is on). */
  readonly meanPlanMs: number;
  /** Shared blocks found in shared_buffers, per call. */
  readonly sharedHitPerCall: number;
  /** Shared blocks read from the OS (page cache or disk), per call. */
  readonly sharedReadPerCall: number;
}

/** Forgets every statement's counters (before a cell). Needs a superuser or a role granted the function. */
export async function resetStatementStats(client: ClientBase): Promise<void> {
  await client.query("SELECT pg_stat_statements_reset()");
}

/**
 * The query ids of the statement `sql` (`$n` parameters allowed): the one
 * EXPLAIN (GENERIC_PLAN) computes for it, plus any entry stored under its
 * exact text. Matching on text alone misses: pg_stat_statements stores a
 * statement parsed while it tracks with its constants replaced by `$n`, and an
 * entry created concurrently with a reset can come back without its text.
 */
export async function statementIds(client: ClientBase, sql: string): Promise<string[]> {
  // Text format: a 64-bit id would lose digits as a JSON number.
  const plan = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN (VERBOSE, GENERIC_PLAN, COSTS OFF) ${sql}`);
  const fromPlan = plan.rows.map((x) => /^Query Identifier: (-?\d+)$/.exec(x["QUERY PLAN"].trim())?.[1]).find((x) => x !== undefined);
  const r = await client.query<{ queryid: string }>("SELECT DISTINCT queryid::text AS queryid FROM pg_stat_statements WHERE query = $1 AND toplevel", [sql]);
  return [...new Set([...(fromPlan !== undefined ? [String(fromPlan)] : []), ...r.rows.map((x) => x.queryid)])];
}

/** The counters of the given query ids, summed over the users that ran them; undefined when they did not run. */
export async function statementCost(client: ClientBase, queryIds: readonly string[]): Promise<ServerCost | undefined> {
  if (queryIds.length === 0) return undefined;
  const r = await client.query<{ calls: string; exec: number; plan: number; hit: string; read: string }>(
    `SELECT sum(calls) AS calls, sum(total_exec_time) AS exec, sum(total_plan_time) AS plan, sum(shared_blks_hit) AS hit, sum(shared_blks_read) AS read
       FROM pg_stat_statements WHERE queryid = ANY($1::bigint[]) AND toplevel`,
    [queryIds],
  );
  const calls = Number(r.rows[0]?.calls ?? 0);
  if (calls === 0) return undefined;
  return {
    calls,
    meanExecMs: round(r.rows[0].exec / calls, 4),
    meanPlanMs: round(r.rows[0].plan / calls, 4),
    sharedHitPerCall: round(Number(r.rows[0].hit) / calls, 1),
    sharedReadPerCall: round(Number(r.rows[0].read) / calls, 2),
  };
}
