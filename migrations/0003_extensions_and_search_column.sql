-- Extensions and the stored full-text column of course_content.
--
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner creates
-- it. pg_stat_statements is on Cloud SQL's allow-list for cloudsqlsuperuser
-- members; on a server where it is neither installed nor creatable this
-- migration fails with PostgreSQL's own "permission denied" naming it.
--
-- Adding a STORED generated column rewrites course_content under an ACCESS
-- EXCLUSIVE lock. That is acceptable for this table only because it is the
-- course catalogue's text (bounded by the number of lessons, not by traffic);
-- the lock is requested in short attempts, so the migration never queues
-- writers behind live traffic. A VIRTUAL column (PostgreSQL 18) would avoid
-- the rewrite, but PostgreSQL cannot index virtual generated columns.

-- Up Migration

SET LOCAL lock_timeout = '3s';
-- Bounds the course_content rewrite; the catalogue text rewrites in seconds.
SET LOCAL statement_timeout = '10min';

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

SET LOCAL ROLE lp_owner;

-- The lock is requested in 100 ms attempts (lp_ops.with_lock_retries), so
-- writers queue behind the request for at most one attempt; the rewrite
-- itself then holds it (see the header).
SELECT lp_ops.with_lock_retries('0003 search column', 'public.course_content', ARRAY[
  $$ALTER TABLE public.course_content
      ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
      ) STORED$$]);
