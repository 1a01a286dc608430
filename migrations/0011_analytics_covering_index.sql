-- lp:no-transaction
--
-- Covering index for the instructor-analytics windows and daily active
-- learners: (course_id, occurred_at) INCLUDE (user_id, event_type), so those
-- queries read only the index (index-only scans) instead of visiting the heap
-- for every event in the window (bench/README.md, "What limits the missed p95
-- target"). The queries stay as they are: 0008's analytics_daily_active_learners
-- cannot answer them (no event_type, distinct learners per course cannot be
-- summed across an instructor's courses, and it is refreshed only hourly).
--
-- analytics_events is partitioned (0007), and CREATE INDEX CONCURRENTLY does
-- not work on a partitioned table, so the index is built the online way:
--   1. the parent's index ON ONLY analytics_events: catalog only, instant, and
--      INVALID until every partition has its own attached. From here on every
--      partition maintain_partitions (0005) makes with CREATE TABLE ... PARTITION
--      OF gets the index, attached, when it is created.
--   2. the history partition (0007's old table, nearly every row at the time of
--      the conversion) CONCURRENTLY: writers never wait. It is named statically;
--      retention keeps it until this migration has run (0007 puts a hold on it
--      in lp_ops.partition_holds, released at the end here), and once
--      retention has dropped it the engine skips the statement (the partition
--      is listed in lp_ops.dropped_partitions), so this migration never fails
--      for want of it.
--   3. the monthly partitions that already exist (which ones depends on the
--      date, so a static CONCURRENTLY statement cannot name them, and
--      CONCURRENTLY is impossible inside a DO block) plainly, one per
--      transaction: a plain build holds a SHARE lock on that partition, which
--      stops its writers (not its readers) for the build. After 0007 the
--      months from the cutover on start empty, so this is usually
--      milliseconds; a partition larger than lp.max_blocking_index_build_mb
--      (default 32 MB: on the 2-core bench machine a 73 MB partition took
--      0.9 s, so 32 MB keeps the stall under the 1 s write-stall target) is
--      refused with the CONCURRENTLY statement to run by hand first, after
--      which a re-run only attaches it. The SHARE lock is requested through
--      lp_ops.with_lock_retries (100 ms attempts), so writers never queue long
--      behind it, and everything here is re-runnable.
--   4. each partition's index is attached (brief ACCESS EXCLUSIVE on that
--      index only); the last attach makes the parent's index valid.
--
-- The old index (course_id, occurred_at) from 0004 is kept though this one
-- serves every query it served: dropping a partitioned index needs ACCESS
-- EXCLUSIVE on every partition, and 0004 must stay re-runnable over the current
-- schema (the engine skips its concurrent build only while an index of that
-- name exists; without one it would run, and fail on the partitioned table).
-- The planner now prefers the covering index even for lookups that visit the
-- heap, so the old one only costs writes; dropping it needs 0004 re-runnable
-- without it first.

-- Up Migration

SET statement_timeout = '30min';
SET ROLE lp_owner;

-- 1. The parent's index: a brief SHARE lock on analytics_events itself. ON ONLY
-- a partitioned table builds nothing (catalog only, instant); CONCURRENTLY is
-- not supported there. The partitions' indexes follow online.
SELECT lp_ops.with_lock_retries('0011 parent index', 'public.analytics_events', ARRAY[
  'CREATE INDEX IF NOT EXISTS analytics_events_course_occurred_cov_idx
     ON ONLY public.analytics_events (course_id, occurred_at) INCLUDE (user_id, event_type)'],
  p_lock_mode => 'ShareLock');

-- 2. The history partition online; the wait for older transactions at the
-- start and end of the build blocks no one, so it gets 0004's bound.
SET lock_timeout = '5s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_events_p_history_course_occurred_cov_idx
  ON analytics_events_p_history (course_id, occurred_at)
  INCLUDE (user_id, event_type);

-- 3 and 4. Every partition without an attached index: build (guarded) and attach.
DO $$
DECLARE
  v_parent_idx constant regclass := 'public.analytics_events_course_occurred_cov_idx';
  v_max_mb numeric := coalesce(nullif(current_setting('lp.max_blocking_index_build_mb', true), ''), '32')::numeric;
  p record;
  v_idx text;
  v_valid boolean;
BEGIN
  FOR p IN
    SELECT c.oid, c.relname::text AS part
      FROM pg_inherits ih JOIN pg_class c ON c.oid = ih.inhrelid
     WHERE ih.inhparent = 'public.analytics_events'::regclass
       AND NOT EXISTS (SELECT FROM pg_index i JOIN pg_inherits ii ON ii.inhrelid = i.indexrelid
                        WHERE i.indrelid = c.oid AND ii.inhparent = v_parent_idx)
     ORDER BY c.relname
  LOOP
    v_idx := p.part || '_course_occurred_cov_idx';
    SELECT i.indisvalid INTO v_valid
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE i.indrelid = p.oid AND ic.relname = v_idx;
    IF v_valid IS NULL AND pg_relation_size(p.oid) > v_max_mb * 1024 * 1024 THEN
      RAISE EXCEPTION 'partition public.% is % MB; building its index without CONCURRENTLY would stop its writers for the whole build. Run first, outside a transaction: CREATE INDEX CONCURRENTLY IF NOT EXISTS % ON public.% (course_id, occurred_at) INCLUDE (user_id, event_type); then apply again (or SET lp.max_blocking_index_build_mb above % to accept the stall)',
        p.part, round(pg_relation_size(p.oid) / 1048576.0), v_idx, p.part, round(pg_relation_size(p.oid) / 1048576.0);
    ELSIF v_valid IS NOT NULL AND NOT v_valid THEN
      RAISE EXCEPTION 'index public.% is INVALID (a failed concurrent build); DROP INDEX CONCURRENTLY IF EXISTS public.%; then apply again', v_idx, v_idx;
    END IF;
    PERFORM lp_ops.with_lock_retries(format('0011 index on %s', p.part), p.oid::regclass, ARRAY[
      format('CREATE INDEX IF NOT EXISTS %I ON public.%I (course_id, occurred_at) INCLUDE (user_id, event_type)', v_idx, p.part),
      format('ALTER INDEX public.analytics_events_course_occurred_cov_idx ATTACH PARTITION public.%I', v_idx)],
      p_lock_mode => 'ShareLock');
    -- One partition per transaction: its SHARE lock ends here, not with the last partition's.
    COMMIT;
  END LOOP;
END
$$;

-- The history partition has its index (or retention dropped it): retention may now drop it.
DELETE FROM lp_ops.partition_holds WHERE partition_name = 'analytics_events_p_history';

RESET lock_timeout;
RESET ROLE;
RESET statement_timeout;
