-- lp:no-transaction
--
-- The natural key of lesson_progress, (user_id, lesson_id), made unique, so
-- the application's progress write is one INSERT ... ON CONFLICT on it instead
-- of an UPDATE followed by an INSERT when nothing was updated (which, besides
-- two statements' work, races: two sessions can both find no row and both
-- insert). Built online. If the table holds duplicates the build fails
-- naming the key, and leaves an INVALID index that the engine drops before a
-- re-run; remove the duplicates (keep the row with the highest progress) and
-- apply again.

-- Up Migration

SET lock_timeout = '5s';
SET statement_timeout = '30min';

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS lesson_progress_user_lesson_key
  ON lesson_progress (user_id, lesson_id);

RESET statement_timeout;
RESET lock_timeout;
