-- Baseline: the platform's tables as they exist in production today, the way
-- the ORM created them: serial keys, timestamps, soft-delete columns, and no
-- index beyond the primary keys. IF NOT EXISTS makes this a no-op on the
-- production database, where the tables already exist.
--
-- Lint: serial keys and 32-bit integer columns are what the ORM created and
-- what production has; this file records that state, it does not design it.
-- squawk-ignore-file prefer-identity, prefer-bigint-over-int

-- Up Migration

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

CREATE TABLE IF NOT EXISTS users (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  full_name text,
  display_name text,
  phone text,
  date_of_birth date,
  country_code text,
  locale text NOT NULL DEFAULT 'en',
  role text NOT NULL DEFAULT 'learner',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS courses (
  id bigserial PRIMARY KEY,
  instructor_id bigint NOT NULL REFERENCES users (id),
  title text NOT NULL,
  slug text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'draft',
  published_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS lessons (
  id bigserial PRIMARY KEY,
  course_id bigint NOT NULL REFERENCES courses (id),
  title text NOT NULL,
  position integer NOT NULL,
  duration_seconds integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS enrollments (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  course_id bigint NOT NULL REFERENCES courses (id),
  status text NOT NULL DEFAULT 'active',
  progress_percent numeric(5, 2) NOT NULL DEFAULT 0,
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  last_activity_at timestamptz,
  deleted_at timestamptz
);

CREATE TABLE IF NOT EXISTS lesson_progress (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  course_id bigint NOT NULL REFERENCES courses (id),
  lesson_id bigint NOT NULL REFERENCES lessons (id),
  status text NOT NULL DEFAULT 'started',
  progress_percent numeric(5, 2) NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS quiz_attempts (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  lesson_id bigint NOT NULL REFERENCES lessons (id),
  score numeric(5, 2),
  max_score numeric(5, 2) NOT NULL,
  passed boolean,
  started_at timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz
);

CREATE TABLE IF NOT EXISTS course_content (
  id bigserial PRIMARY KEY,
  course_id bigint NOT NULL REFERENCES courses (id),
  lesson_id bigint REFERENCES lessons (id),
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  content_type text NOT NULL DEFAULT 'text',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

-- Append-only logs: no foreign keys, so events and audit entries outlive the
-- rows they describe.
CREATE TABLE IF NOT EXISTS analytics_events (
  id bigserial PRIMARY KEY,
  user_id bigint,
  course_id bigint,
  lesson_id bigint,
  event_type text NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS audit_log (
  id bigserial PRIMARY KEY,
  actor_id bigint,
  action text NOT NULL,
  entity_type text NOT NULL,
  entity_id bigint,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
