/**
 * What the analytics rollup's trigger (migration 0017) costs the event
 * writers: the application's event insert at TARGETS.concurrency clients with
 * the trigger enabled and then disabled, latency and server time per call.
 */
import type { Client, ClientBase } from "pg";
import { TARGETS, round, type LatencySummary } from "./report";
import { runCell } from "./runner";
import { resetStatementStats, statementCost, statementIds, type ServerCost } from "./stats";
import type { Params } from "./workload";

/** The rollup's queue trigger on analytics_events. */
export const ROLLUP_TRIGGER = "analytics_events_queue_rollup";
/** Marks the inserted events (kept: they are ordinary events for the queries that run after). */
export const WRITE_PATH_EVENT_TYPE = "bench_write_path";

/** The application's event insert: one row per statement, as the event API writes them. */
const EVENT_INSERT = `INSERT INTO analytics_events (user_id, course_id, event_type, properties) VALUES ($1, $2, '${WRITE_PATH_EVENT_TYPE}', '{}')`;

/** One side of the comparison. */
export interface WritePathCell extends LatencySummary {
  readonly server?: ServerCost;
}

/** The insert with and without the trigger. */
export interface WritePathResult {
  readonly withTrigger: WritePathCell;
  readonly withoutTrigger: WritePathCell;
}

/**
 * Measures the insert on `pool` with the trigger, then without it (disabled
 * by `admin`, the table owner or a superuser, and re-enabled afterwards even
 * on failure). Undefined when the schema has no such trigger.
 */
export async function measureWritePath(pool: readonly Client[], admin: Client, params: Params, cellMs: number): Promise<WritePathResult | undefined> {
  const has = await admin.query("SELECT FROM pg_trigger WHERE tgrelid = 'public.analytics_events'::regclass AND tgname = $1", [ROLLUP_TRIGGER]);
  if (has.rowCount === 0) return undefined;
  let n = 0;
  const op = (c: ClientBase) => {
    const e = params.enrollments[n++ % params.enrollments.length];
    return c.query({ name: "bench_event_insert", text: EVENT_INSERT, values: [e.userId, e.courseId] });
  };
  const cell = async (): Promise<WritePathCell> => {
    await runCell(pool, 1, op, { durationMs: Math.min(cellMs, 500) });
    const ids = await statementIds(admin, EVENT_INSERT);
    await resetStatementStats(admin);
    const r = await runCell(pool, TARGETS.concurrency, op, { durationMs: cellMs });
    return { p50: r.p50, p95: r.p95, p99: r.p99, tps: round(r.tps, 1), server: await statementCost(admin, ids) };
  };
  const withTrigger = await cell();
  await admin.query(`ALTER TABLE analytics_events DISABLE TRIGGER ${ROLLUP_TRIGGER}`);
  try {
    return { withTrigger, withoutTrigger: await cell() };
  } finally {
    await admin.query(`ALTER TABLE analytics_events ENABLE TRIGGER ${ROLLUP_TRIGGER}`);
  }
}
