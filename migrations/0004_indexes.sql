-- lp:no-transaction
--
-- Indexes for the hot queries, built online: CREATE INDEX CONCURRENTLY outside
-- a transaction, each statement re-runnable (IF NOT EXISTS). If a build fails
-- it leaves an INVALID index behind; the engine drops it before re-running the
-- statement, so it is rebuilt rather than skipped.
--
-- lock_timeout bounds the short lock waits a concurrent build still takes (at
-- its start and end it waits for transactions that hold conflicting locks);
-- statement_timeout bounds the build itself on the largest table.
--
-- Foreign keys: every one has an index whose leading column is the key
-- (noted "FK"), so deletes of parents and joins do not scan the child.

-- Up Migration

SET lock_timeout = '5s';
SET statement_timeout = '30min';

-- Covering: a learner's enrollments with progress, newest first (FK user_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_user_enrolled_idx
  ON enrollments (user_id, enrolled_at DESC)
  INCLUDE (course_id, status, progress_percent, last_activity_at, deleted_at);

-- Covering: a course's lessons in order (FK course_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS lessons_course_position_idx
  ON lessons (course_id, position)
  INCLUDE (title, duration_seconds, deleted_at);

-- Covering: a learner's progress in a course (FK user_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS lesson_progress_user_course_idx
  ON lesson_progress (user_id, course_id)
  INCLUDE (lesson_id, status, progress_percent, completed_at);

-- Partial, live rows: sign-in by email; a soft-deleted account frees its address.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_live_key
  ON users (lower(email))
  WHERE deleted_at IS NULL;

-- Partial + composite filter/sort: the public catalogue, newest published first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS courses_catalog_live_idx
  ON courses (status, published_at DESC)
  WHERE deleted_at IS NULL;

-- Composite filter/sort: a course's roster by status, newest first (FK course_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_course_status_idx
  ON enrollments (course_id, status, enrolled_at DESC);

-- Composite filter/sort: a learner's quiz history, newest first (FK user_id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS quiz_attempts_user_started_idx
  ON quiz_attempts (user_id, started_at DESC);

-- Remaining foreign keys.
CREATE INDEX CONCURRENTLY IF NOT EXISTS courses_instructor_id_idx ON courses (instructor_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS lesson_progress_course_id_idx ON lesson_progress (course_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS lesson_progress_lesson_id_idx ON lesson_progress (lesson_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS quiz_attempts_lesson_id_idx ON quiz_attempts (lesson_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS course_content_course_id_idx ON course_content (course_id);
-- lesson_id is nullable; the FK check always looks up a non-null value.
CREATE INDEX CONCURRENTLY IF NOT EXISTS course_content_lesson_id_idx
  ON course_content (lesson_id)
  WHERE lesson_id IS NOT NULL;

-- Full-text search over the generated column, and fuzzy course titles.
CREATE INDEX CONCURRENTLY IF NOT EXISTS course_content_search_idx
  ON course_content USING gin (search_vector);
CREATE INDEX CONCURRENTLY IF NOT EXISTS courses_title_trgm_idx
  ON courses USING gin (title gin_trgm_ops)
  WHERE deleted_at IS NULL;

-- Analytics and audit lookups by time. The partition conversion (0007) creates
-- the same definitions on the partitioned tables and attaches these.
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_events_course_occurred_idx
  ON analytics_events (course_id, occurred_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_events_user_occurred_idx
  ON analytics_events (user_id, occurred_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_entity_idx
  ON audit_log (entity_type, entity_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_actor_idx
  ON audit_log (actor_id, created_at);

RESET statement_timeout;
RESET lock_timeout;
