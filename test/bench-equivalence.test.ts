/**
 * The optimised schema's rewritten hot queries return exactly what the
 * original SQL returns on the same seeded data: the instructor-analytics
 * rollup (0017) including events not yet folded, the first partial day of
 * the window and a learner active in two of one instructor's courses, daily
 * active learners from the same rollup, the progress upsert on 0016's
 * unique key (same resulting rows), full-text search ranked before the join
 * to courses, and the learner dashboard with its courses joined first.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { OPTIMISED_ONLY, PRECOMPUTED_ANALYTICS, precomputeAnalytics } from "../bench/optimised-only";
import { seed } from "../bench/seed";
import { FILLER, TOPICS } from "../bench/seed";
import {
  DAILY_ACTIVE_LEARNERS,
  FULL_TEXT,
  HOT_QUERIES,
  INSTRUCTOR_ANALYTICS,
  LEARNER_DASHBOARD,
  PROGRESS_UPSERT,
  WINDOW_DAYS,
  analyticsQueryName,
  loadParams,
  readSchemaFacts,
  type Params,
} from "../bench/workload";
import { createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, serverConfig } from "./harness/db";

/** Small enough to seed in seconds, large enough that instructors have events on most days. */
const SCALE = 0.005;
/** 0017's backfill chunk here: the seed's ~50 k events take about ten chunks, so days split across chunks are merged. */
const BACKFILL_CHUNK = 5_000;

describe("rewritten hot queries answer exactly as the original SQL", () => {
  let name: string;
  let m: Client;
  let params: Params;

  beforeAll(async () => {
    name = await createCloudSqlDatabase("bench_equiv");
    // A login-time setting: the engine resets each migration's session to those.
    m = new Client({ ...migratorConfig(name), options: `-c lp.rollup_backfill_chunk=${BACKFILL_CHUNK}` });
    await m.connect();
    const all = loadMigrations();
    await applyMigrations(m, all.slice(0, 1));
    const loaders = [new Client(serverConfig(name)), new Client(serverConfig(name))] as const;
    await Promise.all(loaders.map((c) => c.connect()));
    try {
      await seed(loaders, SCALE, () => undefined);
    } finally {
      await Promise.all(loaders.map((c) => c.end()));
    }
    await applyMigrations(m, all);
    await m.query("SET TimeZone = 'UTC'");
    params = await loadParams(m);
  }, 300_000);
  afterAll(async () => {
    await m?.end();
    if (name) await dropDatabase(name);
  });

  const instructorsWithEvents = async (): Promise<string[]> =>
    (
      await m.query<{ instructor_id: string }>(
        `SELECT DISTINCT c.instructor_id FROM courses c JOIN analytics_events e ON e.course_id = c.id
          WHERE c.deleted_at IS NULL AND e.occurred_at >= now() - interval '30 days' ORDER BY 1 LIMIT 40`,
      )
    ).rows.map((r) => r.instructor_id);

  const compareAnalytics = async (instructors: readonly string[]) => {
    let nonEmpty = 0;
    for (const days of Object.values(WINDOW_DAYS)) {
      for (const i of instructors) {
        const before = await m.query(INSTRUCTOR_ANALYTICS.events, [i, days]);
        const after = await m.query(INSTRUCTOR_ANALYTICS.rollup, [i, days]);
        expect(after.rows, `instructor ${i}, ${days} days`).toEqual(before.rows);
        if (before.rows.length > 0) nonEmpty++;
        const courses = (await m.query<{ id: string }>("SELECT id FROM courses WHERE instructor_id = $1", [i])).rows;
        for (const { id } of courses) {
          const raw = await m.query(DAILY_ACTIVE_LEARNERS.events, [id, days]);
          expect((await m.query(DAILY_ACTIVE_LEARNERS.rollup, [id, days])).rows, `course ${id}, ${days} days`).toEqual(raw.rows);
        }
      }
    }
    return nonEmpty;
  };

  test("the schema facts select the rewritten SQL", async () => {
    const facts = await readSchemaFacts(m);
    expect(facts).toMatchObject({ searchVectorColumn: "search_vector", progressUniqueKey: true, analyticsRollup: true, progressCoveringIndex: true });
    const q = (n: string) => HOT_QUERIES.find((x) => x.name === n)!.sql(facts);
    expect(q("instructor_analytics_30d")).toBe(INSTRUCTOR_ANALYTICS.rollup);
    expect(q("progress_upsert")).toBe(PROGRESS_UPSERT.onConflict);
    expect(q("daily_active_learners")).toBe(DAILY_ACTIVE_LEARNERS.rollup);
    expect(q("search_full_text")).toBe(FULL_TEXT.rankedFirst("cc.search_vector"));
    expect(q("learner_dashboard")).toBe(LEARNER_DASHBOARD.fenced);
  });

  test("full-text search: ranking before the join returns the rows of ranking the joined matches, in order", async () => {
    await m.query("BEGIN");
    try {
      // More matches than the limit, several documents per course, identical documents in different
      // courses (equal ranks, ordered by id), and the terms at varying distances (ts_rank of an AND query).
      await m.query(
        `INSERT INTO course_content (course_id, title, body, content_type)
         SELECT c.id, c.title, CASE WHEN g = 3 THEN 'kubernetes projects for everyone'
                                    ELSE 'kubernetes ' || repeat('lesson ', (c.id % 5)::int * g) || 'projects ' || repeat('projects ', g) END, 'lesson'
           FROM courses c, generate_series(1, 3) AS g`,
      );
      const joined = FULL_TEXT.joined("cc.search_vector");
      const rankedFirst = FULL_TEXT.rankedFirst("cc.search_vector");
      const top = (await m.query<{ id: string }>(joined, ["kubernetes projects"])).rows;
      expect(top).toHaveLength(20);
      // A soft-deleted course among the best matches: the rewrite must skip it before the limit, as the original does.
      await m.query("UPDATE courses SET deleted_at = now() WHERE id = $1 OR id = $2", [top[0].id, top[5].id]);
      const searches = ["kubernetes projects", "kubernetes -docker", '"kubernetes projects"', "kubernetes or python", ...TOPICS.flatMap((t) => FILLER.slice(0, 3).map((w) => `${t} ${w}`))];
      let full = 0;
      for (const text of searches) {
        const original = await m.query(joined, [text]);
        expect((await m.query(rankedFirst, [text])).rows, text).toEqual(original.rows);
        expect((await m.query(FULL_TEXT.joined(FULL_TEXT.document), [text])).rows, `${text} (baseline document)`).toEqual(original.rows);
        if (original.rows.length === 20) full++;
      }
      expect(full).toBeGreaterThanOrEqual(4);
      expect((await m.query(rankedFirst, ["kubernetes projects"])).rows.map((r) => r.id)).not.toContain(top[0].id);
    } finally {
      await m.query("ROLLBACK");
    }
  });

  test("learner dashboard: live enrollments joined to courses first return the original rows", async () => {
    await m.query("BEGIN");
    try {
      const learners = [...new Set(params.enrollments.map((e) => e.userId))].slice(0, 150);
      // A soft-deleted course and a soft-deleted enrollment of the first learner, so both filters are exercised.
      await m.query("UPDATE courses SET deleted_at = now() WHERE id = $1", [params.enrollments[0].courseId]);
      await m.query("UPDATE enrollments SET deleted_at = now() WHERE id = (SELECT max(id) FROM enrollments WHERE user_id = $1)", [learners[1]]);
      let withProgress = 0;
      for (const learner of learners) {
        const original = await m.query(LEARNER_DASHBOARD.joined, [learner]);
        expect((await m.query(LEARNER_DASHBOARD.fenced, [learner])).rows, `learner ${learner}`).toEqual(original.rows);
        if (original.rows.some((r) => Number(r.lessons_completed) > 0)) withProgress++;
      }
      expect(withProgress).toBeGreaterThan(100);
    } finally {
      await m.query("ROLLBACK");
    }
  });

  test("the rollup backfill ran in chunks and recorded reaching its bound", async () => {
    const st = await m.query<{ through: string; done: string; first: string; finished: boolean }>(
      `SELECT backfill_through_id AS through, backfilled_id AS done, backfilled_at IS NOT NULL AS finished,
              (SELECT min(id) FROM analytics_events) AS first
         FROM lp_ops.analytics_rollup_state`,
    );
    const r = st.rows[0];
    expect(r).toMatchObject({ finished: true, done: r.through });
    expect((Number(r.through) - Number(r.first) + 1) / BACKFILL_CHUNK).toBeGreaterThan(5);
  });

  test("instructor analytics: rollup (backfilled) equals raw events, 7 and 30 days", async () => {
    const instructors = await instructorsWithEvents();
    expect(instructors.length).toBeGreaterThan(5);
    expect(await compareAnalytics(instructors)).toBeGreaterThan(10);
  });

  test("instructor analytics: new events are counted through the queue, then through the fold, and a shared learner counts once", async () => {
    const [instructor] = await instructorsWithEvents();
    const courses = (await m.query<{ id: string }>("SELECT id FROM courses WHERE instructor_id = $1 AND deleted_at IS NULL ORDER BY id", [instructor])).rows.map((r) => r.id);
    expect(courses.length).toBeGreaterThanOrEqual(2);
    const learner = params.enrollments[0].userId;
    // The same learner in both of the instructor's courses today and 3 days ago, a repeat, an anonymous event, and one at the window's edge.
    await m.query(
      `INSERT INTO analytics_events (user_id, course_id, event_type, occurred_at)
       SELECT u, c, t, at FROM (VALUES ($1::bigint, $2::bigint, 'lesson_view', now()), ($1, $3::bigint, 'lesson_view', now()),
                                       ($1, $2, 'lesson_view', now() - interval '3 days'), ($1, $3, 'lesson_view', now() - interval '3 days'),
                                       ($1, $3, 'lesson_view', now() - interval '3 days'), (NULL, $2, 'course_view', now() - interval '1 day'),
                                       ($1, $2, 'quiz_submit', now() - interval '29 days 23 hours')) AS v(u, c, t, at)`,
      [learner, courses[0], courses[1]],
    );
    expect(Number((await m.query<{ n: string }>("SELECT count(*) AS n FROM analytics_rollup_pending")).rows[0].n)).toBe(7);
    expect(await compareAnalytics([instructor])).toBe(2);
    const folded = await withSuperuser((c) => c.query<{ n: string }>("SELECT lp_ops.fold_analytics_rollup() AS n"));
    expect(Number(folded.rows[0].n)).toBe(7);
    expect(Number((await m.query<{ n: string }>("SELECT count(*) AS n FROM analytics_rollup_pending")).rows[0].n)).toBe(0);
    expect(await compareAnalytics([instructor])).toBe(2);
    const today = await m.query<{ learners: string; events: string }>(
      `SELECT learners, events FROM (${INSTRUCTOR_ANALYTICS.rollup}) x WHERE day = date_trunc('day', now()) AND event_type = 'lesson_view'`,
      [instructor, 7],
    );
    const raw = await m.query<{ n: string }>(
      `SELECT count(DISTINCT user_id) AS n FROM analytics_events WHERE course_id = ANY($1) AND occurred_at >= date_trunc('day', now()) AND event_type = 'lesson_view'`,
      [courses],
    );
    expect(today.rows[0].learners).toBe(raw.rows[0].n);
  });

  test("the precomputed analytics answers (the bench's floor for the windows) are the hot query's rows, read without a sort, and go away with their schema", async () => {
    const instructors = await instructorsWithEvents();
    const facts = await readSchemaFacts(m);
    try {
      const stored = await withSuperuser((c) => precomputeAnalytics(c, instructors, facts));
      let answerRows = 0;
      let nonEmpty = 0;
      for (const days of Object.values(WINDOW_DAYS)) {
        // The floor draws the window's parameters as its hot query does.
        const floor = OPTIMISED_ONLY.find((q) => q.name === `${analyticsQueryName(days)}_precomputed`)!;
        expect(floor.args(params)).toEqual([expect.any(String), days]);
        for (const i of instructors) {
          const answer = (await m.query(INSTRUCTOR_ANALYTICS.rollup, [i, days])).rows;
          expect((await m.query(floor.sql(facts), [i, days])).rows, `instructor ${i}, ${days} days`).toEqual(answer);
          answerRows += answer.length;
          if (answer.length > 0) nonEmpty++;
        }
      }
      expect(stored).toBe(answerRows);
      expect(nonEmpty).toBeGreaterThan(10);
      // The generic plan, as the bench's prepared statement settles on: an index-only scan in the answer's order, no sort.
      await m.query(`PREPARE floor_read(bigint, integer) AS ${PRECOMPUTED_ANALYTICS.read}`);
      await m.query("SET plan_cache_mode = force_generic_plan");
      try {
        const plan = (await m.query(`EXPLAIN (COSTS OFF) EXECUTE floor_read(${instructors[0]}, 30)`)).rows.map((r) => r["QUERY PLAN"]).join("\n");
        expect(plan).toMatch(/^Index Only Scan using analytics_answers_pkey/);
        expect(plan).not.toMatch(/Sort/);
      } finally {
        await m.query("RESET plan_cache_mode");
        await m.query("DEALLOCATE floor_read");
      }
      // Built again, it replaces the first build rather than failing or doubling.
      expect(await withSuperuser((c) => precomputeAnalytics(c, instructors, facts))).toBe(stored);
    } finally {
      await withSuperuser((c) => c.query(PRECOMPUTED_ANALYTICS.drop));
    }
    expect((await m.query("SELECT to_regnamespace('lp_bench') AS s")).rows[0].s).toBeNull();
  });

  test("progress upsert: ON CONFLICT leaves the same rows as update-then-insert", async () => {
    const calls = Array.from({ length: 60 }, (_, i) => {
      const e = params.enrollments[i % 20];
      const lessons = params.lessonsByCourse.get(e.courseId)!;
      return [e.userId, e.courseId, lessons[(i * 7) % lessons.length], i % 3 === 0 ? 100 : (i * 37) % 100];
    });
    const users = [...new Set(calls.map((c) => c[0]))];
    const snapshot = async () =>
      (
        await m.query(
          `SELECT user_id, course_id, lesson_id, status, progress_percent, completed_at IS NOT NULL AS completed
             FROM lesson_progress WHERE user_id = ANY($1) ORDER BY user_id, lesson_id`,
          [users],
        )
      ).rows;
    const run = async (sql: string) => {
      await m.query("BEGIN");
      try {
        for (const c of calls) await m.query(sql, c);
        return await snapshot();
      } finally {
        await m.query("ROLLBACK");
      }
    };
    const original = await run(PROGRESS_UPSERT.updateThenInsert);
    const rewritten = await run(PROGRESS_UPSERT.onConflict);
    expect(rewritten).toEqual(original);
    expect(original.length).toBeGreaterThan((await snapshot()).length);
  });

  async function withSuperuser<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client(serverConfig(name));
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
});
