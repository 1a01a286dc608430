-- Partition management: the settings table (also the retention settings for
-- analytics and audit data), the one maintenance function, and the procedure
-- that converts a plain table to monthly range partitions online.
--
-- No DEFAULT partition: a default partition silently collects rows for months
-- that have no partition, and then creating that month's partition must scan
-- (and lock) the default partition and fails if it holds matching rows. Instead
-- partitions exist months ahead (months_ahead), maintenance runs daily (pg_cron)
-- and on every `pulumi up`, so an insert never finds its month missing unless
-- maintenance has been failing for months_ahead months, and then it fails loudly.

-- Up Migration

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';
SET LOCAL ROLE lp_owner;

-- Defaults equal the stack config defaults (lp-db:partitionMonthsAhead,
-- analyticsRetentionMonths, auditRetentionMonths); the provider overwrites them
-- from the stack config on every up. Retention counts whole months before the
-- current one: 13 keeps the current month plus the 13 before it.
CREATE TABLE IF NOT EXISTS lp_ops.partition_settings (
  parent_table text PRIMARY KEY,
  partition_column text NOT NULL,
  -- Lint: month counts are bounded by the CHECKs; bigint would only mislead.
  -- squawk-ignore prefer-bigint-over-int
  months_ahead integer NOT NULL CHECK (months_ahead BETWEEN 1 AND 24),
  -- Lint: as above, a bounded month count.
  -- squawk-ignore prefer-bigint-over-int
  retention_months integer NOT NULL CHECK (retention_months >= 1)
);
INSERT INTO lp_ops.partition_settings (parent_table, partition_column, months_ahead, retention_months)
VALUES ('analytics_events', 'occurred_at', 3, 13), ('audit_log', 'created_at', 3, 84)
ON CONFLICT (parent_table) DO NOTHING;

-- One row per converted table: the cutover chosen once (so a re-run after a
-- failure part-way uses the same bound) and how long the swap held its lock.
CREATE TABLE IF NOT EXISTS lp_ops.partition_conversion (
  parent_table text PRIMARY KEY,
  cutover timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  validated_at timestamptz,
  swapped_at timestamptz,
  swap_lock_ms numeric
);

-- Partitions retention must keep though they are old enough to drop, and why
-- (e.g. a history partition a later migration still builds an index on).
-- Maintenance keeps them, warns and reports them as 'held'.
CREATE TABLE IF NOT EXISTS lp_ops.partition_holds (
  partition_name text PRIMARY KEY,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Partitions retention has dropped. A later CREATE INDEX CONCURRENTLY naming
-- one of them is skipped by the migration engine instead of failing for ever.
CREATE TABLE IF NOT EXISTS lp_ops.dropped_partitions (
  partition_name text PRIMARY KEY,
  parent_table text NOT NULL,
  dropped_at timestamptz NOT NULL DEFAULT now()
);

-- Range bounds of each partition of public.<parent>; MINVALUE/MAXVALUE as -/+infinity.
CREATE OR REPLACE FUNCTION lp_ops.partition_bounds(p_parent text)
RETURNS TABLE (partition_name text, lower_bound timestamptz, upper_bound timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c.relname::text,
         CASE WHEN m[1] = 'MINVALUE' THEN '-infinity'::timestamptz ELSE btrim(m[1], '''')::timestamptz END,
         CASE WHEN m[2] = 'MAXVALUE' THEN 'infinity'::timestamptz ELSE btrim(m[2], '''')::timestamptz END
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \((.*)\) TO \((.*)\)') AS m
   WHERE i.inhparent = format('public.%I', p_parent)::regclass
$$;

-- Makes the table grants of public.<p_to> equal those of public.<p_from>
-- (owner aside). Runs as the caller: lp_owner, who owns both. Grantee names
-- come from regrole's output, which is already quoted where needed (an IAM
-- login such as "analyst-sa@my-project-1.iam"), so they are formatted with
-- %s, never %I.
CREATE OR REPLACE FUNCTION lp_ops.copy_table_grants(p_from text, p_to text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT DISTINCT a.grantee::regrole::text AS grantee
      FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = format('public.%I', p_to)::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
  LOOP
    EXECUTE format('REVOKE ALL ON public.%I FROM %s', p_to, r.grantee);
  END LOOP;
  FOR r IN
    SELECT a.grantee::regrole::text AS grantee, a.privilege_type
      FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = format('public.%I', p_from)::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
  LOOP
    EXECUTE format('GRANT %s ON public.%I TO %s', r.privilege_type, p_to, r.grantee);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.copy_table_grants(text, text) FROM PUBLIC;

-- Creates the partitions for the month of p_as_of (default: the server's
-- now(), never a client's clock) and months_ahead months after it, then
-- detaches and drops partitions entirely older than retention_months whole
-- months before p_as_of's month.
--
-- Locks: a new partition is made as a plain table and then attached, because
-- ATTACH PARTITION takes only SHARE UPDATE EXCLUSIVE on the parent, which
-- readers and writers never conflict with, while CREATE TABLE ... PARTITION OF
-- takes ACCESS EXCLUSIVE and would queue every writer behind a long read.
-- The new table is empty, so attaching it needs no pre-validated CHECK (the
-- range scan finds nothing). The attach goes through lp_ops.with_lock_retries,
-- so a conflicting holder (DDL, ANALYZE, another attach) fails maintenance
-- within a bound, naming it. Dropping needs ACCESS EXCLUSIVE on the parent,
-- held to the end of the transaction: drops come after every creation and
-- get one short attempt each; a busy parent keeps its partition until the
-- next run (a WARNING), so writers wait at most one attempt per drop.
--
-- Runs as lp_owner (SECURITY DEFINER) so new partitions are owned by it and
-- get its default privileges. Serialised by a transaction-scoped advisory
-- lock, so concurrent calls (pg_cron and an `up`) wait for each other and the
-- second finds the work done.
CREATE OR REPLACE FUNCTION lp_ops.maintain_partitions(p_as_of timestamptz DEFAULT now())
RETURNS TABLE (action text, partition_name text, detail text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET lock_timeout = '5s'
AS $$
DECLARE
  v_as_of constant timestamptz := coalesce(p_as_of, now());
  s record;
  p record;
  v_parent regclass;
  v_month timestamptz;
  v_next timestamptz;
  v_cutoff timestamptz;
  v_name text;
  v_reason text;
  v_cutover timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('lp_ops.maintain_partitions'));
  FOR s IN SELECT * FROM lp_ops.partition_settings ORDER BY parent_table LOOP
    v_parent := to_regclass(format('public.%I', s.parent_table));
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = v_parent) IS DISTINCT FROM 'p' THEN
      -- A conversion whose session died before it could clean up leaves its
      -- bound (convert_to_monthly_partitions' CHECK (<column> < cutover)),
      -- which rejects every write from the cutover on. A running conversion
      -- always has its cutover at least a month ahead (it picks the start of
      -- the month after next and replaces an earlier one), so a bound whose
      -- cutover is less than a week away (by the server's clock) is left
      -- over: remove it. Maintenance runs daily and on every up, so that
      -- happens days before it could reject a write; failing to is an error.
      -- The cutover is read from the bound itself: CHECK ((<column> < '<cutover>'::timestamp with time zone)).
      SELECT substring(pg_get_constraintdef(k.oid) FROM '''([^'']+)''::timestamp with time zone')::timestamptz INTO v_cutover
        FROM pg_constraint k WHERE k.conrelid = v_parent AND k.conname = s.parent_table || '_history_bound';
      IF v_cutover < now() + interval '7 days' THEN
        PERFORM lp_ops.with_lock_retries(
          format('partition maintenance (remove the bound %s_history_bound left by a stopped conversion; it rejects rows dated from %s)',
                 s.parent_table, to_char(v_cutover, 'YYYY-MM-DD HH24:MI "UTC"')),
          v_parent, ARRAY[format('ALTER TABLE public.%I DROP CONSTRAINT IF EXISTS %I', s.parent_table, s.parent_table || '_history_bound')]);
        RAISE WARNING 'maintain_partitions: removed %_history_bound from public.%, left by a partition conversion that stopped; it would have rejected rows dated from %',
          s.parent_table, s.parent_table, to_char(v_cutover, 'YYYY-MM-DD HH24:MI "UTC"');
        action := 'bound removed';
        partition_name := s.parent_table || '_history_bound';
        detail := format('left by a stopped conversion; cutover %s', to_char(v_cutover, 'YYYY-MM-DD HH24:MI "UTC"'));
        RETURN NEXT;
      END IF;
      RAISE NOTICE 'maintain_partitions: public.% is not partitioned (yet); skipped', s.parent_table;
      CONTINUE;
    END IF;
    FOR i IN 0 .. s.months_ahead LOOP
      v_month := date_trunc('month', v_as_of) + make_interval(months => i);
      v_next := v_month + interval '1 month';
      CONTINUE WHEN EXISTS (
        SELECT FROM lp_ops.partition_bounds(s.parent_table) b
         WHERE b.lower_bound < v_next AND b.upper_bound > v_month);
      v_name := format('%s_p%s', s.parent_table, to_char(v_month, 'YYYYMM'));
      EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS)', v_name, s.parent_table);
      -- Default privileges granted the table lp_owner's usual grants; trim it
      -- to its parent's (e.g. audit_log is append-only for lp_app_rw) and add
      -- the parent's table-specific ones (lp_analytics_ro on analytics_events).
      PERFORM lp_ops.copy_table_grants(s.parent_table, v_name);
      PERFORM lp_ops.with_lock_retries(format('partition maintenance (create %s)', v_name), v_parent,
        ARRAY[format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)', s.parent_table, v_name, v_month, v_next)],
        p_lock_mode => 'ShareUpdateExclusiveLock');
      action := 'created';
      partition_name := v_name;
      detail := NULL;
      RETURN NEXT;
    END LOOP;
  END LOOP;

  FOR s IN SELECT * FROM lp_ops.partition_settings ORDER BY parent_table LOOP
    v_parent := to_regclass(format('public.%I', s.parent_table));
    CONTINUE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = v_parent) IS DISTINCT FROM 'p';
    v_cutoff := date_trunc('month', v_as_of) - make_interval(months => s.retention_months);
    FOR p IN
      SELECT b.partition_name FROM lp_ops.partition_bounds(s.parent_table) b
       WHERE b.upper_bound <= v_cutoff ORDER BY b.upper_bound
    LOOP
      SELECT h.reason INTO v_reason FROM lp_ops.partition_holds h WHERE h.partition_name = p.partition_name;
      IF FOUND THEN
        RAISE WARNING 'maintain_partitions: % is past % months of retention but held (%); kept', p.partition_name, s.retention_months, v_reason;
        action := 'held';
        partition_name := p.partition_name;
        detail := v_reason;
        RETURN NEXT;
        CONTINUE;
      END IF;
      BEGIN
        PERFORM lp_ops.with_lock_retries(format('partition maintenance (drop %s)', p.partition_name), v_parent,
          ARRAY[format('ALTER TABLE public.%I DETACH PARTITION public.%I', s.parent_table, p.partition_name),
                format('DROP TABLE public.%I', p.partition_name)],
          NULL, 0);
        INSERT INTO lp_ops.dropped_partitions (partition_name, parent_table) VALUES (p.partition_name, s.parent_table)
          ON CONFLICT ON CONSTRAINT dropped_partitions_pkey DO UPDATE SET dropped_at = now();
        action := 'dropped';
        partition_name := p.partition_name;
        detail := NULL;
        RETURN NEXT;
      EXCEPTION WHEN lock_not_available THEN
        -- Busy parent: keep the partition this time; the next run drops it.
        RAISE WARNING 'maintain_partitions: % is busy; % kept until the next run', s.parent_table, p.partition_name;
      END;
    END LOOP;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.maintain_partitions(timestamptz) FROM PUBLIC;

-- Converts public.<p_table> (a plain table with a bigint id and a NOT NULL
-- timestamptz <p_column>) to a table partitioned by month on <p_column>, online:
--   0. rows dated at or after the cutover are looked for first: they would
--      fail the bound, so they are reported (count, ids, the choice to make)
--      before anything changes
--   1. CHECK (<p_column> < cutover) NOT VALID            brief ACCESS EXCLUSIVE
--   2. VALIDATE CONSTRAINT                                SHARE UPDATE EXCLUSIVE: reads and writes go on
--   3. primary key (id, <p_column>) from the unique index built CONCURRENTLY by 0006   brief ACCESS EXCLUSIVE
--   4. the new partitioned parent with the same columns, defaults and indexes     no lock on the old table
--   5. swap: rename both, move the id sequence, attach the old table as the
--      partition FROM (MINVALUE) TO (cutover) (no scan: the validated CHECK
--      proves the bound) and copy its grants                brief ACCESS EXCLUSIVE
--   6. partitions from cutover on, via maintain_partitions
-- Every ACCESS EXCLUSIVE step goes through lp_ops.with_lock_retries (100 ms
-- attempts, retried with backoff), so writers queue at most one attempt.
-- Each step commits and is skipped when already done, so a failed run is
-- simply run again. A step that fails removes the bound (step 1's CHECK)
-- before the error is raised, because a bound left behind would reject every
-- write dated from the cutover on; the error names the table, the step and
-- that date. The cutover is the start of the month after next, so rows
-- written during the conversion (stamped now()) satisfy the CHECK; a re-run
-- keeps the recorded cutover unless it is earlier than that (then it picks a
-- new one). Must be CALLed outside a transaction block.
CREATE OR REPLACE PROCEDURE lp_ops.convert_to_monthly_partitions(p_table text, p_column text)
LANGUAGE plpgsql
AS $$
DECLARE
  v_old regclass := to_regclass(format('public.%I', p_table));
  v_what constant text := format('convert_to_monthly_partitions(public.%I)', p_table);
  v_new constant text := p_table || '_partitioned';
  v_hist constant text := p_table || '_p_history';
  v_check constant text := p_table || '_history_bound';
  v_key_index constant text := format('%s_id_%s_key', p_table, p_column);
  v_earliest constant timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months') AT TIME ZONE 'UTC';
  v_steps constant text[] := ARRAY['1 (bound)', '2 (validate)', '3 (primary key)', '4 (new parent)', '5 (swap)'];
  v_cutover timestamptz;
  v_deadline text;
  v_pkey text;
  v_seq text;
  v_swap text[];
  v_count bigint;
  v_ids text;
  v_latest timestamptz;
  v_err text;
  v_state text;
  v_failed text;
  v_cleanup text;
  v_def text;
  r record;
BEGIN
  IF v_old IS NULL THEN
    RAISE EXCEPTION '%: table public.% does not exist', v_what, p_table;
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = v_old) = 'p' THEN
    RAISE NOTICE '%: already partitioned', v_what;
    RETURN;
  END IF;

  SELECT cutover INTO v_cutover FROM lp_ops.partition_conversion WHERE parent_table = p_table;
  IF v_cutover IS NULL OR v_cutover < v_earliest THEN
    IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_check) THEN
      PERFORM lp_ops.with_lock_retries(v_what || ': removing a stale bound', v_old,
        ARRAY[format('ALTER TABLE public.%I DROP CONSTRAINT IF EXISTS %I', p_table, v_check)]);
    END IF;
    v_cutover := v_earliest;
    INSERT INTO lp_ops.partition_conversion (parent_table, cutover) VALUES (p_table, v_cutover)
      ON CONFLICT (parent_table) DO UPDATE SET cutover = excluded.cutover, started_at = now(), validated_at = NULL;
  END IF;
  v_deadline := to_char(v_cutover AT TIME ZONE 'UTC', 'YYYY-MM-DD');
  COMMIT;

  -- 0. Rows the bound would reject, found before anything changes.
  IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_check AND convalidated) THEN
    EXECUTE format('SELECT count(*), string_agg(id::text, '', '' ORDER BY id) FILTER (WHERE n <= 20), max(%1$I)
                      FROM (SELECT id, %1$I, row_number() OVER (ORDER BY id) AS n FROM public.%2$I WHERE %1$I >= $1) x',
                   p_column, p_table)
      INTO v_count, v_ids, v_latest USING v_cutover;
    IF v_count > 0 THEN
      RAISE EXCEPTION '%: step 0 (pre-check): % % dated at or after the cutover % (latest %), ids: %; nothing was changed. '
                      'Choose: correct or delete those rows (a client with a wrong clock), or move the cutover past them: '
                      'UPDATE lp_ops.partition_conversion SET cutover = % WHERE parent_table = %; then apply again (docs/runbook.md#stuck-partition-conversion)',
        v_what, v_count, CASE WHEN v_count = 1 THEN 'row' ELSE 'rows' END, v_deadline, v_latest,
        v_ids || CASE WHEN v_count > 20 THEN format(' and %s more', v_count - 20) ELSE '' END,
        quote_literal((date_trunc('month', v_latest AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'), quote_literal(p_table)
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;

  FOR i IN 1 .. 5 LOOP
    BEGIN
      CASE i
      WHEN 1 THEN
        -- The bound as a NOT VALID check: new rows are checked from now on.
        IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_check) THEN
          PERFORM lp_ops.with_lock_retries(v_what || ': step 1 (bound)', v_old,
            ARRAY[format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (%I < %L) NOT VALID', p_table, v_check, p_column, v_cutover)]);
        END IF;
      WHEN 2 THEN
        -- Validate existing rows without blocking writes.
        IF NOT (SELECT convalidated FROM pg_constraint WHERE conrelid = v_old AND conname = v_check) THEN
          EXECUTE format('ALTER TABLE public.%I VALIDATE CONSTRAINT %I', p_table, v_check);
          UPDATE lp_ops.partition_conversion SET validated_at = clock_timestamp() WHERE parent_table = p_table;
        END IF;
      WHEN 3 THEN
        -- Primary key (id, p_column) from the prepared unique index.
        IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_key_index AND contype = 'p') THEN
          IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                          WHERE i.indrelid = v_old AND c.relname = v_key_index AND i.indisvalid AND i.indisunique) THEN
            RAISE EXCEPTION 'valid unique index public.% is missing; run migration 0006 first', v_key_index;
          END IF;
          SELECT conname INTO v_pkey FROM pg_constraint WHERE conrelid = v_old AND contype = 'p';
          PERFORM lp_ops.with_lock_retries(v_what || ': step 3 (primary key)', v_old,
            CASE WHEN v_pkey IS NULL THEN ARRAY[]::text[] ELSE ARRAY[format('ALTER TABLE public.%I DROP CONSTRAINT %I', p_table, v_pkey)] END
            || format('ALTER TABLE public.%I ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', p_table, v_key_index, v_key_index));
        END IF;
      WHEN 4 THEN
        -- The new parent, its primary key and the old table's other indexes.
        IF to_regclass(format('public.%I', v_new)) IS NULL THEN
          EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)',
                         v_new, p_table, p_column);
          EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I PRIMARY KEY (id, %I)', v_new, v_new || '_pkey', p_column);
          FOR r IN
            SELECT c.relname AS index_name, pg_get_indexdef(i.indexrelid) AS def
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = v_old AND NOT i.indisprimary
          LOOP
            v_def := replace(r.def, format(' ON public.%I USING ', p_table), format(' ON public.%I USING ', v_new));
            v_def := replace(v_def, format('INDEX %I ON ', r.index_name), format('INDEX %I ON ', r.index_name || '_parent'));
            EXECUTE v_def;
          END LOOP;
        END IF;
      WHEN 5 THEN
        -- The swap, all of it in one short lock attempt.
        v_seq := pg_get_serial_sequence(format('public.%I', p_table), 'id');
        v_swap := ARRAY[
          format('LOCK TABLE public.%I IN ACCESS EXCLUSIVE MODE', p_table),
          'SELECT set_config(''lp.swap_started'', clock_timestamp()::text, true)',
          format('ALTER TABLE public.%I RENAME TO %I', p_table, v_hist),
          format('ALTER TABLE public.%I RENAME TO %I', v_new, p_table),
          format('ALTER INDEX public.%I RENAME TO %I', v_new || '_pkey', p_table || '_pkey')];
        IF v_seq IS NOT NULL THEN
          v_swap := v_swap || format('ALTER SEQUENCE %s OWNED BY public.%I.id', v_seq, p_table);
        END IF;
        v_swap := v_swap || ARRAY[
          format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (MINVALUE) TO (%L)', p_table, v_hist, v_cutover),
          format('ALTER TABLE public.%I DROP CONSTRAINT %I', v_hist, v_check),
          format('SELECT lp_ops.copy_table_grants(%L, %L)', v_hist, p_table),
          format('UPDATE lp_ops.partition_conversion SET swapped_at = clock_timestamp(),
                         swap_lock_ms = round(extract(epoch FROM clock_timestamp() - current_setting(''lp.swap_started'')::timestamptz) * 1000, 1)
                   WHERE parent_table = %L', p_table)];
        PERFORM lp_ops.with_lock_retries(v_what || ': step 5 (swap)', v_old, v_swap);
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_err = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
      v_failed := v_steps[i];
      -- The lock-retry error starts with this step's own name: say it once.
      IF starts_with(v_err, format('%s: step %s: ', v_what, v_failed)) THEN
        v_err := substr(v_err, length(format('%s: step %s: ', v_what, v_failed)) + 1);
      END IF;
    END;
    EXIT WHEN v_failed IS NOT NULL;
    COMMIT;
  END LOOP;

  IF v_failed IS NOT NULL THEN
    -- A bound left on the live table would start rejecting writes at the cutover: remove it.
    BEGIN
      IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_check) THEN
        PERFORM lp_ops.with_lock_retries(v_what || ': removing the bound', v_old,
          ARRAY[format('ALTER TABLE public.%I DROP CONSTRAINT IF EXISTS %I', p_table, v_check)]);
        v_cleanup := format('the bound %s was removed, so writes are not affected', v_check);
      ELSE
        v_cleanup := 'no bound is left on the table';
      END IF;
    EXCEPTION WHEN OTHERS THEN
      v_cleanup := format('the bound %1$s could NOT be removed (%2$s); it rejects every row dated on or after %3$s, so before then run: '
                          'ALTER TABLE public.%4$I DROP CONSTRAINT %1$I', v_check, SQLERRM, v_deadline, p_table);
    END;
    COMMIT;
    RAISE EXCEPTION '%: step % failed: %; % (deadline %: the cutover, from which a bound on the table rejects writes). Apply again to resume (docs/runbook.md#stuck-partition-conversion)',
      v_what, v_failed, v_err, v_cleanup, v_deadline
      USING ERRCODE = v_state;
  END IF;

  -- 6. Monthly partitions from the cutover on.
  PERFORM lp_ops.maintain_partitions(v_cutover);
  COMMIT;
END
$$;
REVOKE ALL ON PROCEDURE lp_ops.convert_to_monthly_partitions(text, text) FROM PUBLIC;
