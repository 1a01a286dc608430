-- Pre-aggregated analytics as materialized views. Each has a unique index so
-- REFRESH MATERIALIZED VIEW CONCURRENTLY works (readers are never blocked);
-- lp_ops.refresh_analytics_views() refreshes both and is scheduled by 0010.

-- Up Migration

SET LOCAL lock_timeout = '5s';
-- Creating the views computes them once; bounded for a large analytics_events.
SET LOCAL statement_timeout = '30min';
SET LOCAL ROLE lp_owner;

-- Distinct learners with any event in a course per UTC day.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics_daily_active_learners AS
SELECT e.course_id,
       (e.occurred_at AT TIME ZONE 'UTC')::date AS activity_date,
       count(DISTINCT e.user_id) AS active_learners,
       count(*) AS events
  FROM analytics_events e
 WHERE e.user_id IS NOT NULL AND e.course_id IS NOT NULL
 GROUP BY e.course_id, (e.occurred_at AT TIME ZONE 'UTC')::date;

-- Lint: the view was created just above, in this transaction; nobody can be
-- reading it, so a plain (non-concurrent) build blocks no one.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX IF NOT EXISTS analytics_daily_active_learners_key
  ON analytics_daily_active_learners (course_id, activity_date);

-- Per live course: enrolled learners, those who started a lesson, those past
-- half the course's lessons, and those who completed it.
CREATE MATERIALIZED VIEW IF NOT EXISTS course_completion_funnel AS
WITH lesson_counts AS (
  SELECT course_id, count(*) AS lessons
    FROM lessons
   WHERE deleted_at IS NULL
   GROUP BY course_id
), progress AS (
  SELECT user_id, course_id, count(*) FILTER (WHERE status = 'completed') AS lessons_completed
    FROM lesson_progress
   GROUP BY user_id, course_id
)
SELECT c.id AS course_id,
       count(e.user_id) AS enrolled,
       count(p.user_id) AS started,
       count(p.user_id) FILTER (WHERE lc.lessons > 0 AND p.lessons_completed * 2 >= lc.lessons) AS halfway,
       count(e.user_id) FILTER (WHERE e.completed_at IS NOT NULL) AS completed
  FROM courses c
  LEFT JOIN lesson_counts lc ON lc.course_id = c.id
  LEFT JOIN enrollments e ON e.course_id = c.id AND e.deleted_at IS NULL
  LEFT JOIN progress p ON p.user_id = e.user_id AND p.course_id = e.course_id
 WHERE c.deleted_at IS NULL
 GROUP BY c.id;

-- Lint: as above, the view is new in this transaction.
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX IF NOT EXISTS course_completion_funnel_key
  ON course_completion_funnel (course_id);

GRANT SELECT ON analytics_daily_active_learners, course_completion_funnel TO lp_analytics_ro, lp_backup_ro;
-- Default privileges gave lp_app_rw DML on the new relations; views need no writers.
REVOKE INSERT, UPDATE, DELETE ON analytics_daily_active_learners, course_completion_funnel FROM lp_app_rw;

-- Runs as lp_owner (the views' owner, which REFRESH requires).
CREATE OR REPLACE FUNCTION lp_ops.refresh_analytics_views()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY public.analytics_daily_active_learners;
  REFRESH MATERIALIZED VIEW CONCURRENTLY public.course_completion_funnel;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.refresh_analytics_views() FROM PUBLIC;
