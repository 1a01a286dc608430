/**
 * The migration lock: one session advisory lock per database that serialises
 * migration runs, and that steps which must not overlap a run (partition
 * maintenance, role reconcile) take too.
 */
import type * as pg from "pg";

/** Key of the session advisory lock that serialises migration runs on one database. */
export const ADVISORY_LOCK_KEY = 4_711_020_260_004n;

/** Another run held the migration lock longer than the caller would wait. */
export class MigrationLockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.message = message; // see MigrationError (./errors)
    this.name = "MigrationLockTimeoutError";
  }
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How often a waiting run probes the migration lock. Waiting is by polling
 * pg_try_advisory_lock, never inside a blocking pg_advisory_lock call: a session
 * blocked in a statement holds a snapshot, and the lock holder's CREATE INDEX
 * CONCURRENTLY waits for every older snapshot, so the two would deadlock. 100 ms
 * starts a waiting run within a tenth of a second of the release for one cheap query per probe.
 */
export const LOCK_POLL_MS = 100;

/**
 * Takes the migration lock (session advisory lock {@link ADVISORY_LOCK_KEY}; re-entrant
 * within a session), waiting at most `timeoutMs`; throws {@link MigrationLockTimeoutError} naming
 * the holder. For steps that must not overlap a migration run (maintenance,
 * role reconcile). Release with {@link releaseLock} or by closing the session.
 */
export async function acquireLock(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [ADVISORY_LOCK_KEY.toString()]);
    if (rows[0].ok) return;
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(LOCK_POLL_MS, left));
  }
  const holder = await client.query<{ pid: number; app: string; since: Date | null }>(
    `SELECT a.pid, a.application_name AS app, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
    [ADVISORY_LOCK_KEY.toString()],
  );
  const h = holder.rows[0];
  const who = h ? `backend pid ${h.pid}${h.app ? ` (${h.app})` : ""}` : "another session";
  throw new MigrationLockTimeoutError(
    `another migration run holds the migration lock (${who}); gave up after ${timeoutMs} ms. ` +
      "Wait for it to finish, or if it is stuck, end that backend with pg_terminate_backend(pid) and re-run",
  );
}

/** Releases the migration lock taken by {@link acquireLock} on this session (no error if not held). */
export async function releaseLock(client: pg.ClientBase): Promise<void> {
  await client.query("SELECT pg_advisory_unlock($1)", [ADVISORY_LOCK_KEY.toString()]).catch(() => undefined);
}
