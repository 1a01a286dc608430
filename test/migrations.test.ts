/**
 * The repository's migrations against embedded PostgreSQL 18 under the Cloud
 * SQL privilege emulation: on an empty database, and on a seeded one with
 * writers running through the online partition conversion.
 */
import { Client, type ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { applyMigrations, readLedger } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { reconcileMemberships, runPartitionMaintenance } from "../lib/migrate/maintenance";
import { HOT_QUERIES } from "../bench/workload";
import { createCloudSqlDatabase, createIamLikeLogin, loginConfig, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig, withClient } from "./harness/db";

const migrations = loadMigrations();
const byNumber = (n: number) => migrations.filter((m) => Number(m.name.slice(0, 4)) <= n);
/** Names of migration n and every later one: the engine re-applies a forgotten migration only with those after it. */
const fromNumber = (n: number) => migrations.filter((m) => Number(m.name.slice(0, 4)) >= n).map((m) => m.name);

/** A fingerprint of everything the migrations define (not data, not the ledger's timestamps). */
async function schemaSnapshot(c: ClientBase): Promise<string[]> {
  const queries = [
    `SELECT n.nspname, c.relname, c.relkind, c.relowner::regrole, c.relacl::text, c.relispartition, pg_get_expr(c.relpartbound, c.oid)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('public', 'lp_ops') ORDER BY 1, 2`,
    `SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relnamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace) ORDER BY 1`,
    `SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
      WHERE connamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace) ORDER BY 1, 2`,
    `SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text FROM pg_proc p
      WHERE p.pronamespace = 'lp_ops'::regnamespace ORDER BY 1`,
    `SELECT attrelid::regclass::text, attname, attacl::text FROM pg_attribute WHERE attacl IS NOT NULL AND attrelid::regclass::text NOT LIKE 'pg_%' ORDER BY 1, 2`,
    `SELECT defaclrole::regrole, defaclnamespace, defaclobjtype, defaclacl::text FROM pg_default_acl ORDER BY 1, 2, 3`,
    `SELECT rolname, rolcanlogin, rolconnlimit, (SELECT setconfig FROM pg_db_role_setting WHERE setrole = r.oid AND setdatabase = 0)
       FROM pg_roles r WHERE rolname LIKE 'lp\\_%' ORDER BY 1`,
    `SELECT * FROM lp_ops.partition_settings ORDER BY 1`,
    `SELECT * FROM lp_ops.scheduled_jobs ORDER BY 1`,
    `SELECT nspacl::text FROM pg_namespace WHERE nspname IN ('public', 'lp_ops') ORDER BY nspname`,
  ];
  const parts: string[] = [];
  for (const q of queries) parts.push(JSON.stringify((await c.query(q)).rows));
  return parts;
}

/** Collects NOTICE messages while `fn` runs. */
async function notices<T>(c: Client, fn: () => Promise<T>): Promise<{ result: T; notices: string[] }> {
  const seen: string[] = [];
  const listener = (n: { message?: string }) => seen.push(n.message ?? "");
  c.on("notice", listener);
  try {
    return { result: await fn(), notices: seen };
  } finally {
    c.off("notice", listener);
  }
}

describe("on an empty database", () => {
  let db = "";
  let first: Awaited<ReturnType<typeof applyMigrations>>;
  beforeAll(async () => {
    db = await createCloudSqlDatabase("migrations_empty");
    first = await withClient(migratorConfig(db), (c) => applyMigrations(c, migrations));
  });
  afterAll(async () => {
    if (db) await dropDatabase(db);
  });

  test("every migration applies as the Cloud SQL-like user, and running them again changes nothing", async () => {
    await withClient(migratorConfig(db), async (c) => {
      expect(first.applied).toEqual(migrations.map((m) => m.name));
      expect(first.pending).toEqual([]);
      const before = await schemaSnapshot(c);
      const ledger = await readLedger(c);

      const second = await applyMigrations(c, migrations);
      expect(second.applied).toEqual([]);
      expect(second.ledgerHead).toBe(first.ledgerHead);
      expect(await readLedger(c)).toEqual(ledger);
      expect(await schemaSnapshot(c)).toEqual(before);

      // Stronger: forget the ledger and execute every migration again over the
      // existing schema (what the baseline does on production): still no change.
      await c.query("TRUNCATE lp_meta.schema_ledger");
      const again = await applyMigrations(c, migrations);
      expect(again.applied).toEqual(migrations.map((m) => m.name));
      expect(await schemaSnapshot(c)).toEqual(before);
    });
  });

  test("every foreign key has an index whose leading columns are the key", async () => {
    const { rows } = await withClient(migratorConfig(db), (c) =>
      c.query(`SELECT con.conrelid::regclass::text AS tbl, con.conname
                 FROM pg_constraint con
                WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
                  AND NOT EXISTS (
                    SELECT FROM pg_index i
                     WHERE i.indrelid = con.conrelid AND i.indisvalid
                       AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] = con.conkey)
                ORDER BY 1, 2`),
    );
    expect(rows).toEqual([]);
    const fks = await withClient(migratorConfig(db), (c) => c.query("SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"));
    expect(fks.rows[0].n).toBe(11);
  });

  test("lp_owner owns every table, view, sequence and function the migrations made", async () => {
    const { rows } = await withClient(migratorConfig(db), (c) =>
      c.query(`SELECT c.relname AS name FROM pg_class c
                WHERE c.relnamespace IN ('public'::regnamespace, 'lp_ops'::regnamespace) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                  AND c.relowner <> 'lp_owner'::regrole
                  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
               UNION ALL
               SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'lp_ops'::regnamespace AND p.proowner <> 'lp_owner'::regrole`),
    );
    expect(rows).toEqual([]);
  });

  test("the group roles are NOLOGIN with a statement_timeout, idle timeout and connection limit; PUBLIC cannot create in public", async () => {
    const { rows } = await withClient(migratorConfig(db), (c) =>
      c.query(`SELECT r.rolname, r.rolcanlogin, r.rolconnlimit > 0 AS limited,
                      (SELECT count(*) FROM pg_db_role_setting s, unnest(s.setconfig) cfg
                        WHERE s.setrole = r.oid AND cfg ~ '^(statement_timeout|idle_in_transaction_session_timeout)=')::int AS timeouts
                 FROM pg_roles r WHERE r.rolname IN ('lp_app_rw', 'lp_analytics_ro', 'lp_backup_ro') ORDER BY 1`),
    );
    expect(rows).toEqual(
      ["lp_analytics_ro", "lp_app_rw", "lp_backup_ro"].map((rolname) => ({ rolname, rolcanlogin: false, limited: true, timeouts: 2 })),
    );
    const owner = await withClient(migratorConfig(db), (c) =>
      c.query("SELECT rolcanlogin, has_schema_privilege('public', 'public', 'CREATE') AS public_create FROM pg_roles WHERE rolname = 'lp_owner'"),
    );
    expect(owner.rows[0]).toEqual({ rolcanlogin: false, public_create: false });
  });

  test("without pg_cron the jobs are skipped with a NOTICE that says how to enable them", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const { result, notices: seen } = await notices(c, () => c.query<{ n: number }>("SELECT lp_ops.schedule_jobs() AS n"));
      expect(result.rows[0].n).toBe(0);
      expect(seen.join("\n")).toMatch(/pg_cron is not installed in database .*not scheduled.*cloudsql\.enable_pg_cron=on/);
    });
  });

  test("with a cron.schedule stand-in, every job is scheduled and each job's command runs", async () => {
    // pg_cron is not shipped with embedded PostgreSQL: a stand-in with its signature records the calls.
    await withClient(serverConfig(db), (c) =>
      c.query(`CREATE SCHEMA cron;
               CREATE TABLE cron.recorded (jobname text PRIMARY KEY, schedule text, command text);
               CREATE FUNCTION cron.schedule(jobname text, schedule text, command text) RETURNS bigint LANGUAGE sql AS
                 $$ INSERT INTO cron.recorded VALUES (jobname, schedule, command)
                    ON CONFLICT (jobname) DO UPDATE SET schedule = excluded.schedule, command = excluded.command RETURNING 1::bigint $$;
               GRANT USAGE ON SCHEMA cron TO lp_migrator; GRANT INSERT, UPDATE, SELECT ON cron.recorded TO lp_migrator;`),
    );
    try {
      await withClient(migratorConfig(db), async (c) => {
        expect((await c.query("SELECT lp_ops.schedule_jobs() AS n")).rows[0].n).toBe(3);
        const recorded = (await c.query("SELECT * FROM cron.recorded ORDER BY 1")).rows;
        expect(recorded).toEqual((await c.query("SELECT * FROM lp_ops.scheduled_jobs ORDER BY 1")).rows);
        expect(recorded.map((r: { jobname: string }) => r.jobname)).toEqual(["lp-fold-analytics-rollup", "lp-partition-maintenance", "lp-refresh-analytics-views"]);
        for (const r of recorded as { command: string }[]) await c.query(r.command);
      });
    } finally {
      await withClient(serverConfig(db), (c) => c.query("DROP SCHEMA cron CASCADE"));
    }
  });
});

/**
 * Realistic volumes and value spreads, so the planner picks indexes on its own
 * (no enable_seqscan = off): 20k users, 20k courses (lessons for the first 2k),
 * 40k enrollments, ~100k lesson progress rows, 100k events over 60 days.
 */
const SEED = `
INSERT INTO users (email, full_name, display_name, phone, date_of_birth, country_code, created_at, deleted_at)
SELECT format('user%s@example.com', g), format('User %s', g), format('u%s', g), format('+1555%s', lpad(g::text, 7, '0')),
       date '1980-01-01' + g % 9000, (ARRAY['US','DE','IN','BR','FR'])[1 + g % 5], now() - (g % 700) * interval '1 day',
       CASE WHEN g % 50 = 0 THEN now() END
  FROM generate_series(1, 20000) g;
INSERT INTO courses (instructor_id, title, slug, description, status, published_at, deleted_at)
SELECT 1 + (g * 7) % 20000,
       format('%s %s for %s',
         (ARRAY['Practical','Advanced','Modern','Applied','Essential','Hands-on','Complete','Intro to','Mastering','Fundamentals of',
                'Deep Dive into','Effective','Professional','Beginning','Real-world','Rapid','Creative','Strategic','Scalable','Secure'])[1 + g % 20],
         (ARRAY['PostgreSQL','Python','Statistics','Machine Learning','Photography','Spanish','Accounting','Marketing','Kubernetes',
                'Design','Music Theory','Chemistry','Leadership','Rust','Excel','Negotiation','Biology','Drawing','Calculus',
                'Networking','Writing','Cooking','Economics','Astronomy','Guitar'])[1 + (g / 20) % 25],
         (ARRAY['Beginners','Analysts','Engineers','Managers','Teachers','Students','Designers','Founders','Nurses','Artists'])[1 + (g / 500) % 10]),
       format('course-%s', g), 'A course.', CASE WHEN g % 10 < 8 THEN 'published' ELSE 'draft' END,
       CASE WHEN g % 10 < 8 THEN now() - g * interval '1 hour' END, CASE WHEN g % 40 = 0 THEN now() END
  FROM generate_series(1, 20000) g;
INSERT INTO lessons (course_id, title, position, duration_seconds, deleted_at)
SELECT c, format('Lesson %s', p), p, 300 + p * 10, CASE WHEN p = 10 AND c % 7 = 0 THEN now() END
  FROM generate_series(1, 2000) c, generate_series(1, 10) p;
INSERT INTO enrollments (user_id, course_id, status, progress_percent, enrolled_at, completed_at, last_activity_at, deleted_at)
SELECT 1 + g % 20000, 1 + (g * 31 + g / 20000) % 2000, (ARRAY['active','active','active','completed','dropped'])[1 + g % 5], g % 101,
       now() - (g % 365) * interval '1 day', CASE WHEN g % 5 = 3 THEN now() - (g % 30) * interval '1 day' END,
       now() - (g % 30) * interval '1 day', CASE WHEN g % 97 = 0 THEN now() END
  FROM generate_series(1, 40000) g;
INSERT INTO lesson_progress (user_id, course_id, lesson_id, status, progress_percent, started_at, completed_at)
SELECT e.user_id, e.course_id, l.id, CASE WHEN l.position < e.id % 6 THEN 'completed' ELSE 'started' END,
       CASE WHEN l.position < e.id % 6 THEN 100 ELSE 40 END, now() - interval '10 days',
       CASE WHEN l.position < e.id % 6 THEN now() - interval '1 day' END
  FROM enrollments e JOIN lessons l ON l.course_id = e.course_id AND l.position <= e.id % 6;
INSERT INTO quiz_attempts (user_id, lesson_id, score, max_score, passed, started_at, submitted_at)
SELECT 1 + g % 20000, 1 + (g * 13) % 20000, g % 100, 100, g % 100 >= 60, now() - (g % 90) * interval '1 day', now() - (g % 90) * interval '1 day'
  FROM generate_series(1, 30000) g;
INSERT INTO course_content (course_id, lesson_id, title, body, deleted_at)
SELECT 1 + g % 2000, g, format('Notes %s', g),
       CASE WHEN g % 500 = 0 THEN 'How autovacuum reclaims dead tuples and freezes old ones.'
            ELSE 'Learners read this text about ' || (ARRAY['tables','joins','queries','schemas'])[1 + g % 4] || ' and practise.' END,
       CASE WHEN g % 60 = 0 THEN now() END
  FROM generate_series(1, 20000) g;
INSERT INTO analytics_events (user_id, course_id, lesson_id, event_type, properties, occurred_at)
SELECT 1 + g % 20000, 1 + (g * 17) % 2000, 1 + g % 20000, (ARRAY['view','start','complete','quiz'])[1 + g % 4], '{}',
       now() - (g % 5184000) * interval '1 second'
  FROM generate_series(1, 100000) g;
INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details, created_at)
SELECT 1 + g % 20000, 'course.update', (ARRAY['course','lesson','user'])[1 + g % 3], 1 + g % 5000, '{}', now() - (g % 5184000) * interval '1 second'
  FROM generate_series(1, 30000) g;
`;

describe("on a seeded database, with writers running through the conversion", () => {
  let db = "";
  let seeded = { events: 0, audit: 0, eventsDigest: "", auditDigest: "", maxEvent: 0, maxAudit: 0 };
  const written = { events: [] as number[], audit: [] as number[], errors: [] as string[], duringConversion: 0 };
  const log: string[] = [];
  let cutover = new Date(0);

  const digest = (table: string, col: string, maxId: number) =>
    `SELECT count(*)::int AS n, md5(string_agg(id::text || ${table === "analytics_events" ? "event_type" : "action"} || ${col}::text, ',' ORDER BY id)) AS d
       FROM ${table} WHERE id <= ${maxId}`;

  beforeAll(async () => {
    db = await createCloudSqlDatabase("migrations_seeded");
    await withClient(migratorConfig(db), async (c) => {
      await applyMigrations(c, byNumber(1));
      await c.query(SEED);
      const ev = (await c.query("SELECT max(id)::int AS m FROM analytics_events")).rows[0].m as number;
      const au = (await c.query("SELECT max(id)::int AS m FROM audit_log")).rows[0].m as number;
      const e = (await c.query(digest("analytics_events", "occurred_at", ev))).rows[0];
      const a = (await c.query(digest("audit_log", "created_at", au))).rows[0];
      seeded = { events: e.n, audit: a.n, eventsDigest: e.d, auditDigest: a.d, maxEvent: ev, maxAudit: au };
      await applyMigrations(c, byNumber(6));
    });

    // A writer inserting events and audit entries one by one for the whole conversion.
    const writer = new Client({ ...migratorConfig(db), application_name: "test-writer" });
    await writer.connect();
    let stop = false;
    let converting = false;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const e = await writer.query<{ id: string }>(
            "INSERT INTO analytics_events (user_id, course_id, event_type) VALUES ($1, $2, 'view') RETURNING id",
            [1 + (i % 20000), 1 + (i % 2000)],
          );
          written.events.push(Number(e.rows[0].id));
          const a = await writer.query<{ id: string }>("INSERT INTO audit_log (actor_id, action, entity_type) VALUES ($1, 'test.write', 'course') RETURNING id", [i]);
          written.audit.push(Number(a.rows[0].id));
          if (converting) written.duringConversion++;
        } catch (err) {
          written.errors.push((err as Error).message);
        }
      }
    })();
    const progress = async (atLeast: number) => {
      while (written.events.length < atLeast && written.errors.length === 0) await new Promise((r) => setImmediate(r));
    };
    await progress(1);

    // A reader holding a lock on analytics_events makes the conversion's first
    // lock attempt time out, so it is retried while the writer runs.
    const reader = new Client(migratorConfig(db));
    await reader.connect();
    await reader.query("BEGIN; LOCK TABLE analytics_events IN ACCESS SHARE MODE");
    const releases: Promise<unknown>[] = [];
    try {
      await withClient(migratorConfig(db), (c) =>
        applyMigrations(c, migrations, {
          log: (line) => {
            log.push(line);
            if (line.startsWith("applying 0007")) converting = true;
            if (line.startsWith("applying 0008")) converting = false;
            if (line.includes("retrying") && releases.length === 0) releases.push(reader.query("COMMIT"));
          },
        }),
      );
    } finally {
      await Promise.all(releases);
      await reader.end();
      await progress(written.events.length + 1);
      stop = true;
      await loop;
      await writer.end();
    }
    await withClient(serverConfig(db), (c) => c.query("VACUUM ANALYZE"));
    await withClient(migratorConfig(db), async (c) => {
      cutover = (await c.query("SELECT cutover FROM lp_ops.partition_conversion WHERE parent_table = 'analytics_events'")).rows[0].cutover as Date;
    });
  });
  afterAll(async () => {
    if (db) await dropDatabase(db);
  });

  test("every migration applied, the conversion's lock wait was retried, and the writer never failed", async () => {
    const ledger = await withClient(migratorConfig(db), readLedger);
    expect(ledger.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
    // The reader's lock made the bound's first 100 ms attempt time out; lp_ops.with_lock_retries retried it.
    expect(log.join("\n")).toMatch(/0007_partition_conversion\.sql: NOTICE: convert_to_monthly_partitions\(public\.analytics_events\): step 1 \(bound\): public\.analytics_events is busy \(attempt 1, .*\); retrying in/);
    expect(written.errors).toEqual([]);
    expect(written.duringConversion).toBeGreaterThan(0);
  });

  test("the conversion kept every existing row and every row written during it", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const e = (await c.query(digest("analytics_events", "occurred_at", seeded.maxEvent))).rows[0];
      const a = (await c.query(digest("audit_log", "created_at", seeded.maxAudit))).rows[0];
      expect([e.n, e.d, a.n, a.d]).toEqual([seeded.events, seeded.eventsDigest, seeded.audit, seeded.auditDigest]);
      const ids = (await c.query<{ id: string }>("SELECT id FROM analytics_events WHERE id > $1 ORDER BY id", [seeded.maxEvent])).rows.map((r) => Number(r.id));
      expect(ids).toEqual([...written.events].sort((x, y) => x - y));
      const auditIds = (await c.query<{ id: string }>("SELECT id FROM audit_log WHERE id > $1 ORDER BY id", [seeded.maxAudit])).rows.map((r) => Number(r.id));
      expect(auditIds).toEqual([...written.audit].sort((x, y) => x - y));
      const kinds = (await c.query("SELECT relname, relkind FROM pg_class WHERE relname IN ('analytics_events', 'audit_log', 'analytics_events_p_history', 'audit_log_p_history') ORDER BY 1")).rows;
      expect(kinds).toEqual([
        { relname: "analytics_events", relkind: "p" },
        { relname: "analytics_events_p_history", relkind: "r" },
        { relname: "audit_log", relkind: "p" },
        { relname: "audit_log_p_history", relkind: "r" },
      ]);
      const swaps = (
        await c.query(`SELECT parent_table, swap_lock_ms,
                              round(extract(epoch FROM validated_at - started_at) * 1000) AS until_validated_ms,
                              round(extract(epoch FROM swapped_at - started_at) * 1000) AS whole_conversion_ms
                         FROM lp_ops.partition_conversion ORDER BY 1`)
      ).rows;
      console.log(`partition conversion (ms): ${JSON.stringify(swaps)}`);
      expect(swaps.map((s: { swap_lock_ms: string | null }) => s.swap_lock_ms !== null)).toEqual([true, true]);
    });
  });

  test("the old table is attached without a default partition, and ids keep coming from the same sequence", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const defaults = (await c.query("SELECT count(*)::int AS n FROM pg_partitioned_table WHERE partdefid <> 0")).rows[0].n;
      expect(defaults).toBe(0);
      const seq = (await c.query("SELECT pg_get_serial_sequence('analytics_events', 'id') AS s")).rows[0].s;
      expect(seq).toBe("public.analytics_events_id_seq");
    });
  });

  const explain = async (sql: string, c: ClientBase) => (await c.query(`EXPLAIN ${sql}`)).rows.map((r: { "QUERY PLAN": string }) => r["QUERY PLAN"]).join("\n");

  test("every index is valid", async () => {
    const { rows } = await withClient(migratorConfig(db), (c) =>
      c.query("SELECT indexrelid::regclass::text AS idx FROM pg_index WHERE NOT indisvalid OR NOT indisready"),
    );
    expect(rows).toEqual([]);
  });

  // [index, query, plan node the query must get]
  const INDEX_QUERIES: [string, string, RegExp][] = [
    ["enrollments_user_enrolled_idx", "SELECT course_id, status, progress_percent FROM enrollments WHERE user_id = 42 AND deleted_at IS NULL ORDER BY enrolled_at DESC", /Index Only Scan using enrollments_user_enrolled_idx/],
    ["lessons_course_position_idx", "SELECT title, position, duration_seconds FROM lessons WHERE course_id = 7 AND deleted_at IS NULL ORDER BY position", /Index Only Scan using lessons_course_position_idx/],
    ["lesson_progress_user_course_idx", "SELECT lesson_id, status, progress_percent, completed_at FROM lesson_progress WHERE user_id = 42 AND course_id = 1272", /Index Only Scan using lesson_progress_user_course_idx/],
    ["users_email_live_key", "SELECT id FROM users WHERE lower(email) = 'user42@example.com' AND deleted_at IS NULL", /users_email_live_key/],
    ["courses_catalog_live_idx", "SELECT id, title FROM courses WHERE status = 'published' AND deleted_at IS NULL ORDER BY published_at DESC LIMIT 20", /courses_catalog_live_idx/],
    ["enrollments_course_status_idx", "SELECT user_id FROM enrollments WHERE course_id = 7 AND status = 'active' ORDER BY enrolled_at DESC LIMIT 50", /enrollments_course_status_idx/],
    ["quiz_attempts_user_started_idx", "SELECT score FROM quiz_attempts WHERE user_id = 42 ORDER BY started_at DESC LIMIT 10", /quiz_attempts_user_started_idx/],
    ["courses_instructor_id_idx", "SELECT id FROM courses WHERE instructor_id = 42", /courses_instructor_id_idx/],
    ["lesson_progress_course_id_idx", "SELECT count(*) FROM lesson_progress WHERE course_id = 7", /lesson_progress_course_id_idx/],
    ["lesson_progress_lesson_id_idx", "SELECT count(*) FROM lesson_progress WHERE lesson_id = 123", /lesson_progress_lesson_id_idx/],
    ["quiz_attempts_lesson_id_idx", "SELECT count(*) FROM quiz_attempts WHERE lesson_id = 123", /quiz_attempts_lesson_id_idx/],
    ["course_content_course_id_idx", "SELECT title FROM course_content WHERE course_id = 7", /course_content_course_id_idx/],
    ["course_content_lesson_id_idx", "SELECT title FROM course_content WHERE lesson_id = 123", /course_content_lesson_id_idx/],
    ["course_content_search_idx", "SELECT id FROM course_content WHERE search_vector @@ websearch_to_tsquery('english', 'autovacuum tuples')", /course_content_search_idx/],
    ["courses_title_trgm_idx", "SELECT id, title FROM courses WHERE title ILIKE '%mastering kubernetes for nurse%' AND deleted_at IS NULL", /Bitmap Index Scan on courses_title_trgm_idx/],
    ["analytics_events_course_occurred_cov_idx", "SELECT count(DISTINCT user_id) FROM analytics_events WHERE course_id = 7 AND occurred_at >= now() - interval '30 days'", /Index Only Scan using analytics_events_p_history_course_occurred_cov_idx/],
    ["analytics_events_p_history_course_occurred_cov_idx", "SELECT event_type, count(*) FROM analytics_events_p_history WHERE course_id = 7 AND occurred_at >= now() - interval '7 days' GROUP BY 1", /Index Only Scan using analytics_events_p_history_course_occurred_cov_idx/],
    ["analytics_events_user_occurred_idx", "SELECT count(*) FROM analytics_events WHERE user_id = 42 AND occurred_at >= now() - interval '7 days'", /analytics_events_user_occurred_idx/],
    ["audit_log_entity_idx", "SELECT * FROM audit_log WHERE entity_type = 'user' AND entity_id = 42 ORDER BY created_at DESC", /audit_log_entity_idx/],
    ["audit_log_actor_idx", "SELECT * FROM audit_log WHERE actor_id = 42 ORDER BY created_at DESC LIMIT 20", /audit_log_actor_idx/],
    ["analytics_daily_active_learners_key", "SELECT active_learners FROM analytics_daily_active_learners WHERE course_id = 7 AND activity_date = current_date", /analytics_daily_active_learners_key/],
    ["course_completion_funnel_key", "SELECT * FROM course_completion_funnel WHERE course_id = 7", /course_completion_funnel_key/],
    ["lesson_progress_user_lesson_key", "INSERT INTO lesson_progress (user_id, course_id, lesson_id) VALUES (42, 1, 123) ON CONFLICT (user_id, lesson_id) DO NOTHING", /Conflict Arbiter Indexes: lesson_progress_user_lesson_key/],
  ];

  // The rollup's fold queue (0017) is emptied every minute, so here it is tiny and rightly scanned; the index serves readers when it backs up.
  const QUEUE_INDEXES = ["analytics_rollup_pending_course_day_idx"];

  // Kept though 0011's covering index (course_id, occurred_at) INCLUDE (user_id, event_type) serves all its queries; see 0011's header.
  const SUPERSEDED = ["analytics_events_course_occurred_idx"];

  test("the table below covers every index the migrations create", () => {
    const created = migrations.flatMap((m) => [...m.sql.matchAll(/CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?IF NOT EXISTS (\w+)/g)].map((x) => x[1]));
    const keys = ["analytics_events_id_occurred_at_key", "audit_log_id_created_at_key"]; // primary keys of the partitioned tables
    expect(INDEX_QUERIES.map(([i]) => i).sort()).toEqual(created.filter((i) => !keys.includes(i) && !SUPERSEDED.includes(i) && !QUEUE_INDEXES.includes(i)).sort());
  });

  test("a superseded index is still there and valid (0004 stays re-runnable), but the planner takes the covering index for its queries", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const valid = await c.query("SELECT indexrelid::regclass::text AS idx, indisvalid FROM pg_index WHERE indexrelid::regclass::text = ANY($1) ORDER BY 1", [SUPERSEDED]);
      expect(valid.rows).toEqual(SUPERSEDED.map((idx) => ({ idx, indisvalid: true })));
      const text = await explain("SELECT count(*) FROM analytics_events WHERE course_id = 7 AND occurred_at >= now() - interval '7 days'", c);
      expect(text).toMatch(/Index Only Scan using analytics_events_p_history_course_occurred_cov_idx/);
    });
  });

  test.each(INDEX_QUERIES)("%s is used by its query", async (_index, sql, plan) => {
    const text = await withClient(migratorConfig(db), (c) => explain(sql, c));
    expect(text).toMatch(plan);
  });

  /** Each partition of analytics_events with the name of its index attached to 0011's covering index, and that index's validity. */
  const coveringIndexes = (c: ClientBase) =>
    c.query<{ part: string; idx: string | null; valid: boolean | null }>(
      `SELECT p.inhrelid::regclass::text AS part, ic.relname AS idx, i.indisvalid AS valid
         FROM pg_inherits p
         LEFT JOIN (pg_index i JOIN pg_inherits ii ON ii.inhrelid = i.indexrelid
                                AND ii.inhparent = 'analytics_events_course_occurred_cov_idx'::regclass
                    JOIN pg_class ic ON ic.oid = i.indexrelid) ON i.indrelid = p.inhrelid
        WHERE p.inhparent = 'analytics_events'::regclass
        ORDER BY 1`,
    );
  const parentCoveringValid = async (c: ClientBase) =>
    (await c.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'analytics_events_course_occurred_cov_idx'::regclass")).rows[0].indisvalid as boolean;

  test("0011's covering index: valid on every partition (history and monthly), each attached to the valid parent index", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const { rows } = await coveringIndexes(c);
      expect(rows.map((r) => r.part)).toEqual(expect.arrayContaining(["analytics_events_p_history", `analytics_events_p${month(1)}`]));
      expect(rows.filter((r) => !r.idx || !r.valid)).toEqual([]);
      expect(rows.find((r) => r.part === "analytics_events_p_history")?.idx).toBe("analytics_events_p_history_course_occurred_cov_idx");
      expect(await parentCoveringValid(c)).toBe(true);
    });
  });

  test.each(HOT_QUERIES.filter((q) => q.name.startsWith("instructor_analytics_")).map((q) => [q.name, q] as const))(
    "%s (the bench's SQL) reads only the covering index: index-only scans, no heap fetches",
    async (_name, q) => {
      // An index-only scan skips the heap for pages the visibility map marks
      // all-visible, which autovacuum keeps up to date; vacuum so that earlier
      // writes in this file are not counted.
      await withClient(serverConfig(db), (c) => c.query("VACUUM analytics_events"));
      const days = q.name.endsWith("_7d") ? 7 : 30;
      const { text, emptyPartitions } = await withClient(migratorConfig(db), async (c) => {
        // The instructor with the most events in the window, so the scan has rows to read.
        const busiest = (
          await c.query(
            `SELECT c.instructor_id FROM analytics_events e JOIN courses c ON c.id = e.course_id AND c.deleted_at IS NULL
              WHERE e.occurred_at >= now() - make_interval(days => $1) GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
            [days],
          )
        ).rows[0].instructor_id;
        const r = await c.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${q.sql({})}`, [busiest, days]);
        const empty = await c.query<{ part: string }>(
          `SELECT relname AS part FROM pg_class WHERE relispartition AND relname LIKE 'analytics\\_events\\_p%' AND relpages = 0`,
        );
        return { text: r.rows.map((x: { "QUERY PLAN": string }) => x["QUERY PLAN"]).join("\n"), emptyPartitions: empty.rows.map((x) => x.part) };
      });
      const ios = /Index Only Scan using analytics_events_p_history_course_occurred_cov_idx on analytics_events_p_history \w+ \(actual rows=(\d+)/.exec(text);
      expect(ios, text).not.toBeNull();
      expect(Number(ios![1])).toBeGreaterThan(0);
      expect(text).not.toMatch(/(Bitmap Heap Scan|Index Scan using \w+) on analytics_events/);
      // The planner may seq-scan a monthly partition it knows is empty (no pages): nothing to read there.
      const seqScanned = [...text.matchAll(/Seq Scan on (analytics_events_p\w+)/g)].map((m) => m[1]);
      expect(seqScanned.filter((p) => !emptyPartitions.includes(p))).toEqual([]);
      const fetches = [...text.matchAll(/Heap Fetches: (\d+)/g)].map((m) => Number(m[1]));
      expect(fetches.filter((n) => n > 0)).toEqual([]);
    },
  );

  test("0011 re-run over the migrated schema changes nothing", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const before = (await coveringIndexes(c)).rows;
      await c.query("DELETE FROM lp_meta.schema_ledger WHERE name = ANY($1)", [fromNumber(11)]);
      const again = await applyMigrations(c, migrations);
      expect(again.applied).toEqual(fromNumber(11));
      expect((await coveringIndexes(c)).rows).toEqual(before);
      expect(await parentCoveringValid(c)).toBe(true);
    });
  });

  test("0011 refuses a plain build of a partition above lp.max_blocking_index_build_mb, naming the CONCURRENTLY statement; once allowed it builds and attaches", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const before = (await coveringIndexes(c)).rows;
      // A row in the month after the cutover, so that partition is not empty; then undo 0011.
      await c.query(`INSERT INTO analytics_events (user_id, course_id, event_type, occurred_at) VALUES (1, 1, 'view', $1::timestamptz + interval '1 month 1 day')`, [cutover]);
      await c.query("SET ROLE lp_owner; DROP INDEX analytics_events_course_occurred_cov_idx; RESET ROLE");
      await c.query("DELETE FROM lp_meta.schema_ledger WHERE name = ANY($1)", [fromNumber(11)]);
      // A login-time setting (what ALTER ROLE … SET gives): the engine resets the session to it before each file, dropping any SET.
      const withLimit = (mb: number, fn: (limited: Client) => Promise<unknown>) => withClient({ ...migratorConfig(db), options: `-c lp.max_blocking_index_build_mb=${mb}` }, fn);
      const part = `analytics_events_p${month(1)}`;
      await expect(withLimit(0, (limited) => applyMigrations(limited, migrations))).rejects.toThrow(
        new RegExp(`partition public\\.${part} is 0 MB; building its index without CONCURRENTLY would stop its writers.*CREATE INDEX CONCURRENTLY IF NOT EXISTS ${part}_course_occurred_cov_idx ON public\\.${part} `),
      );
      // The engine resets each file's session to its login settings, so a plain SET cannot raise the limit: the error says what can.
      await expect(withLimit(0, (limited) => applyMigrations(limited, migrations))).rejects.toThrow(
        /lp\.\* settings are read at login.*ALTER ROLE lp_migrator SET lp\.max_blocking_index_build_mb = <value>.*PGOPTIONS='-c lp\.max_blocking_index_build_mb=<value>'.*docs\/runbook\.md#blocking-index-build/s,
      );
      // The parent's index is in place (INVALID) and the history partition's is attached: a partly applied run.
      expect(await parentCoveringValid(c)).toBe(false);
      expect(((await withLimit(1, (limited) => applyMigrations(limited, migrations))) as { applied: string[] }).applied).toEqual(fromNumber(11));
      expect((await coveringIndexes(c)).rows).toEqual(before);
      expect(await parentCoveringValid(c)).toBe(true);
    });
  });

  /** YYYYMM of the month `n` months after the cutover. */
  function month(n: number) {
    const d = new Date(cutover);
    d.setUTCMonth(d.getUTCMonth() + n);
    return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  }

  test("fuzzy title matching (%) can use the trigram index", async () => {
    // pg_trgm estimates a similarity match from the statistics sample; this
    // misspelling is similar to ~1k of the 20k titles, so at this catalogue size
    // a sequential scan is honestly cheaper. Disabling it shows the operator is
    // served by the index, which wins as the catalogue grows.
    const text = await withClient(migratorConfig(db), async (c) => {
      await c.query("SET enable_seqscan = off");
      return explain("SELECT id FROM courses WHERE title % 'Mastring Kubernets for Nurses' AND deleted_at IS NULL", c);
    });
    expect(text).toMatch(/Bitmap Index Scan on courses_title_trgm_idx/);
  });

  test.each([
    ["a month after the cutover touches only that month's partition", 1, (p: string) => [`${p}_p${month(1)}`]],
    ["a range before the cutover touches only the history partition", -1, (p: string) => [`${p}_p_history`]],
  ])("partition pruning: %s", async (_what, offset, expected) => {
    const from = new Date(cutover);
    from.setUTCMonth(from.getUTCMonth() + (offset > 0 ? 1 : -2));
    const to = new Date(from);
    to.setUTCMonth(to.getUTCMonth() + 1);
    for (const [table, col] of [["analytics_events", "occurred_at"], ["audit_log", "created_at"]]) {
      const text = await withClient(migratorConfig(db), (c) =>
        explain(`SELECT count(*) FROM ${table} WHERE ${col} >= '${from.toISOString()}' AND ${col} < '${to.toISOString()}'`, c),
      );
      const scanned = [...text.matchAll(new RegExp(`on (${table}_p\\w+)`, "g"))].map((m) => m[1]);
      expect([...new Set(scanned)]).toEqual(expected(table));
    }
  });

  test("the materialized views refresh concurrently and agree with their sources", async () => {
    await withClient(migratorConfig(db), async (c) => {
      await c.query("INSERT INTO analytics_events (user_id, course_id, event_type, occurred_at) VALUES (1, 1, 'view', now())");
      await c.query("SELECT lp_ops.refresh_analytics_views()");
      const dal = await c.query(`SELECT (SELECT active_learners FROM analytics_daily_active_learners WHERE course_id = 7 AND activity_date = (now() AT TIME ZONE 'UTC')::date) AS mv,
                                        (SELECT count(DISTINCT user_id) FROM analytics_events WHERE course_id = 7 AND (occurred_at AT TIME ZONE 'UTC')::date = (now() AT TIME ZONE 'UTC')::date) AS src`);
      expect(Number(dal.rows[0].mv ?? 0)).toBe(Number(dal.rows[0].src));
      const funnel = await c.query(`SELECT f.enrolled, f.started >= f.halfway AND f.enrolled >= f.started AS ordered,
                                           (SELECT count(*) FROM enrollments WHERE course_id = 7 AND deleted_at IS NULL) AS src
                                      FROM course_completion_funnel f WHERE course_id = 7`);
      expect(Number(funnel.rows[0].enrolled)).toBe(Number(funnel.rows[0].src));
      expect(funnel.rows[0].ordered).toBe(true);
    });
  });

  test("anonymize_user removes one user's personal data in place and writes an audit entry", async () => {
    await withClient(migratorConfig(db), async (c) => {
      await c.query("CALL lp_ops.anonymize_user(43, 1, 'test')");
      const u = (await c.query("SELECT email, full_name, phone, date_of_birth, deleted_at IS NOT NULL AS deleted FROM users WHERE id = 43")).rows[0];
      expect(u).toEqual({ email: "anonymized-43@invalid.example", full_name: null, phone: null, date_of_birth: null, deleted: true });
      const other = (await c.query("SELECT email FROM users WHERE id = 44")).rows[0];
      expect(other.email).toBe("user44@example.com");
      const audit = (await c.query("SELECT actor_id, details->>'reason_code' AS reason FROM audit_log WHERE action = 'user.anonymized' AND entity_id = 43")).rows;
      expect(audit).toEqual([{ actor_id: "1", reason: "other" }]);
      await expect(c.query("CALL lp_ops.anonymize_user(99999999)")).rejects.toThrow(/no user with id 99999999/);
    });
  });

  test("maintenance for today finds every partition it needs in place", async () => {
    const result = await withClient(migratorConfig(db), (c) =>
      runPartitionMaintenance(c, { monthsAhead: 3, retentionMonths: { analytics_events: 13, audit_log: 84 } }),
    );
    expect(result).toEqual({ created: [], dropped: [], held: [], removedBounds: [] });
  });

  describe("login users with group roles from the stack config", () => {
    const PASSWORD = "login-test-only";
    const users = { app: "", analytics: "", backup: "" };
    const as = <T>(who: keyof typeof users, fn: (c: Client) => Promise<T>) => withClient(loginConfig(db, users[who], PASSWORD), fn);

    beforeAll(async () => {
      for (const k of Object.keys(users) as (keyof typeof users)[]) users[k] = `${db}_${k}`;
      await withClient(migratorConfig(db), async (c) => {
        for (const u of Object.values(users)) await c.query(`CREATE ROLE "${u}" LOGIN PASSWORD '${PASSWORD}'`);
        const result = await reconcileMemberships(c, {
          [users.app]: ["lp_app_rw"],
          [users.analytics]: ["lp_analytics_ro"],
          [users.backup]: ["lp_backup_ro"],
        });
        expect(result.granted).toHaveLength(3);
        expect(result.warnings).toEqual([]);
      });
    });

    test.each([
      ["app", "CREATE TABLE sneaky (id int)", /permission denied for schema public/],
      ["app", "DROP TABLE enrollments", /must be owner of table enrollments/],
      ["app", "TRUNCATE analytics_events", /permission denied for table analytics_events/],
      ["app", "ALTER TABLE users ADD COLUMN x int", /must be owner of table users/],
      ["app", "UPDATE audit_log SET action = 'x' WHERE id = 1", /permission denied for table audit_log/],
      ["app", "DELETE FROM audit_log_p_history WHERE id = 1", /permission denied for table audit_log_p_history/],
      ["analytics", "SELECT email FROM users LIMIT 1", /permission denied for table users/],
      ["analytics", "SELECT * FROM users LIMIT 1", /permission denied for table users/],
      ["analytics", "INSERT INTO analytics_events (event_type) VALUES ('x')", /permission denied for table analytics_events/],
      ["analytics", "UPDATE courses SET title = title WHERE id = 1", /permission denied for table courses/],
      ["analytics", "SELECT * FROM audit_log LIMIT 1", /permission denied for table audit_log/],
      ["backup", "INSERT INTO courses (instructor_id, title, slug) VALUES (1, 'x', 'x')", /permission denied for table courses/],
    ] as const)("%s cannot: %s", async (who, sql, message) => {
      await expect(as(who, (c) => c.query(sql))).rejects.toThrow(message);
    });

    test.each([
      ["app", "INSERT INTO enrollments (user_id, course_id) VALUES (1, 1) RETURNING id"],
      ["app", "INSERT INTO audit_log (action, entity_type) VALUES ('x', 'y') RETURNING id"],
      ["app", "CALL lp_ops.anonymize_user(45)"],
      ["analytics", "SELECT id, country_code, created_at FROM users LIMIT 1"],
      ["analytics", "SELECT * FROM course_completion_funnel LIMIT 1"],
      ["analytics", "SELECT * FROM analytics_daily_active_learners LIMIT 1"],
      ["analytics", "SELECT count(*) FROM analytics_events"],
      ["backup", "SELECT email FROM users LIMIT 1"],
      ["backup", "SELECT count(*) FROM audit_log_p_history"],
    ] as const)("%s can: %s", async (who, sql) => {
      await expect(as(who, (c) => c.query(sql))).resolves.toBeDefined();
    });

    test("the group's statement_timeout reaches its login users", async () => {
      expect((await as("app", (c) => c.query("SHOW statement_timeout"))).rows[0].statement_timeout).toBe("15s");
      expect((await as("backup", (c) => c.query("SHOW statement_timeout"))).rows[0].statement_timeout).toBe("0");
    });

    test("default privileges reach partitions created later", async () => {
      const created = await withClient(migratorConfig(db), async (c) => {
        const far = new Date(cutover);
        far.setUTCMonth(far.getUTCMonth() + 6);
        return runPartitionMaintenance(c, { monthsAhead: 1, retentionMonths: {}, asOf: far });
      });
      expect(created.created.length).toBeGreaterThan(0);
      const partition = created.created.find((p) => p.startsWith("analytics_events_p"))!;
      await expect(as("backup", (c) => c.query(`SELECT count(*) FROM ${partition}`))).resolves.toBeDefined();
      await expect(as("app", (c) => c.query(`SELECT count(*) FROM ${partition}`))).resolves.toBeDefined();
      await expect(as("analytics", (c) => c.query(`INSERT INTO ${partition} (event_type, occurred_at) VALUES ('x', now())`))).rejects.toThrow(/permission denied/);
    });

    test("reconcile revokes group roles no longer listed", async () => {
      const result = await withClient(migratorConfig(db), (c) => reconcileMemberships(c, { [users.app]: ["lp_app_rw"], [users.backup]: ["lp_backup_ro"] }));
      expect(result.revoked).toEqual([`lp_analytics_ro ✕ ${users.analytics}`]);
      await expect(as("analytics", (c) => c.query("SELECT count(*) FROM analytics_events"))).rejects.toThrow(/permission denied/);
    });

    test("a login given a connection limit gets it instead of its group's; other logins keep their groups' sum", async () => {
      const limits = await withClient(migratorConfig(db), async (c) => {
        const result = await reconcileMemberships(c, { [users.app]: ["lp_app_rw"], [users.backup]: ["lp_backup_ro"] }, { connectionLimits: { [users.app]: 800 } });
        expect(result.warnings).toEqual([]);
        return c.query<{ rolname: string; rolconnlimit: number }>("SELECT rolname, rolconnlimit FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1", [
          [users.app, users.backup, "lp_app_rw", "lp_backup_ro"],
        ]);
      });
      expect(Object.fromEntries(limits.rows.map((r) => [r.rolname, r.rolconnlimit]))).toEqual({
        [users.app]: 800,
        [users.backup]: 4,
        lp_app_rw: 500,
        lp_backup_ro: 4,
      });
    });

    test("an IAM-like login the migrator has no ADMIN on: the grant applies; ALTER ROLE comes back as a warning with the statement to run on 16+ and applies on ≤15", async () => {
      const iam = `${db}_iam@p.iam`;
      await createIamLikeLogin(iam);
      const result = await withClient(migratorConfig(db), (c) =>
        reconcileMemberships(c, { [users.app]: ["lp_app_rw"], [users.backup]: ["lp_backup_ro"], [iam]: ["lp_app_rw"] }, { connectionLimits: { [iam]: 800 } }),
      );
      expect(result.granted).toEqual([`lp_app_rw → ${iam}`]);
      if (inject("pg").major < 16) {
        // ≤15: CREATEROLE alone may alter any non-superuser role, so the settings apply.
        expect(result.warnings).toEqual([]);
        const { rows } = await withClient(serverConfig(db), (c) => c.query("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", [iam]));
        expect(rows[0].rolconnlimit).toBe(800);
        await withClient(serverConfig(), (c) => c.query(`DROP OWNED BY "${iam}"; DROP ROLE "${iam}"`)).catch(() => undefined);
        return;
      }
      expect(result.warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^cannot set ${iam}'s role settings: permission denied .*42501.*ADMIN OPTION.*ALTER ROLE "${iam}" CONNECTION LIMIT 800`)),
          expect.stringMatching(new RegExp(`ALTER ROLE "${iam}" SET statement_timeout = '15s'`)),
        ]),
      );
      // Once its admin has set them, the reconcile finds nothing to change and says nothing.
      await withClient(serverConfig(db), async (c) => {
        await c.query(`ALTER ROLE "${iam}" CONNECTION LIMIT 800`);
        await c.query(`ALTER ROLE "${iam}" SET statement_timeout = '15s'`);
        await c.query(`ALTER ROLE "${iam}" SET idle_in_transaction_session_timeout = '30s'`);
      });
      const again = await withClient(migratorConfig(db), (c) =>
        reconcileMemberships(c, { [users.app]: ["lp_app_rw"], [users.backup]: ["lp_backup_ro"], [iam]: ["lp_app_rw"] }, { connectionLimits: { [iam]: 800 } }),
      );
      expect(again).toEqual({ granted: [], revoked: [], warnings: [] });
      await withClient(serverConfig(), (c) => c.query(`DROP OWNED BY "${iam}"; DROP ROLE "${iam}"`)).catch(() => undefined);
    });

    test.each([
      ["an unknown login", { nobody_here: ["lp_app_rw"] }, /nobody_here do not exist; create them/],
      ["a group role that is not managed", { lp_migrator: ["lp_owner"] }, /group role "lp_owner" is not one the reconcile manages .*; allowed: lp_app_rw, lp_analytics_ro, lp_backup_ro/],
      ["a group role instead of a login", { lp_app_rw: [] }, /"lp_app_rw" is a group role, not a login/],
    ])("reconcile refuses %s", async (_what, memberships, message) => {
      await expect(withClient(migratorConfig(db), (c) => reconcileMemberships(c, memberships))).rejects.toThrow(message);
    });
  });
});

describe("partition maintenance for a given date", () => {
  let db = "";
  beforeAll(async () => {
    db = await createCloudSqlDatabase("migrations_maint");
    await withClient(migratorConfig(db), async (c) => {
      await applyMigrations(c, migrations);
      // A partitioned table of our own, so dates far from today do not touch the real tables' history.
      await c.query(`SET ROLE lp_owner;
                     CREATE TABLE public.mt_events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
                     INSERT INTO lp_ops.partition_settings VALUES ('mt_events', 'at', 2, 3);
                     RESET ROLE;`);
    });
  });
  afterAll(async () => {
    if (db) await dropDatabase(db);
  });

  const maintain = (asOf: string) =>
    withClient(migratorConfig(db), async (c) => {
      const r = await runPartitionMaintenance(c, { monthsAhead: 2, retentionMonths: { mt_events: 3 }, asOf: new Date(asOf) });
      return { created: r.created.filter((p) => p.startsWith("mt_")), dropped: r.dropped.filter((p) => p.startsWith("mt_")) };
    });

  // Run in order: each row starts from the partitions the previous rows left.
  test.each([
    ["2030-01-10T12:00:00Z", ["mt_events_p203001", "mt_events_p203002", "mt_events_p203003"], []],
    ["2030-01-31T23:59:59Z", [], []],
    ["2030-03-01T00:00:00Z", ["mt_events_p203004", "mt_events_p203005"], []],
    ["2030-05-15T00:00:00Z", ["mt_events_p203006", "mt_events_p203007"], ["mt_events_p203001"]],
    ["2030-07-01T00:00:00Z", ["mt_events_p203008", "mt_events_p203009"], ["mt_events_p203002", "mt_events_p203003"]],
  ])("as of %s it creates %j and drops %j", async (asOf, created, dropped) => {
    expect(await maintain(asOf)).toEqual({ created, dropped });
  });

  test("concurrent runs for the same date create each partition once and both succeed", async () => {
    const [a, b] = await Promise.all([maintain("2030-09-02T00:00:00Z"), maintain("2030-09-02T00:00:00Z")]);
    expect([...a.created, ...b.created].sort()).toEqual(["mt_events_p203010", "mt_events_p203011"]);
    const remaining = await withClient(migratorConfig(db), (c) => c.query("SELECT partition_name FROM lp_ops.partition_bounds('mt_events') ORDER BY 1"));
    expect(remaining.rows.map((r: { partition_name: string }) => r.partition_name)).toEqual(
      ["mt_events_p203006", "mt_events_p203007", "mt_events_p203008", "mt_events_p203009", "mt_events_p203010", "mt_events_p203011"],
    );
  });

  test("analytics_events partitions maintenance created after 0011 come with the covering index, attached, and the parent's stays valid", async () => {
    const { rows } = await withClient(migratorConfig(db), (c) =>
      c.query<{ part: string; attached: boolean; parent_valid: boolean }>(
        `SELECT p.inhrelid::regclass::text AS part,
                EXISTS (SELECT FROM pg_index i JOIN pg_inherits ii ON ii.inhrelid = i.indexrelid
                         WHERE i.indrelid = p.inhrelid AND i.indisvalid
                           AND ii.inhparent = 'analytics_events_course_occurred_cov_idx'::regclass) AS attached,
                (SELECT indisvalid FROM pg_index WHERE indexrelid = 'analytics_events_course_occurred_cov_idx'::regclass) AS parent_valid
           FROM pg_inherits p WHERE p.inhparent = 'analytics_events'::regclass ORDER BY 1`,
      ),
    );
    // The dates above moved analytics_events to 2030 too: every partition left was made by maintain_partitions
    // (its retention stays 13 months, so 2030-01 to 2030-11 remain)
    expect(rows.map((r) => r.part)).toEqual(Array.from({ length: 11 }, (_, i) => `analytics_events_p2030${String(i + 1).padStart(2, "0")}`));
    expect(rows.every((r) => r.attached && r.parent_valid)).toBe(true);
  });

  test.each([
    ["monthsAhead 0", { monthsAhead: 0, retentionMonths: {} }, /monthsAhead = 0; use a whole number from 1 to 24/],
    ["an unknown table", { monthsAhead: 1, retentionMonths: { enrollments: 3 } }, /"enrollments" is not a partitioned table; known tables: /],
    ["a retention of 0", { monthsAhead: 1, retentionMonths: { audit_log: 0 } }, /retention for audit_log = 0/],
  ])("refuses %s", async (_what, settings, message) => {
    await expect(withClient(migratorConfig(db), (c) => runPartitionMaintenance(c, settings))).rejects.toThrow(message);
  });
});
