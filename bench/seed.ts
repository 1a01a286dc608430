/**
 * Seeds the baseline schema (migrations/0001_baseline_schema.sql) with a
 * learning-platform dataset, entirely inside the server with set-based
 * `INSERT … SELECT generate_series(…)`: 16 M rows at default scale take a
 * couple of minutes on 2 cores, where row-by-row inserts from Node would take
 * an hour.
 *
 * Shape (scale 1): 100 k users (the first 1,000 also instructors), 2 k
 * courses of 10–30 lessons, one searchable content document per course, 10
 * enrollments per learner (1 M, popular courses enrolled more often), 5 M
 * lesson-progress rows (each enrollment has worked through its first 1–9
 * lessons), 10 M analytics events over the last 13 months with activity
 * doubling across the period, and smaller quiz-attempt and audit tables.
 * Natural keys the optimised schema may make unique ((user, course) for
 * enrollments, (user, lesson) for progress) are unique, and events are
 * inserted month by month so their physical order follows time, as in a live
 * append-only table. The data is deterministic for a given scale
 * (`setseed`, plus arithmetic hashes), so runs compare.
 */
import type { ClientBase } from "pg";

/** Row counts at scale 1. */
export const BASE_COUNTS = {
  users: 100_000,
  courses: 2_000,
  enrollments: 1_000_000,
  lessonProgress: 5_000_000,
  analyticsEvents: 10_000_000,
  quizAttempts: 200_000,
  auditLog: 100_000,
} as const;

/** Months of analytics history (events spread over 13 months; also the stacks' analytics retention). */
export const HISTORY_MONTHS = 13;
/** Days in that history: 13 months of average length (30.44 days). */
const HISTORY_DAYS = Math.round(HISTORY_MONTHS * 30.44);
/** Lessons per course: 10 + (c·7 mod 21), i.e. 10–30, 20 on average, so 2 k courses have 40 k lessons. */
const MIN_LESSONS = 10;
const LESSON_SPREAD = 21;
/** Each enrollment has progress on its first 1..9 lessons (5 on average: 5 M rows for 1 M enrollments). */
const MAX_PROGRESS_LESSONS = 9;
/** Words per course's searchable content document. */
const CONTENT_WORDS = 200;
/** One instructor per two courses. */
const COURSES_PER_INSTRUCTOR = 2;

/** Row counts for a scale factor; small scales keep enough rows for the queries to make sense. */
export function countsFor(scale: number): Record<keyof typeof BASE_COUNTS, number> {
  const n = (base: number, min: number) => Math.max(min, Math.round(base * scale));
  const users = n(BASE_COUNTS.users, 200);
  const courses = n(BASE_COUNTS.courses, 20);
  // Ten enrollments per learner at every scale; a learner never enrolls in one course twice.
  const perUser = Math.min(Math.round(BASE_COUNTS.enrollments / BASE_COUNTS.users), courses);
  const enrollments = users * perUser;
  // Enrollment i has progress on lessons 1..(i mod 9)+1: exactly E + 36·⌊E/9⌋ + r(r+1)/2 rows, r = E mod 9 (5 per enrollment on average).
  const r = enrollments % MAX_PROGRESS_LESSONS;
  const fullCycle = (MAX_PROGRESS_LESSONS * (MAX_PROGRESS_LESSONS - 1)) / 2;
  return {
    users,
    courses,
    enrollments,
    lessonProgress: enrollments + fullCycle * Math.floor(enrollments / MAX_PROGRESS_LESSONS) + (r * (r + 1)) / 2,
    analyticsEvents: n(BASE_COUNTS.analyticsEvents, 20_000),
    quizAttempts: n(BASE_COUNTS.quizAttempts, 1_000),
    auditLog: n(BASE_COUNTS.auditLog, 1_000),
  };
}

/** Topic words: course titles and searchable content are built from them, and the search workload queries them. */
export const TOPICS = [
  "python", "javascript", "typescript", "kubernetes", "docker", "statistics", "calculus", "algebra", "photography", "marketing",
  "accounting", "negotiation", "leadership", "design", "illustration", "guitar", "piano", "spanish", "french", "japanese",
  "chemistry", "physics", "biology", "astronomy", "economics", "psychology", "philosophy", "writing", "poetry", "history",
  "databases", "networking", "security", "cloud", "android", "swift", "rust", "golang", "excel", "nutrition",
] as const;
const ADJECTIVES = [
  "Practical", "Complete", "Modern", "Applied", "Essential", "Advanced", "Hands-on", "Intensive", "Creative", "Professional",
  "Fundamental", "Accelerated", "Comprehensive", "Effective", "Quick", "Deep", "Everyday", "Strategic", "Visual", "Intuitive",
];
const SUFFIXES = ["for Beginners", "Masterclass", "Bootcamp", "in Practice", "from Scratch", "Deep Dive", "Crash Course", "Workshop", "Essentials", "Projects"];
/** Common words of the searchable content. */
export const FILLER = [
  "learn", "build", "project", "exercise", "concept", "example", "practice", "theory", "lesson", "module", "skill", "guide",
  "technique", "analysis", "method", "review", "tools", "workflow", "quiz", "assignment", "career", "introduction", "chapter",
  "principles", "patterns", "problem", "solution", "real", "world", "step", "understand", "apply", "master", "explore",
];
const EVENT_TYPES = [
  // [type, weight]: a viewing-heavy mix, as on most learning platforms.
  ["lesson_view", 45], ["video_play", 20], ["video_complete", 10], ["lesson_complete", 10], ["course_view", 8], ["quiz_submit", 5], ["certificate_view", 2],
] as const;

/** SQL text array literal, parenthesised so it can be subscripted. */
function arr(values: readonly string[]): string {
  return `(ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(",")}]::text[])`;
}

/** Integer hash of an SQL bigint expression to [0, 1) (Knuth multiplicative hash). */
function hash01(expr: string): string {
  return `((((${expr}) * 2654435761) % 4294967296)::float8 / 4294967296)`;
}

/** SQL for a weighted event type from a uniform [0,1) expression. */
function eventTypeCase(u: string): string {
  const total = EVENT_TYPES.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  const arms = EVENT_TYPES.slice(0, -1).map(([t, w]) => {
    acc += w;
    return `WHEN ${u} < ${(acc / total).toFixed(4)} THEN '${t}'`;
  });
  return `CASE ${arms.join(" ")} ELSE '${EVENT_TYPES[EVENT_TYPES.length - 1][0]}' END`;
}

/** A seed step: a label, its rows, and the statements that insert them. */
interface Step {
  readonly label: string;
  readonly rows: number;
  readonly sql: readonly string[];
}

/** The seed: steps run in order, then two lanes that run side by side on two sessions (both only need the steps before). */
export interface SeedPlan {
  readonly serial: readonly Step[];
  readonly lanes: readonly [readonly Step[], readonly Step[]];
}

/** Row counts of one seed. */
type Counts = ReturnType<typeof countsFor>;

/** SQL for the lesson count of a course id expression (see MIN_LESSONS). */
function lessonsOf(course: string): string {
  return `(${MIN_LESSONS} + ((${course}) * 7) % ${LESSON_SPREAD})`;
}

/** SQL for a learner's first course: skewed towards low ids (popular courses) by squaring a uniform hash. */
function baseCourse(c: Counts, u: string): string {
  return `floor(${c.courses} * power(${hash01(u)}, 2))::bigint`;
}

/** Instructors: the first users, one per two courses. */
function instructorsFor(c: Counts): number {
  return Math.max(1, Math.ceil(c.courses / COURSES_PER_INSTRUCTOR));
}

/** Users, the first {@link instructorsFor} of them instructors. */
function usersStep(c: Counts): Step {
  return {
    label: "users",
    rows: c.users,
    sql: [
      `INSERT INTO users (email, full_name, display_name, phone, date_of_birth, country_code, locale, role, created_at, updated_at, last_login_at)
       SELECT 'learner' || i || '@example.org', 'Learner ' || i, 'learner' || i, '+1555' || lpad((i % 10000000)::text, 7, '0'),
              date '1970-01-01' + (i * 37 % 14000), (ARRAY['US','GB','DE','IN','BR','FR','JP','NG','CA','ES'])[1 + i % 10],
              (ARRAY['en','en','en','de','pt','fr','ja','es'])[1 + i % 8], CASE WHEN i <= ${instructorsFor(c)} THEN 'instructor' ELSE 'learner' END,
              now() - (${HISTORY_DAYS * 2} * ${hash01("i")}) * interval '1 day', now() - random() * interval '30 days', now() - random() * interval '30 days'
       FROM generate_series(1, ${c.users}) AS i`,
    ],
  };
}

/** Courses, their lessons and one searchable content document each. */
function coursesStep(c: Counts): Step {
  const instructors = instructorsFor(c);
  return {
    label: "courses, lessons and content",
    rows: c.courses,
    sql: [
      `INSERT INTO courses (instructor_id, title, slug, description, status, published_at, created_at, updated_at)
       SELECT 1 + (i - 1) % ${instructors},
              t.adj[1 + (i / ${TOPICS.length}) % ${ADJECTIVES.length}] || ' ' || initcap(t.topic[1 + i % ${TOPICS.length}]) || ' ' || t.suf[1 + (i / ${TOPICS.length * ADJECTIVES.length}) % ${SUFFIXES.length}],
              'course-' || i,
              'A course about ' || t.topic[1 + i % ${TOPICS.length}] || '.',
              CASE WHEN i % 20 = 0 THEN 'draft' ELSE 'published' END,
              now() - interval '${HISTORY_DAYS + 30} days' + (i::float8 / ${c.courses}) * interval '${HISTORY_DAYS} days',
              now() - interval '${HISTORY_DAYS + 60} days', now() - random() * interval '60 days'
       FROM generate_series(1, ${c.courses}) AS i,
            (SELECT ${arr(ADJECTIVES)} AS adj, ${arr(TOPICS)} AS topic, ${arr(SUFFIXES)} AS suf) AS t`,
      // One soft-deleted course in fifty: the live-row partial indexes have something to leave out.
      `UPDATE courses SET deleted_at = now() - interval '10 days' WHERE id % 50 = 49`,
      `INSERT INTO lessons (course_id, title, position, duration_seconds, created_at, updated_at)
       SELECT co.id, 'Lesson ' || p || ': ' || initcap(${arr(FILLER)}[1 + (co.id + p) % ${FILLER.length}]), p, 120 + (co.id * p * 13) % 1680, co.created_at, co.updated_at
       FROM courses co, generate_series(1, ${lessonsOf("co.id")}) AS p
       ORDER BY co.id, p`,
      `INSERT INTO course_content (course_id, lesson_id, title, body, content_type, created_at, updated_at, deleted_at)
       SELECT co.id, NULL, co.title,
              co.description || ' ' || array_to_string(ARRAY(
                SELECT CASE WHEN random() < 0.25 THEN t.topic[1 + (co.id + (random() * 3)::int) % ${TOPICS.length}]
                            ELSE t.filler[1 + floor(random() * ${FILLER.length})::int] END
                FROM generate_series(1, ${CONTENT_WORDS}) AS w WHERE w > 0 * co.id), ' '),
              'overview', co.created_at, co.updated_at, co.deleted_at
       FROM courses co, (SELECT ${arr(TOPICS)} AS topic, ${arr(FILLER)} AS filler) AS t`,
    ],
  };
}

/** Ten enrollments per learner, never two in one course, popular courses more often. */
function enrollmentsStep(c: Counts): Step {
  return {
    label: "enrollments",
    rows: c.enrollments,
    sql: [
      `INSERT INTO enrollments (user_id, course_id, status, progress_percent, enrolled_at, completed_at, last_activity_at)
       SELECT u, co, CASE WHEN done >= n THEN 'completed' ELSE 'active' END, round(100.0 * least(done, n) / n, 2),
              now() - (${HISTORY_DAYS} * ${hash01("i + 17")}) * interval '1 day',
              CASE WHEN done >= n THEN now() - random() * interval '30 days' END,
              now() - random() * interval '60 days'
       FROM (SELECT i, u, co, ${lessonsOf("co")} AS n, (i % ${MAX_PROGRESS_LESSONS}) AS done
             FROM (SELECT i, 1 + (i - 1) % ${c.users} AS u, (i - 1) / ${c.users} AS k FROM generate_series(1, ${c.enrollments}) AS i) s,
                  LATERAL (SELECT 1 + (${baseCourse(c, "s.u")} + s.k) % ${c.courses} AS co) l) e
       ORDER BY i`,
    ],
  };
}

/** Lesson progress, in slices of enrollments so the display moves and no single statement holds a 5 M-row snapshot. */
function progressStep(c: Counts): Step {
  const slices = Math.max(1, Math.min(10, Math.ceil(c.enrollments / 100_000)));
  const per = Math.ceil(c.enrollments / slices);
  return {
    label: "lesson progress",
    rows: c.lessonProgress,
    sql: Array.from({ length: slices }, (_, s) => {
      const lo = s * per + 1;
      const hi = Math.min((s + 1) * per, c.enrollments);
      // Progress on lessons 1..(id mod 9)+1: all but the last completed.
      return `INSERT INTO lesson_progress (user_id, course_id, lesson_id, status, progress_percent, started_at, completed_at, updated_at)
        SELECT e.user_id, e.course_id, l.id,
               CASE WHEN l.position <= e.id % ${MAX_PROGRESS_LESSONS} THEN 'completed' ELSE 'started' END,
               CASE WHEN l.position <= e.id % ${MAX_PROGRESS_LESSONS} THEN 100 ELSE (e.id * 7 % 100) END,
               e.enrolled_at + l.position * interval '1 day',
               CASE WHEN l.position <= e.id % ${MAX_PROGRESS_LESSONS} THEN e.enrolled_at + l.position * interval '1 day' + interval '1 hour' END,
               least(now(), e.enrolled_at + l.position * interval '1 day' + interval '1 hour')
        FROM enrollments e JOIN lessons l ON l.course_id = e.course_id AND l.position <= e.id % ${MAX_PROGRESS_LESSONS} + 1
        WHERE e.id BETWEEN ${lo} AND ${hi}`;
    }),
  };
}

/**
 * Analytics events month by month (oldest first), each month's share growing
 * linearly from 1× to 2×, so physical order follows time. Each event belongs
 * to an enrollment (learner, course, lesson).
 */
function eventsStep(c: Counts): Step {
  const months = HISTORY_MONTHS;
  const weights = Array.from({ length: months }, (_, m) => 1 + m / (months - 1));
  const wsum = weights.reduce((a, b) => a + b, 0);
  let assigned = 0;
  const eventSql: string[] = [];
  const slot = HISTORY_DAYS / months;
  for (let m = 0; m < months; m++) {
    const n = m === months - 1 ? c.analyticsEvents - assigned : Math.round((c.analyticsEvents * weights[m]) / wsum);
    const lo = assigned + 1;
    assigned += n;
    const from = HISTORY_DAYS - m * slot;
    eventSql.push(`INSERT INTO analytics_events (user_id, course_id, lesson_id, event_type, properties, occurred_at)
      SELECT x.u, x.co, l.id, ${eventTypeCase("x.r")},
             jsonb_build_object('device', (ARRAY['web','ios','android'])[1 + x.g % 3], 'session', x.g % 100000),
             now() - interval '${from.toFixed(4)} days' + random() * interval '${slot.toFixed(4)} days'
      FROM (SELECT g, r, 1 + (i - 1) % ${c.users} AS u, 1 + (${baseCourse(c, `(1 + (i - 1) % ${c.users})`)} + (i - 1) / ${c.users}) % ${c.courses} AS co
            FROM (SELECT g, random() AS r, 1 + (g * 48271) % ${c.enrollments} AS i FROM generate_series(${lo}::bigint, ${lo + n - 1}::bigint) AS g) s0) x
      JOIN lessons l ON l.course_id = x.co AND l.position = 1 + x.g % ${MAX_PROGRESS_LESSONS}`);
  }
  return { label: "analytics events", rows: c.analyticsEvents, sql: eventSql };
}

/** Quiz attempts (on a spread of progress rows) and the audit log. */
function quizAndAuditStep(c: Counts): Step {
  return {
    label: "quiz attempts and audit log",
    rows: c.quizAttempts + c.auditLog,
    sql: [
      `INSERT INTO quiz_attempts (user_id, lesson_id, score, max_score, passed, started_at, submitted_at)
       SELECT lp.user_id, lp.lesson_id, s, 100, s >= 60, lp.started_at, lp.started_at + interval '20 minutes'
       FROM (SELECT user_id, lesson_id, started_at, (id * 37 % 101)::numeric AS s FROM lesson_progress
             WHERE (id - 1) % ${Math.max(1, Math.floor(c.lessonProgress / c.quizAttempts))} = 0 ORDER BY id LIMIT ${c.quizAttempts}) lp`,
      `INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details, created_at)
       SELECT 1 + i % ${c.users}, (ARRAY['login','update_profile','enroll','publish_course','export'])[1 + i % 5], 'user', 1 + i % ${c.users},
              jsonb_build_object('ip', '10.0.' || (i % 250) || '.' || (i % 200)), now() - interval '${HISTORY_DAYS} days' + (i::float8 / ${c.auditLog}) * interval '${HISTORY_DAYS} days'
       FROM generate_series(1, ${c.auditLog}) AS i`,
    ],
  };
}

/**
 * The seed plan for a scale factor: users, courses and enrollments in order,
 * then progress (with the quiz attempts and audit log that read it) beside
 * the analytics events.
 */
export function seedSteps(scale: number): SeedPlan {
  const c = countsFor(scale);
  return {
    serial: [usersStep(c), coursesStep(c), enrollmentsStep(c)],
    lanes: [[progressStep(c), quizAndAuditStep(c)], [eventsStep(c)]],
  };
}

/**
 * Runs the seed (the baseline schema must exist and be empty) on two sessions
 * of a superuser, then checks every foreign key and runs VACUUM ANALYZE.
 *
 * Foreign-key triggers are skipped while loading (`session_replication_role =
 * replica`, which is why a superuser session is needed): checked row by row
 * they would triple the load time, and the data satisfies them by
 * construction. That is not taken on trust: afterwards every foreign key of
 * the schema is checked set-based (one anti-join each), and the seed fails if
 * any row has no parent. VACUUM ANALYZE then settles the tables (hint bits,
 * visibility map, statistics) as in a database that has been live for months,
 * so neither schema is measured on freshly loaded pages. A CHECKPOINT last
 * does what months of checkpoints would have: the seed's WAL segments are
 * recycled for reuse. Without it every later WAL segment is a new file,
 * zero-filled and fsynced as it is first written (wait events
 * IO:WalInitWrite and IO:WalInitSync), which a live server rarely does, and
 * the writers' commits during the migrations wait for that (bench/lock-waits.ts
 * measured 306 + 237 ms of one 450 ms stall).
 */
export async function seed(sessions: readonly [ClientBase, ClientBase], scale: number, onProgress: (detail: string, fraction: number) => void): Promise<void> {
  const plan = seedSteps(scale);
  const all = [...plan.serial, ...plan.lanes[0], ...plan.lanes[1]];
  const total = all.reduce((s, st) => s + st.rows, 0);
  let done = 0;
  const status = new Map<number, string>();
  const report = () => onProgress([...status.values()].join(" | "), Math.min(done / total, 1));
  for (const [i, c] of sessions.entries()) {
    await c.query("SET session_replication_role = replica");
    // Same data on every run: random() is seeded per session.
    await c.query("SELECT setseed($1)", [0.42 - i / 10]);
  }
  const runSteps = async (c: ClientBase, lane: number, steps: readonly Step[], analyze: boolean) => {
    for (const step of steps) {
      for (let i = 0; i < step.sql.length; i++) {
        status.set(lane, `${step.label} ${i + 1}/${step.sql.length}`);
        report();
        await c.query(step.sql[i]);
        done += step.rows / step.sql.length;
      }
      // Statistics for the later steps' joins (on an unanalyzed table the planner picks nested loops).
      if (analyze) await c.query(`ANALYZE ${SEED_TABLES.join(", ")}`);
    }
    status.delete(lane);
  };
  await runSteps(sessions[0], 0, plan.serial, true);
  await Promise.all([runSteps(sessions[0], 0, plan.lanes[0], false), runSteps(sessions[1], 1, plan.lanes[1], false)]);
  for (const c of sessions) await c.query("RESET session_replication_role");

  onProgress("checking foreign keys", 1);
  const fks = await sessions[0].query<{ child: string; col: string; parent: string; pcol: string; name: string }>(
    `SELECT c.conname AS name, c.conrelid::regclass::text AS child, a.attname AS col, c.confrelid::regclass::text AS parent, pa.attname AS pcol
       FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
      WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND cardinality(c.conkey) = 1
      ORDER BY 1`,
  );
  const orphans = await Promise.all(
    [0, 1].map(async (lane) => {
      const bad: string[] = [];
      for (const fk of fks.rows.filter((_, i) => i % 2 === lane)) {
        const r = await sessions[lane].query<{ n: string }>(
          `SELECT count(*) AS n FROM ${fk.child} x WHERE x.${fk.col} IS NOT NULL AND NOT EXISTS (SELECT FROM ${fk.parent} p WHERE p.${fk.pcol} = x.${fk.col})`,
        );
        if (Number(r.rows[0].n) > 0) bad.push(`${fk.name}: ${r.rows[0].n} rows of ${fk.child}.${fk.col} have no ${fk.parent}`);
      }
      return bad;
    }),
  );
  const bad = orphans.flat();
  if (bad.length > 0) throw new Error(`seed produced rows that break foreign keys (a bug in bench/seed.ts):\n  ${bad.join("\n  ")}`);

  onProgress("VACUUM ANALYZE", 1);
  await Promise.all([
    sessions[0].query(`VACUUM (ANALYZE) ${SEED_TABLES.filter((t) => t !== "analytics_events").join(", ")}`),
    sessions[1].query("VACUUM (ANALYZE) analytics_events"),
  ]);
  onProgress("CHECKPOINT", 1);
  await sessions[0].query("CHECKPOINT");
}

/** The baseline tables the seed fills. */
const SEED_TABLES = ["users", "courses", "lessons", "course_content", "enrollments", "lesson_progress", "quiz_attempts", "analytics_events", "audit_log"] as const;
