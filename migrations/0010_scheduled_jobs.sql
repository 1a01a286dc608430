-- Schedules partition maintenance and the materialized-view refreshes with
-- pg_cron where it exists. On Cloud SQL pg_cron needs the database flag
-- cloudsql.enable_pg_cron=on and cron.database_name set to this database (pg_cron
-- lives in one database). Where pg_cron is absent (embedded PostgreSQL in
-- tests, or the flag off) the jobs are skipped with a NOTICE; the provider
-- still runs maintenance on every `pulumi up`.

-- Up Migration

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';
SET LOCAL ROLE lp_owner;

CREATE TABLE IF NOT EXISTS lp_ops.scheduled_jobs (
  jobname text PRIMARY KEY,
  schedule text NOT NULL,
  command text NOT NULL
);
-- Daily at 02:15 UTC, before the 03:00 backup; views hourly at :05. Standard cron syntax.
INSERT INTO lp_ops.scheduled_jobs (jobname, schedule, command) VALUES
  ('lp-partition-maintenance', '15 2 * * *', 'SELECT count(*) FROM lp_ops.maintain_partitions()'),
  ('lp-refresh-analytics-views', '5 * * * *', 'SELECT lp_ops.refresh_analytics_views()')
ON CONFLICT (jobname) DO UPDATE SET schedule = excluded.schedule, command = excluded.command;

-- Schedules every job in lp_ops.scheduled_jobs with cron.schedule (which
-- replaces a job of the same name, so this is idempotent). Returns how many
-- were scheduled; 0 with a NOTICE when pg_cron is not installed here. Runs as
-- the caller, the migration user, which the jobs then run as.
CREATE OR REPLACE FUNCTION lp_ops.schedule_jobs()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  j record;
  n integer := 0;
BEGIN
  IF to_regprocedure('cron.schedule(text,text,text)') IS NULL THEN
    RAISE NOTICE 'pg_cron is not installed in database %; partition maintenance and view refreshes are not scheduled (on Cloud SQL set cloudsql.enable_pg_cron=on and cron.database_name=%)',
      current_database(), current_database();
    RETURN 0;
  END IF;
  FOR j IN SELECT * FROM lp_ops.scheduled_jobs ORDER BY jobname LOOP
    PERFORM cron.schedule(j.jobname, j.schedule, j.command);
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.schedule_jobs() FROM PUBLIC;

-- pg_cron is created and jobs scheduled as the migration user itself.
RESET ROLE;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_cron')
     AND current_database() = current_setting('cron.database_name', true) THEN
    CREATE EXTENSION IF NOT EXISTS pg_cron;
  END IF;
  PERFORM lp_ops.schedule_jobs();
END
$$;
