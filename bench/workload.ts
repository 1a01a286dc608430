/**
 * The platform's hot queries, the SQL each phase runs (the application's
 * SQL on the baseline, the rewritten form once the migration it relies on is
 * applied, always returning the same rows), and the random parameters each
 * call draws.
 */
import { createHash } from "crypto";
import type { ClientBase } from "pg";
import type { Operation } from "./runner";
import { FILLER, TOPICS } from "./seed";

/** Ids sampled from the seeded data, so each call hits a real learner, course, lesson or instructor. */
export interface Params {
  /** (learner, course) pairs of live enrollments. */
  readonly enrollments: readonly { readonly userId: string; readonly courseId: string }[];
  /** Lesson ids per course id. */
  readonly lessonsByCourse: ReadonlyMap<string, readonly string[]>;
  /** Live course ids. */
  readonly courseIds: readonly string[];
  /** Users who teach at least one live course. */
  readonly instructorIds: readonly string[];
  /** Course titles, for fuzzy-title search terms. */
  readonly titles: readonly string[];
}

/** Enrollments sampled for the dashboard and upsert parameters (enough that the same learner rarely repeats). */
const ENROLLMENT_SAMPLE = 20_000;

/** Samples parameters from the database (once per phase; the data is the same in both). */
export async function loadParams(client: ClientBase): Promise<Params> {
  // A seeded random sample: spread over all learners, the same in both phases.
  await client.query("SELECT setseed(0.5)");
  const enr = await client.query<{ user_id: string; course_id: string }>(
    "SELECT user_id, course_id FROM enrollments WHERE deleted_at IS NULL ORDER BY random() LIMIT $1",
    [ENROLLMENT_SAMPLE],
  );
  const lessons = await client.query<{ course_id: string; ids: string[] }>(
    "SELECT course_id, array_agg(id ORDER BY position) AS ids FROM lessons WHERE deleted_at IS NULL GROUP BY course_id",
  );
  const courses = await client.query<{ id: string; title: string; instructor_id: string }>("SELECT id, title, instructor_id FROM courses WHERE deleted_at IS NULL ORDER BY id");
  const lessonsByCourse = new Map(lessons.rows.map((r) => [r.course_id, r.ids]));
  const live = new Set(courses.rows.map((r) => r.id));
  return {
    enrollments: enr.rows.filter((r) => live.has(r.course_id) && lessonsByCourse.has(r.course_id)).map((r) => ({ userId: r.user_id, courseId: r.course_id })),
    lessonsByCourse,
    courseIds: courses.rows.map((r) => r.id),
    instructorIds: [...new Set(courses.rows.map((r) => r.instructor_id))],
    titles: courses.rows.map((r) => r.title),
  };
}

/** A random element; a clear error when the sample is empty. */
export function pick<T>(xs: readonly T[]): T {
  if (xs.length === 0) throw new Error("workload: no sampled rows to draw parameters from; is the database seeded?");
  return xs[Math.floor(Math.random() * xs.length)];
}

/** Analytics windows (7-day and 30-day instructor analytics); daily active learners use the 30-day one. */
export const WINDOW_DAYS = { week: 7, month: 30 } as const;

/** The instructor-analytics hot query of a window. */
export function analyticsQueryName(days: number): string {
  return `instructor_analytics_${days}d`;
}

/** Schema facts the queries depend on, read after each phase's migrations. */
export interface SchemaFacts {
  /** Generated tsvector column on course_content, when the optimisation migrations added one. */
  readonly searchVectorColumn?: string;
  /** A valid unique index on lesson_progress (user_id, lesson_id) exists (migration 0016), so the upsert can be ON CONFLICT. */
  readonly progressUniqueKey?: boolean;
  /** The instructor-analytics rollup exists and is backfilled (migration 0017). */
  readonly analyticsRollup?: boolean;
  /** 0004's covering index lesson_progress (user_id, course_id) is valid, so a learner's progress is one index-only range scan. */
  readonly progressCoveringIndex?: boolean;
}

/** Reads the facts from the catalog. */
export async function readSchemaFacts(client: ClientBase): Promise<SchemaFacts> {
  const r = await client.query<{ search: string | null; progress_key: boolean; progress_cov: boolean; has_rollup: boolean }>(
    `SELECT (SELECT attname FROM pg_attribute
              WHERE attrelid = 'public.course_content'::regclass AND atttypid = 'tsvector'::regtype AND attnum > 0 AND NOT attisdropped
              ORDER BY attnum LIMIT 1) AS search,
            EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                     WHERE i.indrelid = 'public.lesson_progress'::regclass AND c.relname = 'lesson_progress_user_lesson_key' AND i.indisvalid AND i.indisunique) AS progress_key,
            EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                     WHERE i.indrelid = 'public.lesson_progress'::regclass AND c.relname = 'lesson_progress_user_course_idx' AND i.indisvalid) AS progress_cov,
            to_regclass('lp_ops.analytics_rollup_state') IS NOT NULL AS has_rollup`,
  );
  const rollup =
    r.rows[0].has_rollup && (await client.query("SELECT FROM lp_ops.analytics_rollup_state WHERE backfilled_at IS NOT NULL")).rowCount === 1;
  return {
    searchVectorColumn: r.rows[0].search ?? undefined,
    progressUniqueKey: r.rows[0].progress_key,
    analyticsRollup: rollup,
    progressCoveringIndex: r.rows[0].progress_cov,
  };
}

/**
 * The document the full-text search matches: the same expression migration
 * 0003 stores in course_content.search_vector (title weighted A, body B). The
 * baseline computes it per row; PostgreSQL never rewrites an expression into
 * a generated column that stores it, so the optimised query names the column
 * to reach its GIN index. Both return the same rows.
 */
export const FULL_TEXT = {
  document:
    "(setweight(to_tsvector('english'::regconfig, coalesce(cc.title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(cc.body, '')), 'B'))",
  /** Ranks every match joined to its live course, then keeps the top 20. */
  joined: (doc: string) => `SELECT c.id, c.title, ts_rank(${doc}, q) AS rank
        FROM course_content cc
        JOIN courses c ON c.id = cc.course_id AND c.deleted_at IS NULL,
             websearch_to_tsquery('english', $1) AS q
        WHERE cc.deleted_at IS NULL AND ${doc} @@ q
        ORDER BY rank DESC, c.id
        LIMIT 20`,
  /**
   * The same rows in the same order: every match is still ranked (ts_rank of
   * an AND query depends on where the terms sit in each document, so no
   * per-document bound picks the top 20 unranked), but the matches are sorted
   * by (rank, course) before the join, and c.id = cc.course_id makes that the
   * final order. The join then probes courses only until 20 live rows are
   * found (≈ 20 probes) instead of once per match (≈ 200 at scale 1), which
   * a generic plan did because it cannot estimate the tsquery's matches.
   */
  rankedFirst: (doc: string) => `SELECT c.id, c.title, r.rank
        FROM (SELECT cc.course_id, ts_rank(${doc}, q) AS rank
                FROM course_content cc, websearch_to_tsquery('english', $1) AS q
               WHERE cc.deleted_at IS NULL AND ${doc} @@ q
               ORDER BY rank DESC, cc.course_id) AS r
        JOIN courses c ON c.id = r.course_id AND c.deleted_at IS NULL
        ORDER BY r.rank DESC, r.course_id
        LIMIT 20`,
} as const;

/** A learner's dashboard ($1 learner): each live enrollment with lessons completed and last completion. */
export const LEARNER_DASHBOARD = {
  joined: `SELECT c.id, c.title, e.status, e.progress_percent, e.enrolled_at, e.last_activity_at,
        count(lp.lesson_id) FILTER (WHERE lp.status = 'completed') AS lessons_completed, max(lp.completed_at) AS last_completed_at
      FROM enrollments e
      JOIN courses c ON c.id = e.course_id AND c.deleted_at IS NULL
      LEFT JOIN lesson_progress lp ON lp.user_id = e.user_id AND lp.course_id = e.course_id
      WHERE e.user_id = $1 AND e.deleted_at IS NULL
      GROUP BY c.id, c.title, e.status, e.progress_percent, e.enrolled_at, e.last_activity_at
      ORDER BY e.enrolled_at DESC, c.id
      LIMIT 20`,
  /**
   * The same join, with the live enrollments and their courses materialised
   * first: courses is probed once per enrollment (≈ 10) rather than once per
   * progress row (≈ 50), where the planner otherwise puts that join, and the
   * learner's progress is one range scan of 0004's covering index
   * (lp.user_id = $1 is the enrollments' own condition).
   */
  fenced: `WITH live AS MATERIALIZED (
        SELECT e.course_id, c.title, e.status, e.progress_percent, e.enrolled_at, e.last_activity_at
          FROM enrollments e
          JOIN courses c ON c.id = e.course_id AND c.deleted_at IS NULL
         WHERE e.user_id = $1 AND e.deleted_at IS NULL)
      SELECT l.course_id AS id, l.title, l.status, l.progress_percent, l.enrolled_at, l.last_activity_at,
        count(lp.lesson_id) FILTER (WHERE lp.status = 'completed') AS lessons_completed, max(lp.completed_at) AS last_completed_at
      FROM live l
      LEFT JOIN lesson_progress lp ON lp.user_id = $1 AND lp.course_id = l.course_id
      GROUP BY l.course_id, l.title, l.status, l.progress_percent, l.enrolled_at, l.last_activity_at
      ORDER BY l.enrolled_at DESC, l.course_id
      LIMIT 20`,
} as const;

/** The progress write in both forms; same parameters ($1 user, $2 course, $3 lesson, $4 percent), same resulting row. */
export const PROGRESS_UPSERT = {
  // Without a unique key: the UPDATE, and the INSERT only when it matched nothing.
  updateThenInsert: `WITH updated AS (
        UPDATE lesson_progress
           SET progress_percent = greatest(progress_percent, $4::numeric),
               status = CASE WHEN $4::numeric >= 100 THEN 'completed' ELSE status END,
               completed_at = CASE WHEN $4::numeric >= 100 THEN coalesce(completed_at, now()) ELSE completed_at END,
               updated_at = now()
         WHERE user_id = $1 AND course_id = $2 AND lesson_id = $3
        RETURNING id)
      INSERT INTO lesson_progress (user_id, course_id, lesson_id, status, progress_percent)
      SELECT $1, $2, $3, CASE WHEN $4::numeric >= 100 THEN 'completed' ELSE 'started' END, $4::numeric
      WHERE NOT EXISTS (SELECT FROM updated)`,
  // On lesson_progress_user_lesson_key (0016). A lesson belongs to one course, so (user, lesson) finds the row the UPDATE above finds.
  onConflict: `INSERT INTO lesson_progress AS lp (user_id, course_id, lesson_id, status, progress_percent)
      VALUES ($1, $2, $3, CASE WHEN $4::numeric >= 100 THEN 'completed' ELSE 'started' END, $4::numeric)
      ON CONFLICT (user_id, lesson_id) DO UPDATE
         SET progress_percent = greatest(lp.progress_percent, excluded.progress_percent),
             status = CASE WHEN $4::numeric >= 100 THEN 'completed' ELSE lp.status END,
             completed_at = CASE WHEN $4::numeric >= 100 THEN coalesce(lp.completed_at, now()) ELSE lp.completed_at END,
             updated_at = now()`,
} as const;

/**
 * Instructor analytics ($1 instructor, $2 window in days): per day and event
 * type, events and distinct learners across the instructor's live courses
 * since now() − $2 days. `events` reads the raw events; `rollup` reads
 * migration 0017's per-(course, UTC day, type) rollup for the whole days
 * after the window's first one, plus the fold queue, plus the raw events of
 * that first, partial day, and unions the learner sets so distinct learners
 * stay exact. Days are UTC days: the two agree when the session's TimeZone is
 * UTC, as Cloud SQL's default is and the application's sessions are.
 */
export const INSTRUCTOR_ANALYTICS = {
  events: `SELECT date_trunc('day', ae.occurred_at) AS day, ae.event_type, count(*) AS events, count(DISTINCT ae.user_id) AS learners
        FROM analytics_events ae
        WHERE ae.course_id IN (SELECT id FROM courses WHERE instructor_id = $1 AND deleted_at IS NULL)
          AND ae.occurred_at >= now() - make_interval(days => $2)
        GROUP BY 1, 2
        ORDER BY 1, 2`,
  rollup: `WITH c AS MATERIALIZED (SELECT id FROM courses WHERE instructor_id = $1 AND deleted_at IS NULL),
             w AS MATERIALIZED (SELECT now() - make_interval(days => $2) AS since,
                                       ((now() - make_interval(days => $2)) AT TIME ZONE 'UTC')::date AS first_day),
             parts AS (
               SELECT r.day, r.event_type, r.events, r.learners
                 FROM analytics_course_daily r, w
                WHERE r.course_id IN (SELECT id FROM c) AND r.day > w.first_day
               UNION ALL
               SELECT p.day, p.event_type, count(*), coalesce(array_agg(DISTINCT p.user_id) FILTER (WHERE p.user_id IS NOT NULL), '{}')
                 FROM analytics_rollup_pending p, w
                WHERE p.course_id IN (SELECT id FROM c) AND p.day > w.first_day
                GROUP BY 1, 2
               UNION ALL
               SELECT (ae.occurred_at AT TIME ZONE 'UTC')::date, ae.event_type, count(*),
                      coalesce(array_agg(DISTINCT ae.user_id) FILTER (WHERE ae.user_id IS NOT NULL), '{}')
                 FROM analytics_events ae, w
                WHERE ae.course_id IN (SELECT id FROM c) AND ae.occurred_at >= w.since
                  AND ae.occurred_at < (w.first_day + 1)::timestamp AT TIME ZONE 'UTC'
                GROUP BY 1, 2)
        SELECT day::timestamp AT TIME ZONE 'UTC' AS day, event_type, sum(events)::bigint AS events,
               CASE WHEN count(*) = 1 THEN max(cardinality(learners))::bigint
                    ELSE (SELECT count(DISTINCT u) FROM unnest(learner_sets_cat(learners)) AS u) END AS learners
          FROM parts
         GROUP BY day, event_type
         ORDER BY 1, 2`,
} as const;

/**
 * Daily active learners of one course ($1) since now() − $2 days, from the raw
 * events or from 0017's rollup (whole UTC days after the first, the fold
 * queue, and the raw events of the first, partial day), with the learner sets
 * of a day's event types unioned. Same UTC caveat as INSTRUCTOR_ANALYTICS.
 */
export const DAILY_ACTIVE_LEARNERS = {
  events: `SELECT date_trunc('day', occurred_at) AS day, count(DISTINCT user_id) AS learners
      FROM analytics_events
      WHERE course_id = $1 AND occurred_at >= now() - make_interval(days => $2)
      GROUP BY 1
      ORDER BY 1`,
  rollup: `WITH w AS MATERIALIZED (SELECT now() - make_interval(days => $2) AS since,
                                       ((now() - make_interval(days => $2)) AT TIME ZONE 'UTC')::date AS first_day),
             parts AS (
               SELECT r.day, r.learners
                 FROM analytics_course_daily r, w
                WHERE r.course_id = $1 AND r.day > w.first_day
               UNION ALL
               SELECT p.day, coalesce(array_agg(DISTINCT p.user_id) FILTER (WHERE p.user_id IS NOT NULL), '{}')
                 FROM analytics_rollup_pending p, w
                WHERE p.course_id = $1 AND p.day > w.first_day
                GROUP BY 1
               UNION ALL
               SELECT (ae.occurred_at AT TIME ZONE 'UTC')::date, coalesce(array_agg(DISTINCT ae.user_id) FILTER (WHERE ae.user_id IS NOT NULL), '{}')
                 FROM analytics_events ae, w
                WHERE ae.course_id = $1 AND ae.occurred_at >= w.since
                  AND ae.occurred_at < (w.first_day + 1)::timestamp AT TIME ZONE 'UTC'
                GROUP BY 1)
        SELECT day::timestamp AT TIME ZONE 'UTC' AS day,
               (SELECT count(DISTINCT u) FROM unnest(learner_sets_cat(learners)) AS u) AS learners
          FROM parts
         GROUP BY day
         ORDER BY 1`,
} as const;

/** A named hot query: builds the operation for a phase. */
export interface HotQuery {
  readonly name: string;
  /** SQL text for this phase (from the schema facts: the rewritten form once its migration is applied). */
  sql(facts: SchemaFacts): string;
  /** Parameters for one call. */
  args(p: Params): unknown[];
}

export const HOT_QUERIES: readonly HotQuery[] = [
  {
    // A learner's dashboard: each enrolled course with lessons completed and last activity.
    name: "learner_dashboard",
    sql: (f) => (f.progressCoveringIndex ? LEARNER_DASHBOARD.fenced : LEARNER_DASHBOARD.joined),
    args: (p) => [pick(p.enrollments).userId],
  },
  {
    // A course page: the course, its instructor and its lessons in order.
    name: "course_page",
    sql: () => `SELECT c.id, c.title, c.description, u.display_name AS instructor, l.id AS lesson_id, l.title AS lesson_title, l.position, l.duration_seconds
      FROM courses c
      JOIN users u ON u.id = c.instructor_id
      JOIN lessons l ON l.course_id = c.id AND l.deleted_at IS NULL
      WHERE c.id = $1 AND c.deleted_at IS NULL
      ORDER BY l.position`,
    args: (p) => [pick(p.courseIds)],
  },
  {
    // Progress upsert. On the baseline, as the ORM issues it without a key to conflict on: update the
    // (learner, lesson) row, insert it if there was none. With migration 0016's unique key, one
    // INSERT ... ON CONFLICT that writes the same row values.
    name: "progress_upsert",
    sql: (f) => (f.progressUniqueKey ? PROGRESS_UPSERT.onConflict : PROGRESS_UPSERT.updateThenInsert),
    args: (p) => {
      const e = pick(p.enrollments);
      const lessons = p.lessonsByCourse.get(e.courseId) ?? [];
      return [e.userId, e.courseId, pick(lessons), Math.random() < 0.3 ? 100 : Math.floor(Math.random() * 100)];
    },
  },
  {
    name: "search_full_text",
    sql: (f) => (f.searchVectorColumn ? FULL_TEXT.rankedFirst(`cc.${f.searchVectorColumn}`) : FULL_TEXT.joined(FULL_TEXT.document)),
    // A topic and a common word, as a learner types them ("kubernetes projects"): about one document in ten matches.
    args: () => [`${pick(TOPICS)} ${pick(FILLER)}`],
  },
  {
    // Fuzzy title search: a fragment of a real title, as typed into the search box. ILIKE rather than
    // pg_trgm's similarity operator because the baseline has no pg_trgm; the optimised schema's
    // trigram GIN index (0004 courses_title_trgm_idx) serves ILIKE '%…%' as well.
    name: "search_fuzzy_title",
    sql: () => `SELECT id, title FROM courses
      WHERE deleted_at IS NULL AND title ILIKE '%' || $1 || '%'
      ORDER BY title
      LIMIT 20`,
    args: (p) => [titleFragment(pick(p.titles))],
  },
  ...Object.values(WINDOW_DAYS).map(
    (days): HotQuery => ({
      // Instructor analytics: events and distinct learners per day and type over the window, across the instructor's courses.
      name: analyticsQueryName(days),
      sql: (f) => (f.analyticsRollup ? INSTRUCTOR_ANALYTICS.rollup : INSTRUCTOR_ANALYTICS.events),
      args: (p) => [pick(p.instructorIds), days],
    }),
  ),
  {
    // Daily active learners of a course over the last 30 days (course dashboards).
    name: "daily_active_learners",
    sql: (f) => (f.analyticsRollup ? DAILY_ACTIVE_LEARNERS.rollup : DAILY_ACTIVE_LEARNERS.events),
    args: (p) => [pick(p.courseIds), WINDOW_DAYS.month],
  },
];

/** A 4–8 character slice of a title word, lower-cased (the search box is case-insensitive). */
function titleFragment(title: string): string {
  const words = title.split(/\s+/).filter((w) => w.length >= 4);
  const w = pick(words.length > 0 ? words : [title]).toLowerCase();
  const len = Math.min(w.length, 4 + Math.floor(Math.random() * 5));
  const start = Math.floor(Math.random() * (w.length - len + 1));
  return w.slice(start, start + len);
}

/**
 * The operation the runner times for one hot query in one phase. It runs as a
 * named prepared statement, as the application's driver and ORM run their
 * queries: parsed once per connection, planned per call until PostgreSQL's
 * plan cache settles. The name carries a hash of the text, so the full-text
 * query's two versions never collide on a connection; DDL between the phases
 * makes PostgreSQL re-analyse a prepared statement, so the optimised phase
 * plans against the new indexes and the partitioned tables.
 */
export function operation(q: HotQuery, facts: SchemaFacts, params: Params): Operation {
  const text = q.sql(facts);
  const name = `${q.name}_${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
  return (client) => client.query({ name, text, values: q.args(params) });
}
