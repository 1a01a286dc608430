/**
 * Lock-retry errors (lp_ops.with_lock_retries, SQLSTATE 55P03) name the
 * blocking sessions by pid. The SQL side runs as lp_owner, which may not see
 * other users' sessions in pg_stat_activity; this adds what the session user
 * (the migration user, a member of pg_monitor on Cloud SQL) sees: each
 * blocker's application_name, query start and state, or that it has ended.
 *
 * Stable API: {@link addBlockerDetails}(client, err) mutates err.message.
 */
import type * as pg from "pg";

const LOCK_NOT_AVAILABLE = "55P03";

export async function addBlockerDetails(client: pg.ClientBase, err: unknown): Promise<void> {
  const e = err as { code?: string; message?: string };
  if (e?.code !== LOCK_NOT_AVAILABLE || typeof e.message !== "string") return;
  const pids = [...new Set([...e.message.matchAll(/\bpid (\d+)\b/g)].map((m) => Number(m[1])))];
  if (pids.length === 0) return;
  try {
    const { rows } = await client.query<{ asked: number; pid: number | null; app: string | null; query_start: Date | null; state: string | null; who: string }>(
      `SELECT p.pid AS asked, a.pid, a.application_name AS app, a.query_start, a.state, current_user::text AS who
         FROM unnest($1::int[]) WITH ORDINALITY AS p(pid, n) LEFT JOIN pg_stat_activity a ON a.pid = p.pid ORDER BY p.n`,
      [pids],
    );
    const seen = rows.map((r) => {
      if (r.pid === null) return `pid ${r.asked} has ended`;
      const start = r.query_start ? `query started ${r.query_start.toISOString()}, state ${r.state}` : `query start not visible to ${r.who} (grant it pg_read_all_stats)`;
      return `pid ${r.pid}: application_name ${r.app || '""'}, ${start}`;
    });
    e.message = `${e.message}. Blocking sessions now: ${seen.join("; ")}`;
  } catch {
    /* the details are a courtesy; the error stands as it is */
  }
}
