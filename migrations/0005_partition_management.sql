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
-- (owner aside). Runs as the caller: lp_owner, who owns both.
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
    EXECUTE format('REVOKE ALL ON public.%I FROM %I', p_to, r.grantee);
  END LOOP;
  FOR r IN
    SELECT a.grantee::regrole::text AS grantee, a.privilege_type
      FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = format('public.%I', p_from)::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
  LOOP
    EXECUTE format('GRANT %s ON public.%I TO %I', r.privilege_type, p_to, r.grantee);
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.copy_table_grants(text, text) FROM PUBLIC;

-- Creates the partitions for the month of p_as_of and months_ahead months after
-- it, and detaches and drops partitions entirely older than retention_months
-- whole months before p_as_of's month. Runs as lp_owner (SECURITY DEFINER) so
-- new partitions are owned by it and get its default privileges. Serialised by
-- a transaction-scoped advisory lock, so concurrent calls (pg_cron and an
-- `up`) wait for each other and the second finds the work done.
CREATE OR REPLACE FUNCTION lp_ops.maintain_partitions(p_as_of timestamptz DEFAULT now())
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET lock_timeout = '5s'
AS $$
DECLARE
  s record;
  p record;
  v_month timestamptz;
  v_next timestamptz;
  v_cutoff timestamptz;
  v_name text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('lp_ops.maintain_partitions'));
  FOR s IN SELECT * FROM lp_ops.partition_settings ORDER BY parent_table LOOP
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(format('public.%I', s.parent_table))) IS DISTINCT FROM 'p' THEN
      RAISE NOTICE 'maintain_partitions: public.% is not partitioned (yet); skipped', s.parent_table;
      CONTINUE;
    END IF;
    FOR i IN 0 .. s.months_ahead LOOP
      v_month := date_trunc('month', p_as_of) + make_interval(months => i);
      v_next := v_month + interval '1 month';
      CONTINUE WHEN EXISTS (
        SELECT FROM lp_ops.partition_bounds(s.parent_table) b
         WHERE b.lower_bound < v_next AND b.upper_bound > v_month);
      v_name := format('%s_p%s', s.parent_table, to_char(v_month, 'YYYYMM'));
      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                     v_name, s.parent_table, v_month, v_next);
      -- Default privileges granted the partition lp_owner's usual grants; trim it
      -- to its parent's (e.g. audit_log is append-only for lp_app_rw) and add
      -- the parent's table-specific ones (lp_analytics_ro on analytics_events).
      PERFORM lp_ops.copy_table_grants(s.parent_table, v_name);
      action := 'created';
      partition_name := v_name;
      RETURN NEXT;
    END LOOP;
    v_cutoff := date_trunc('month', p_as_of) - make_interval(months => s.retention_months);
    FOR p IN
      SELECT b.partition_name FROM lp_ops.partition_bounds(s.parent_table) b
       WHERE b.upper_bound <= v_cutoff ORDER BY b.upper_bound
    LOOP
      BEGIN
        EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', s.parent_table, p.partition_name);
        EXECUTE format('DROP TABLE public.%I', p.partition_name);
        action := 'dropped';
        partition_name := p.partition_name;
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
--   1. CHECK (<p_column> < cutover) NOT VALID            brief ACCESS EXCLUSIVE
--   2. VALIDATE CONSTRAINT                                SHARE UPDATE EXCLUSIVE: reads and writes go on
--   3. primary key (id, <p_column>) from the unique index built CONCURRENTLY by 0006   brief
--   4. the new partitioned parent with the same columns, defaults and indexes     no lock on the old table
--   5. swap: rename both, move the id sequence, attach the old table as the
--      partition FROM (MINVALUE) TO (cutover) — no scan, the validated CHECK
--      proves the bound — and copy its grants                brief, under lock_timeout
--   6. partitions from cutover on, via maintain_partitions
-- Each step commits and is skipped when already done, so a run that failed
-- (e.g. lock_timeout at the swap) is simply run again. The cutover is the start
-- of the month after next, so rows written between step 1 and the swap (stamped
-- now()) satisfy the CHECK. Must be CALLed outside a transaction block.
CREATE OR REPLACE PROCEDURE lp_ops.convert_to_monthly_partitions(p_table text, p_column text, p_swap_lock_timeout text DEFAULT '2s')
LANGUAGE plpgsql
AS $$
DECLARE
  v_old regclass := to_regclass(format('public.%I', p_table));
  v_new text := p_table || '_partitioned';
  v_hist text := p_table || '_p_history';
  v_check text := p_table || '_history_bound';
  v_key_index text := format('%s_id_%s_key', p_table, p_column);
  v_pkey text;
  v_seq text;
  v_cutover timestamptz;
  v_t0 timestamptz;
  v_def text;
  r record;
BEGIN
  IF v_old IS NULL THEN
    RAISE EXCEPTION 'convert_to_monthly_partitions: table public.% does not exist', p_table;
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = v_old) = 'p' THEN
    RAISE NOTICE 'convert_to_monthly_partitions: public.% is already partitioned', p_table;
    RETURN;
  END IF;

  SELECT cutover INTO v_cutover FROM lp_ops.partition_conversion WHERE parent_table = p_table;
  IF NOT FOUND THEN
    v_cutover := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months') AT TIME ZONE 'UTC';
    INSERT INTO lp_ops.partition_conversion (parent_table, cutover) VALUES (p_table, v_cutover);
  END IF;
  COMMIT;

  -- 1. The bound as a NOT VALID check: new rows are checked from now on.
  IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_check) THEN
    PERFORM set_config('lock_timeout', p_swap_lock_timeout, true);
    EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (%I < %L) NOT VALID', p_table, v_check, p_column, v_cutover);
  END IF;
  COMMIT;

  -- 2. Validate existing rows without blocking writes.
  IF NOT (SELECT convalidated FROM pg_constraint WHERE conrelid = v_old AND conname = v_check) THEN
    EXECUTE format('ALTER TABLE public.%I VALIDATE CONSTRAINT %I', p_table, v_check);
    UPDATE lp_ops.partition_conversion SET validated_at = clock_timestamp() WHERE parent_table = p_table;
  END IF;
  COMMIT;

  -- 3. Primary key (id, p_column) from the prepared unique index.
  IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = v_old AND conname = v_key_index AND contype = 'p') THEN
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE i.indrelid = v_old AND c.relname = v_key_index AND i.indisvalid AND i.indisunique) THEN
      RAISE EXCEPTION 'convert_to_monthly_partitions: valid unique index public.% is missing; run migration 0006 first', v_key_index;
    END IF;
    PERFORM set_config('lock_timeout', p_swap_lock_timeout, true);
    SELECT conname INTO v_pkey FROM pg_constraint WHERE conrelid = v_old AND contype = 'p';
    IF v_pkey IS NOT NULL THEN
      EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', p_table, v_pkey);
    END IF;
    EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', p_table, v_key_index, v_key_index);
  END IF;
  COMMIT;

  -- 4. The new parent, its primary key and the old table's other indexes.
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
  COMMIT;

  -- 5. The swap, under a short lock_timeout.
  PERFORM set_config('lock_timeout', p_swap_lock_timeout, true);
  EXECUTE format('LOCK TABLE public.%I IN ACCESS EXCLUSIVE MODE', p_table);
  v_t0 := clock_timestamp();
  v_seq := pg_get_serial_sequence(format('public.%I', p_table), 'id');
  EXECUTE format('ALTER TABLE public.%I RENAME TO %I', p_table, v_hist);
  EXECUTE format('ALTER TABLE public.%I RENAME TO %I', v_new, p_table);
  EXECUTE format('ALTER INDEX public.%I RENAME TO %I', v_new || '_pkey', p_table || '_pkey');
  IF v_seq IS NOT NULL THEN
    EXECUTE format('ALTER SEQUENCE %s OWNED BY public.%I.id', v_seq, p_table);
  END IF;
  EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (MINVALUE) TO (%L)', p_table, v_hist, v_cutover);
  EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', v_hist, v_check);
  PERFORM lp_ops.copy_table_grants(v_hist, p_table);
  UPDATE lp_ops.partition_conversion
     SET swapped_at = clock_timestamp(),
         swap_lock_ms = round(extract(epoch FROM clock_timestamp() - v_t0) * 1000, 1)
   WHERE parent_table = p_table;
  COMMIT;

  -- 6. Monthly partitions from the cutover on.
  PERFORM lp_ops.maintain_partitions(v_cutover);
  COMMIT;
END
$$;
REVOKE ALL ON PROCEDURE lp_ops.convert_to_monthly_partitions(text, text, text) FROM PUBLIC;
