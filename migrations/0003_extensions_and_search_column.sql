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
-- lock_timeout keeps the migration from queueing behind live traffic, and the
-- engine retries it. A VIRTUAL column (PostgreSQL 18) would avoid the rewrite,
-- but PostgreSQL cannot index virtual generated columns.

-- Up Migration

SET LOCAL lock_timeout = '3s';
-- Bounds the course_content rewrite; the catalogue text rewrites in seconds.
SET LOCAL statement_timeout = '10min';

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

SET LOCAL ROLE lp_owner;

-- Lint: the generated column rewrites course_content, a small catalogue table
-- (see the header); lock_timeout bounds the wait for its lock.
ALTER TABLE course_content
  -- squawk-ignore adding-field-with-default
  ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
  ) STORED;
