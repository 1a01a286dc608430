-- Least-privilege roles. Roles are cluster-wide, so creation is idempotent and
-- tolerates another database's migration creating the same role at the same
-- moment. All objects are owned by the NOLOGIN role lp_owner; the migration
-- user (Cloud SQL's postgres-like user, CREATEROLE but not superuser) becomes
-- a member of it with SET so later migrations run as lp_owner.
--
-- Role membership differs between majors, so it is branched on
-- server_version_num (the same privileges result on 14–18):
--   16+  a CREATEROLE creator gets only ADMIN OPTION on a role it creates
--        (createrole_self_grant adds SET/INHERIT), may grant only roles it
--        holds ADMIN on, and membership carries separate INHERIT and SET
--        options (GRANT ... WITH INHERIT TRUE, SET TRUE; pg_has_role 'SET').
--   ≤15  CREATEROLE alone may grant any non-superuser role, the creator gets no
--        membership, and a membership always allows SET ROLE and inherits
--        (the migration user has INHERIT): a plain GRANT is the equivalent.
--        createrole_self_grant, 'SET' and the WITH options do not exist there.
-- Either way the migration user ends up able to SET ROLE lp_owner and use its
-- privileges, able to grant the three group roles to logins, and without the
-- group roles' own privileges.
--
-- Per-role limits (documented settings, not magic numbers):
--   lp_app_rw        statement_timeout 15s  (web requests; the slowest hot path is ~1s)
--                    idle_in_transaction_session_timeout 30s, connection limit 500
--                    (10 instances x 20 pool + headroom for deploy overlap)
--   lp_analytics_ro  statement_timeout 5min (reports), idle 5min, connection limit 20
--   lp_backup_ro     statement_timeout 0 (a logical export reads whole tables),
--                    idle 10min, connection limit 4 (parallel pg_dump jobs)
-- PostgreSQL applies role settings only to the role a session logs in as; the
-- reconcile step (lib/migrate/maintenance.ts) copies them to the login users.
--
-- Runs outside a transaction: handing each table to lp_owner takes an ACCESS
-- EXCLUSIVE lock on it, and in one transaction those locks would pile up (a
-- long read of audit_log would keep users locked until the last table). Each
-- table is handed over in its own short transaction through
-- lp_ops.with_lock_retries. Every statement here is idempotent, so a failure
-- part-way is simply re-run.
-- lp:no-transaction

-- Up Migration

SET lock_timeout = '5s';
SET statement_timeout = '1min';
DO $$
DECLARE
  r text;
  v_pg16 constant boolean := current_setting('server_version_num')::int >= 160000;
BEGIN
  FOREACH r IN ARRAY ARRAY['lp_owner', 'lp_app_rw', 'lp_analytics_ro', 'lp_backup_ro'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      IF v_pg16 THEN
        -- 16+: the creator gets ADMIN on the new role; for lp_owner also SET
        -- and INHERIT, to create objects as it.
        PERFORM set_config('createrole_self_grant', CASE WHEN r = 'lp_owner' THEN 'set, inherit' ELSE '' END, true);
      END IF;
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        RAISE NOTICE 'role % was created concurrently by another database''s migration', r;
      END;
    END IF;
  END LOOP;
  IF v_pg16 THEN
    IF NOT pg_has_role(current_user, 'lp_owner', 'SET') THEN
      EXECUTE format('GRANT lp_owner TO %I WITH INHERIT TRUE, SET TRUE', current_user);
    END IF;
  -- ≤15: 'USAGE' means a membership whose privileges are inherited, which
  -- also allows SET ROLE.
  ELSIF NOT pg_has_role(current_user, 'lp_owner', 'USAGE') THEN
    EXECUTE format('GRANT lp_owner TO %I', current_user);
  END IF;
END
$$;

ALTER ROLE lp_app_rw CONNECTION LIMIT 500;
ALTER ROLE lp_app_rw SET statement_timeout = '15s';
ALTER ROLE lp_app_rw SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE lp_analytics_ro CONNECTION LIMIT 20;
ALTER ROLE lp_analytics_ro SET statement_timeout = '5min';
ALTER ROLE lp_analytics_ro SET idle_in_transaction_session_timeout = '5min';
ALTER ROLE lp_backup_ro CONNECTION LIMIT 4;
ALTER ROLE lp_backup_ro SET statement_timeout = 0;
ALTER ROLE lp_backup_ro SET idle_in_transaction_session_timeout = '10min';

-- lp_owner creates and owns the application's objects in public (a new owner
-- needs CREATE on the schema).
GRANT USAGE, CREATE ON SCHEMA public TO lp_owner;

CREATE SCHEMA IF NOT EXISTS lp_ops AUTHORIZATION lp_owner;
SET ROLE lp_owner;

-- Sessions holding a lock on p_table, its sequences or its partitions that
-- conflicts with p_mode (the lock the step asks for), oldest transaction
-- first, for error messages: pid, application_name and the locks held, plus
-- query start and state where this role may see them (other users' sessions
-- need pg_read_all_stats; the engine adds them as the session user,
-- lib/migrate/blockers.ts). Only conflicting holders are named, so a long
-- read (ACCESS SHARE) is never blamed for a step that asks for SHARE UPDATE
-- EXCLUSIVE; conflicts per "Conflicting Lock Modes",
-- https://www.postgresql.org/docs/current/explicit-locking.html#TABLE-LOCK-COMPATIBILITY
CREATE OR REPLACE FUNCTION lp_ops.lock_holders(p_table regclass, p_mode text DEFAULT 'AccessExclusiveLock')
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH rels AS (
    SELECT p_table::oid AS rel, false AS partition
    UNION SELECT d.objid, false FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
           WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = p_table
    UNION SELECT i.inhrelid, true FROM pg_inherits i WHERE i.inhparent = p_table
  ), holders AS (
    -- A lock on the table itself covers its partitions: list those only when nothing else is held.
    SELECT l.pid, coalesce(string_agg(DISTINCT format('%s on %s', l.mode, l.relation::regclass), ', ') FILTER (WHERE NOT rels.partition),
                           string_agg(DISTINCT format('%s on %s', l.mode, l.relation::regclass), ', ')) AS locks
      FROM pg_locks l JOIN rels ON rels.rel = l.relation
     WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
       AND l.mode = ANY (CASE p_mode
             WHEN 'ShareUpdateExclusiveLock' THEN ARRAY['ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']
             WHEN 'ShareLock' THEN ARRAY['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']
             ELSE ARRAY['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock',
                        'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'] END)
     GROUP BY l.pid
  )
  SELECT coalesce(string_agg(format('pid %s (application_name %s, holds %s%s)', h.pid, coalesce(nullif(a.application_name, ''), '""'), h.locks,
                                    CASE WHEN a.query_start IS NULL THEN '' ELSE format(', query started %s, state %s', a.query_start, a.state) END),
                             '; ' ORDER BY a.xact_start NULLS LAST, h.pid),
                  'no session holds a conflicting lock on it now')
    FROM holders h LEFT JOIN pg_stat_activity a ON a.pid = h.pid
$$;
REVOKE ALL ON FUNCTION lp_ops.lock_holders(regclass, text) FROM PUBLIC;

-- The one lock-retry primitive, after GitLab's with_lock_retries
-- (lib/gitlab/database/migrations/lock_retries_helpers.rb,
-- https://rubydoc.info/github/gitlabhq/gitlabhq/Gitlab/Database/Migrations/LockRetriesHelpers)
-- and strong_migrations' lock_timeout_retries (https://github.com/ankane/strong_migrations).
-- Unlike GitLab it makes no last attempt without lock_timeout: it gives up
-- and names the blocker instead of queueing writers. Runs p_statements, which take a
-- strong lock on p_table, each attempt in a sub-transaction under a short
-- lock_timeout, so a writer queued behind the request waits at most that
-- long. A timed-out attempt rolls back its sub-transaction, which releases
-- every lock it took; the next attempt follows after a growing pause (20 ms
-- doubling to 1 s, with jitter), until the total bound, when the error names
-- p_what, the table and the sessions holding locks on it, with SQLSTATE 55P03.
-- Locks the caller's transaction took before the call stay held across the
-- retries, so take one table's lock per transaction (0002 commits after each).
-- Defaults: lp.lock_retry_timeout_ms (100) and lp.lock_retry_total_ms (30000).
-- p_lock_mode is the weakest lock the statements take on p_table (ACCESS
-- EXCLUSIVE unless said otherwise); the error names only sessions whose locks
-- conflict with it.
-- The statements run with this function's search_path: schema-qualify names.
CREATE OR REPLACE FUNCTION lp_ops.with_lock_retries(p_what text, p_table regclass, p_statements text[],
                                                    p_lock_timeout_ms integer DEFAULT NULL, p_total_ms integer DEFAULT NULL,
                                                    p_lock_mode text DEFAULT 'AccessExclusiveLock')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_lock_ms constant integer := coalesce(p_lock_timeout_ms, nullif(current_setting('lp.lock_retry_timeout_ms', true), '')::integer, 100);
  v_total_ms constant integer := coalesce(p_total_ms, nullif(current_setting('lp.lock_retry_total_ms', true), '')::integer, 30000);
  v_started constant timestamptz := clock_timestamp();
  v_caller_lock_timeout constant text := current_setting('lock_timeout');
  v_pause_ms numeric := 20;
  v_attempt integer := 0;
  v_sql text;
  v_holders text;
BEGIN
  IF p_lock_mode NOT IN ('AccessExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock') THEN
    RAISE EXCEPTION 'with_lock_retries: lock mode % is not one of AccessExclusiveLock, ShareUpdateExclusiveLock, ShareLock', p_lock_mode
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  LOOP
    v_attempt := v_attempt + 1;
    BEGIN
      PERFORM set_config('lock_timeout', v_lock_ms || 'ms', true);
      FOREACH v_sql IN ARRAY p_statements LOOP
        EXECUTE v_sql;
      END LOOP;
      -- The caller's later statements keep the caller's lock_timeout.
      PERFORM set_config('lock_timeout', v_caller_lock_timeout, true);
      RETURN v_attempt;
    EXCEPTION WHEN lock_not_available THEN
      NULL; -- rolled back: nothing of this attempt is held any more
    END;
    v_holders := lp_ops.lock_holders(p_table, p_lock_mode);
    IF extract(epoch FROM clock_timestamp() - v_started) * 1000 + v_pause_ms > v_total_ms THEN
      RAISE EXCEPTION '%: could not lock % within % ms (% attempts, lock_timeout % ms each); blocked by %',
        p_what, p_table, v_total_ms, v_attempt, v_lock_ms, v_holders
        USING ERRCODE = 'lock_not_available',
              HINT = format('Wait for those sessions to finish, or end one with SELECT pg_terminate_backend(pid); then run it again. Live waits: SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity WHERE wait_event_type = %L', 'Lock');
    END IF;
    RAISE NOTICE '%: % is busy (attempt %, blocked by %); retrying in % ms', p_what, p_table, v_attempt, v_holders, round(v_pause_ms);
    PERFORM pg_sleep(v_pause_ms / 1000.0);
    v_pause_ms := least(v_pause_ms * 2, 1000) * (0.75 + random() / 2);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.with_lock_retries(text, regclass, text[], integer, integer, text) FROM PUBLIC;
RESET ROLE;

-- Hand every existing table (and, with it, its owned sequences) to lp_owner,
-- one table per transaction, each lock taken briefly with retries.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid::regclass AS rel, c.relname FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
       AND c.relowner <> 'lp_owner'::regrole
       -- extension members (pg_stat_statements' views) belong to their extension
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY c.relname
  LOOP
    PERFORM lp_ops.with_lock_retries('0002 ownership', t.rel, ARRAY[format('ALTER TABLE public.%I OWNER TO lp_owner', t.relname)]);
    COMMIT;
  END LOOP;
END
$$;

-- Nobody but the schema owner creates objects in public (PostgreSQL 15+ default;
-- explicit for databases created on older majors and upgraded).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- Both statements above only warn when the migration user may not grant on
-- public. On 15+ public belongs to pg_database_owner, which the owner of the
-- database (Cloud SQL's cloudsqlsuperuser) is; on 14 it belongs to whoever owns
-- it in template1, and PUBLIC may create in it by default. Refuse to go on with
-- a schema anyone may create objects in.
DO $$
DECLARE
  v_owner constant text := (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public');
BEGIN
  IF has_schema_privilege('public', 'public', 'CREATE') OR NOT has_schema_privilege('lp_owner', 'public', 'USAGE, CREATE') THEN
    RAISE EXCEPTION 'schema public is owned by %, and % cannot change its privileges (PUBLIC must lose CREATE, lp_owner needs USAGE and CREATE). As % or a superuser run: ALTER SCHEMA public OWNER TO pg_database_owner (as PostgreSQL 15+ has it), or REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE, CREATE ON SCHEMA public TO lp_owner; then apply again',
      v_owner, current_user, v_owner;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO lp_app_rw, lp_analytics_ro, lp_backup_ro;

-- Application: DML, no DDL (no TRUNCATE, REFERENCES or TRIGGER either).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lp_app_rw;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO lp_app_rw;
-- The audit log is append-only for the application (its partitions too, once
-- 0007 has partitioned it and this migration is re-run over it).
DO $$
DECLARE
  t regclass;
BEGIN
  -- pg_partition_tree lists nothing for a table that is not partitioned
  FOR t IN SELECT 'public.audit_log'::regclass UNION SELECT relid FROM pg_partition_tree('public.audit_log') LOOP
    EXECUTE format('REVOKE UPDATE, DELETE ON %s FROM lp_app_rw', t);
  END LOOP;
END
$$;

-- Logical export reads everything.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO lp_backup_ro;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO lp_backup_ro;

-- Analytics: learning activity and the catalogue, and users without personal data.
GRANT SELECT ON analytics_events, courses, lessons, enrollments, lesson_progress, quiz_attempts TO lp_analytics_ro;
GRANT SELECT (id, country_code, locale, role, created_at, deleted_at) ON users TO lp_analytics_ro;

-- Future tables and partitions created by lp_owner get the same grants. No
-- default grant for lp_analytics_ro: a new table may hold personal data, so
-- analytics access is granted table by table.
ALTER DEFAULT PRIVILEGES FOR ROLE lp_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lp_app_rw;
ALTER DEFAULT PRIVILEGES FOR ROLE lp_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO lp_app_rw;
ALTER DEFAULT PRIVILEGES FOR ROLE lp_owner IN SCHEMA public GRANT SELECT ON TABLES TO lp_backup_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE lp_owner IN SCHEMA public GRANT SELECT ON SEQUENCES TO lp_backup_ro;
-- Functions are not executable by PUBLIC by default; each is granted explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE lp_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

RESET statement_timeout;
RESET lock_timeout;
