-- lp:no-transaction
--
-- Instructor analytics from a rollup instead of the raw events: per course,
-- UTC day and event type, the event count and the exact set of learners (a
-- sorted bigint[] of distinct user ids, so distinct learners across an
-- instructor's courses stay exact: the sets are unioned at read time, never
-- estimated). A 30-day window for an instructor reads at most
-- courses × 30 × event types rows instead of every event in the window.
--
-- How it stays current, exactly:
--   * an AFTER INSERT statement trigger on analytics_events copies each new
--     event's (course, day, type, user) into analytics_rollup_pending: an
--     append-only queue, so concurrent writers never contend on a hot rollup
--     row (the trigger costs the writer one small insert per statement);
--   * lp_ops.fold_analytics_rollup() moves the queue into the rollup in one
--     transaction (DELETE ... RETURNING, then merge), so every snapshot sees an
--     event exactly once: in the queue or in the rollup. pg_cron runs it every
--     minute (lp_ops.scheduled_jobs, 0010) and prunes days past the analytics
--     retention;
--   * readers add the queue's rows for their courses, so a fold that has not
--     run yet makes reads slightly dearer, never wrong.
-- Events are append-only (0001); an UPDATE or DELETE of an event is not
-- reflected, and retention drops whole partitions, which the fold's pruning
-- mirrors. Inserts must go through the parent table (statement triggers on a
-- partitioned table do not fire for rows inserted into a partition directly).
--
-- Backfill without blocking writers: the trigger is created (a brief SHARE ROW
-- EXCLUSIVE lock through lp_ops.with_lock_retries) in the same transaction
-- that records the id sequence's last value. That lock waits for every
-- in-flight insert, so events with an id up to the recorded value are exactly
-- those the trigger never saw; the backfill then aggregates them under a plain
-- read lock while writers carry on, in chunks of consecutive ids, each
-- committed with the id it reached, so a re-run resumes after the last
-- committed chunk and neither repeats nor skips an event.

-- Up Migration

SET statement_timeout = '30min';
SET lock_timeout = '5s';
SET ROLE lp_owner;

CREATE TABLE IF NOT EXISTS analytics_course_daily (
  course_id bigint NOT NULL,
  day date NOT NULL,
  event_type text NOT NULL,
  events bigint NOT NULL,
  learners bigint[] NOT NULL,
  CONSTRAINT analytics_course_daily_pkey PRIMARY KEY (course_id, day, event_type)
);

-- The queue: no key (rows are only ever inserted, then all deleted by the
-- fold); the index serves readers' per-course lookups.
CREATE TABLE IF NOT EXISTS analytics_rollup_pending (
  course_id bigint NOT NULL,
  day date NOT NULL,
  event_type text NOT NULL,
  user_id bigint
);
-- Lint: both tables are created just above (or already indexed on a re-run),
-- so nobody waits on this build.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS analytics_rollup_pending_course_day_idx
  ON analytics_rollup_pending (course_id, day);

-- Readers (the application and analysts) read both; only the trigger and the
-- fold, running as lp_owner, write them.
GRANT SELECT ON analytics_course_daily, analytics_rollup_pending TO lp_app_rw, lp_analytics_ro, lp_backup_ro;
REVOKE INSERT, UPDATE, DELETE ON analytics_course_daily, analytics_rollup_pending FROM lp_app_rw;

-- Concatenates learner sets within a group; readers count the distinct ids.
CREATE OR REPLACE AGGREGATE public.learner_sets_cat(bigint[]) (
  SFUNC = array_cat,
  STYPE = bigint[],
  INITCOND = '{}'
);
GRANT EXECUTE ON FUNCTION public.learner_sets_cat(bigint[]) TO lp_app_rw, lp_analytics_ro;

-- The sorted, distinct union of two learner sets.
CREATE OR REPLACE FUNCTION lp_ops.learner_set_union(a bigint[], b bigint[])
RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(array_agg(DISTINCT u ORDER BY u), '{}') FROM unnest(a || b) AS u
$$;

CREATE TABLE IF NOT EXISTS lp_ops.analytics_rollup_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- Events with an id up to this were inserted before the trigger existed.
  backfill_through_id bigint NOT NULL,
  -- Events with an id up to this are in the rollup (the backfill's progress).
  backfilled_id bigint,
  trigger_created_at timestamptz NOT NULL DEFAULT now(),
  backfilled_at timestamptz
);

-- Queues the statement's new events. SECURITY DEFINER: the writer (lp_app_rw)
-- has no write grant on the queue.
CREATE OR REPLACE FUNCTION lp_ops.queue_analytics_rollup()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO public.analytics_rollup_pending (course_id, day, event_type, user_id)
  SELECT n.course_id, (n.occurred_at AT TIME ZONE 'UTC')::date, n.event_type, n.user_id
    FROM new_events n
   WHERE n.course_id IS NOT NULL;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.queue_analytics_rollup() FROM PUBLIC;

-- Moves the queue into the rollup (one transaction: readers see each event
-- once) and drops rollup days older than analytics_events' retention.
-- Returns the number of queued events folded.
CREATE OR REPLACE FUNCTION lp_ops.fold_analytics_rollup()
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
  v_folded bigint;
  v_retention integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('lp_ops.fold_analytics_rollup'));
  WITH moved AS (
    DELETE FROM public.analytics_rollup_pending RETURNING course_id, day, event_type, user_id
  ), grouped AS (
    SELECT course_id, day, event_type, count(*) AS events,
           coalesce(array_agg(DISTINCT user_id ORDER BY user_id) FILTER (WHERE user_id IS NOT NULL), '{}') AS learners
      FROM moved
     GROUP BY course_id, day, event_type
  ), merged AS (
    INSERT INTO public.analytics_course_daily AS r (course_id, day, event_type, events, learners)
    SELECT course_id, day, event_type, events, learners FROM grouped
    ON CONFLICT (course_id, day, event_type) DO UPDATE
      SET events = r.events + excluded.events,
          learners = lp_ops.learner_set_union(r.learners, excluded.learners)
    RETURNING 1
  )
  SELECT coalesce(sum(events), 0) INTO v_folded FROM grouped;

  SELECT retention_months INTO v_retention FROM lp_ops.partition_settings WHERE parent_table = 'analytics_events';
  IF v_retention IS NOT NULL THEN
    DELETE FROM public.analytics_course_daily
     WHERE day < (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => v_retention))::date;
  END IF;
  RETURN v_folded;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.fold_analytics_rollup() FROM PUBLIC;

RESET ROLE;

-- The trigger and the backfill bound, under one brief lock. Refuses a cached
-- id sequence: a session's cached ids would be used after the bound is read.
DO $$
DECLARE
  v_seq text := pg_get_serial_sequence('public.analytics_events', 'id');
BEGIN
  SET LOCAL ROLE lp_owner;
  IF EXISTS (SELECT FROM lp_ops.analytics_rollup_state) THEN
    RETURN;
  END IF;
  -- pg_catalog.pg_sequence by oid: pg_sequences would resolve every schema's sequences (pg_cron's
  -- cron.jobid_seq among them), which the migration user may not use.
  IF v_seq IS NULL OR (SELECT seqcache FROM pg_catalog.pg_sequence WHERE seqrelid = v_seq::regclass) <> 1 THEN
    RAISE EXCEPTION 'analytics_events.id must come from an owned sequence with CACHE 1 for the rollup backfill bound (found %)', coalesce(v_seq, 'no sequence');
  END IF;
  PERFORM lp_ops.with_lock_retries('0017 rollup trigger', 'public.analytics_events', ARRAY[
    'CREATE OR REPLACE TRIGGER analytics_events_queue_rollup AFTER INSERT ON public.analytics_events '
      || 'REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION lp_ops.queue_analytics_rollup()',
    format('INSERT INTO lp_ops.analytics_rollup_state (backfill_through_id) '
      || 'SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', v_seq)
  ]);
END
$$;

-- The backfill: every event the trigger did not see, once, in chunks of
-- lp.rollup_backfill_chunk consecutive ids (default 50 000), each committed
-- with the id it reached, then a pause as long as the chunk took. The rollup's
-- WAL is what writers feel: a commit waits until the WAL before it is flushed,
-- and one aggregate over every event wrote all of it in a burst as it ended
-- (the benchmark measured a 623 ms insert stall, all of it LWLock:WALWrite and
-- IO:WalSync, no lock wait). A chunk bounds the burst; the pause halves the
-- rate, leaving the disk time to catch up. The session's role is set outside
-- the block: a COMMIT ends a SET LOCAL.
SET ROLE lp_owner;
DO $$
DECLARE
  v_chunk constant bigint := coalesce(nullif(current_setting('lp.rollup_backfill_chunk', true), ''), '50000')::bigint;
  v_through bigint;
  v_started timestamptz;
  v_done bigint;
  v_next bigint;
BEGIN
  SELECT backfill_through_id, backfilled_id INTO v_through, v_done FROM lp_ops.analytics_rollup_state WHERE backfilled_at IS NULL;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v_chunk < 1 THEN
    RAISE EXCEPTION 'lp.rollup_backfill_chunk must be a positive number of events, got %', v_chunk;
  END IF;
  IF v_done IS NULL THEN
    SELECT coalesce(min(id), 1) - 1 INTO v_done FROM public.analytics_events;
  END IF;
  WHILE v_done < v_through LOOP
    v_next := least(v_done + v_chunk, v_through);
    v_started := clock_timestamp();
    INSERT INTO public.analytics_course_daily AS r (course_id, day, event_type, events, learners)
    SELECT e.course_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.event_type, count(*),
           coalesce(array_agg(DISTINCT e.user_id ORDER BY e.user_id) FILTER (WHERE e.user_id IS NOT NULL), '{}')
      FROM public.analytics_events e
     WHERE e.id > v_done AND e.id <= v_next AND e.course_id IS NOT NULL
     GROUP BY 1, 2, 3
    ON CONFLICT (course_id, day, event_type) DO UPDATE
      SET events = r.events + excluded.events,
          learners = lp_ops.learner_set_union(r.learners, excluded.learners);
    UPDATE lp_ops.analytics_rollup_state SET backfilled_id = v_next;
    COMMIT;
    v_done := v_next;
    PERFORM pg_sleep(least(1.0, extract(epoch FROM clock_timestamp() - v_started)));
  END LOOP;
  UPDATE lp_ops.analytics_rollup_state SET backfilled_at = now();
  COMMIT;
END
$$;
RESET ROLE;

-- Fresh statistics for the readers' plans.
ANALYZE analytics_course_daily;

-- Folded every minute with the other jobs (0010).
SET ROLE lp_owner;
INSERT INTO lp_ops.scheduled_jobs (jobname, schedule, command)
VALUES ('lp-fold-analytics-rollup', '* * * * *', 'SELECT lp_ops.fold_analytics_rollup()')
ON CONFLICT (jobname) DO UPDATE SET schedule = excluded.schedule, command = excluded.command;
RESET ROLE;
SELECT lp_ops.schedule_jobs();

RESET lock_timeout;
RESET statement_timeout;
