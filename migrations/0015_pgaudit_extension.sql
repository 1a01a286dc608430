-- pgAudit's extension objects. With only the library loaded (Cloud SQL's
-- cloudsql.enable_pgaudit flag), pgAudit logs the DDL and role statements
-- pgaudit.log selects but without the name and type of the object a DDL
-- statement touched: those come from the event triggers CREATE EXTENSION
-- pgaudit installs. Cloud SQL's setup is the flag, then CREATE EXTENSION
-- pgaudit, then pgaudit.log (Cloud SQL "Audit for PostgreSQL using pgAudit",
-- https://cloud.google.com/sql/docs/postgres/pg-audit); the flags are
-- lib/database-flags.ts. pgaudit is on Cloud SQL's extension allow-list, which
-- lets the migration user (a cloudsqlsuperuser member) create it.
--
-- The extension is created only where it is installed and its library is
-- loaded (pgaudit.log is then a known setting; pgAudit refuses to load any
-- other way). Elsewhere (embedded PostgreSQL in tests, or the flag off) a
-- NOTICE says how to create it once the flag is on.

-- Up Migration

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

DO $$
BEGIN
  IF current_setting('pgaudit.log', true) IS NULL
     OR NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pgaudit') THEN
    RAISE NOTICE 'pgAudit is not loaded in this server; DDL audit entries will not name their objects (on Cloud SQL set cloudsql.enable_pgaudit=on, then run CREATE EXTENSION pgaudit in database %)',
      current_database();
  ELSE
    CREATE EXTENSION IF NOT EXISTS pgaudit;
  END IF;
END
$$;
