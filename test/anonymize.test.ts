/**
 * lp_ops.anonymize_user erases one user's personal data everywhere it can be:
 * the users row, and the jsonb of audit_log and analytics_events (nested keys
 * and values, in every partition: the history partition 0007 made and the
 * monthly ones), keeps the non-personal facts, writes one audit row with no
 * personal data, and a repeat call changes nothing.
 */
import type { ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { createCloudSqlDatabase, migratorConfig } from "./harness/cloudsql";
import { dropDatabase, withClient } from "./harness/db";

const migrations = loadMigrations();
const JANE = { id: 1, email: "jane.doe@example.com", newEmail: "jane.d@example.org", name: "Jane Doe", display: "janed", phone: "+1 555 0100", ip: "203.0.113.7" };
const SAM = { id: 2, email: "sam.roe@example.com", ip: "198.51.100.2" };
/** Strings of Jane's that must appear nowhere afterwards (case-insensitive). */
const TRACES = [JANE.email, JANE.newEmail, JANE.name, JANE.phone, JANE.ip, "Mozilla/5.0 (Jane", "please delete"];

let db = "";
const q = async <T = Record<string, unknown>>(c: ClientBase, sql: string, values: unknown[] = []) => (await c.query(sql, values)).rows as T[];

/** Audit and analytics rows as they are written by the application: flat, nested, arrays, odd key spellings. */
async function seedEvents(c: ClientBase, when: string): Promise<void> {
  await c.query(
    `INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details, created_at) VALUES
       ($1, 'user.email_changed', 'user', $1, $3::jsonb, ${when}),
       ($1, 'user.login', 'user', $1, jsonb_build_object('ip_address', $4::text, 'client', jsonb_build_object('User-Agent', 'Mozilla/5.0 (Jane''s iPhone)', 'X-Forwarded-For', $4::text || ', 10.0.0.1'), 'mfa', true), ${when}),
       ($1, 'course.review_posted', 'course', 7, jsonb_build_object('ipAddress', $4::text, 'signature', 'by ' || $5::text, 'rating', 4), ${when}),
       ($2, 'user.login', 'user', $2, jsonb_build_object('ip', $6::text, 'email', $7::text), ${when})`,
    [
      JANE.id,
      SAM.id,
      JSON.stringify({ old_email: JANE.email, new_email: JANE.newEmail, ip: JANE.ip, request: { headers: { "x-forwarded-for": JANE.ip } }, changed: ["email"] }),
      JANE.ip,
      JANE.name,
      SAM.ip,
      SAM.email,
    ],
  );
  await c.query(
    `INSERT INTO analytics_events (user_id, course_id, lesson_id, event_type, properties, occurred_at) VALUES
       ($1, 7, NULL, 'checkout', $3::jsonb, ${when}),
       ($1, 7, NULL, 'video_play', '{"device": "ios", "position_s": 12}', ${when}),
       ($2, 7, NULL, 'checkout', jsonb_build_object('email', $4::text, 'device', 'web'), ${when})`,
    [
      JANE.id,
      SAM.id,
      JSON.stringify({
        email: JANE.email,
        name: JANE.name,
        device: "ios",
        session: 42,
        form: { fields: [{ id: "contact", value: JANE.email.toUpperCase() }, { id: "plan", value: "pro" }, { id: "phone", value: JANE.phone }] },
        referrer: { utm: { contact: { "E-Mail": JANE.email } } },
        billing: { Full_Name: JANE.name, country: "NL" },
      }),
      SAM.email,
    ],
  );
}

beforeAll(async () => {
  db = await createCloudSqlDatabase("anonymize");
  await withClient(migratorConfig(db), async (c) => {
    // Old rows before the partition conversion: they end up in the history partitions.
    await applyMigrations(c, migrations.filter((m) => m.name < "0007"));
    await c.query(
      `INSERT INTO users (id, email, full_name, display_name, phone, date_of_birth, country_code) VALUES
         ($1, $2, $3, $4, $5, '1990-04-01', 'NL'), ($6, $7, 'Sam Roe', 'sam', NULL, NULL, 'US')`,
      [JANE.id, JANE.email, JANE.name, JANE.display, JANE.phone, SAM.id, SAM.email],
    );
    await seedEvents(c, "now() - interval '2 years'");
    await applyMigrations(c, migrations);
    // Rows from the cutover on land in the monthly partitions.
    await seedEvents(c, "(SELECT max(cutover) FROM lp_ops.partition_conversion) + interval '3 days'");
  });
});
afterAll(async () => {
  if (db) await dropDatabase(db);
});

const janeRows = (c: ClientBase) =>
  q<{ t: string; id: string; tableoid: string; xmin: string; doc: unknown }>(
    c,
    `SELECT 'audit' AS t, id::text, tableoid::regclass::text AS tableoid, xmin::text, details AS doc FROM audit_log WHERE entity_id = $1 AND entity_type = 'user' OR actor_id = $1
     UNION ALL SELECT 'event', id::text, tableoid::regclass::text, xmin::text, properties FROM analytics_events WHERE user_id = $1 ORDER BY 1, 2`,
    [JANE.id],
  );
const samRows = (c: ClientBase) =>
  q(
    c,
    `SELECT * FROM (SELECT details AS doc, xmin::text FROM audit_log WHERE entity_id = $1 UNION ALL SELECT properties, xmin::text FROM analytics_events WHERE user_id = $1) r
      ORDER BY doc::text, xmin`,
    [SAM.id],
  );

describe("anonymize_user", () => {
  let before: Awaited<ReturnType<typeof janeRows>> = [];
  let samBefore: unknown[] = [];

  test("the seed spreads Jane's rows over the history and the monthly partitions", async () => {
    await withClient(migratorConfig(db), async (c) => {
      before = await janeRows(c);
      samBefore = await samRows(c);
      expect(new Set(before.filter((r) => r.t === "event").map((r) => r.tableoid)).size).toBeGreaterThanOrEqual(2);
      expect(new Set(before.filter((r) => r.t === "audit").map((r) => r.tableoid)).size).toBeGreaterThanOrEqual(2);
    });
  });

  test("erases every trace of the user from users, audit_log and analytics_events, and keeps the rest", async () => {
    await withClient(migratorConfig(db), async (c) => {
      await c.query("CALL lp_ops.anonymize_user($1, 9, $2)", [JANE.id, `Customer wrote: please delete my account, ${JANE.email}, ${JANE.phone}`]);
      const everything = await q<{ doc: string }>(
        c,
        `SELECT row_to_json(u)::text AS doc FROM users u UNION ALL SELECT row_to_json(a)::text FROM audit_log a UNION ALL SELECT row_to_json(e)::text FROM analytics_events e`,
      );
      for (const trace of TRACES) {
        expect(everything.filter((r) => r.doc.toLowerCase().includes(trace.toLowerCase())), trace).toEqual([]);
      }
      expect(everything.length).toBeGreaterThan(10);
      // Non-personal facts stay: what happened, on which device, the plan chosen, the rating.
      const checkout = await q<{ p: Record<string, unknown> }>(c, "SELECT properties AS p FROM analytics_events WHERE user_id = $1 AND event_type = 'checkout' LIMIT 1", [JANE.id]);
      expect(checkout[0].p).toMatchObject({ device: "ios", session: 42, billing: { country: "NL" } });
      expect((checkout[0].p.form as { fields: { id: string; value: unknown }[] }).fields).toContainEqual({ id: "plan", value: "pro" });
      const review = await q<{ d: Record<string, unknown> }>(c, "SELECT details AS d FROM audit_log WHERE action = 'course.review_posted' LIMIT 1");
      expect(review[0].d).toMatchObject({ rating: 4 });
      expect(await q(c, "SELECT count(*)::int AS n FROM audit_log WHERE action = 'user.login' AND entity_id = $1 AND details ? 'mfa'", [JANE.id])).toEqual([{ n: 2 }]);
      // Another user's rows are untouched.
      expect(await samRows(c)).toEqual(samBefore);
    });
  });

  test("the audit row records the erasure without personal data: no free-text reason, a reason code only", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const rows = await q<{ actor_id: string; details: Record<string, unknown> }>(c, "SELECT actor_id::text, details FROM audit_log WHERE action = 'user.anonymized' AND entity_id = $1", [JANE.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0].actor_id).toBe("9");
      expect(rows[0].details).not.toHaveProperty("reason");
      expect(rows[0].details.reason_code).toBe("other");
      expect(JSON.stringify(rows[0].details)).not.toMatch(/please|jane|555/i);
    });
  });

  test("a repeat call is a no-op: no second audit row, no row rewritten", async () => {
    await withClient(migratorConfig(db), async (c) => {
      const after = await janeRows(c);
      const users = await q(c, "SELECT xmin::text, * FROM users WHERE id = $1", [JANE.id]);
      await c.query("CALL lp_ops.anonymize_user($1, 9, 'erasure request')", [JANE.id]);
      expect(await janeRows(c)).toEqual(after);
      expect(await q(c, "SELECT xmin::text, * FROM users WHERE id = $1", [JANE.id])).toEqual(users);
      expect(await q(c, "SELECT count(*)::int AS n FROM audit_log WHERE action = 'user.anonymized' AND entity_id = $1", [JANE.id])).toEqual([{ n: 1 }]);
    });
  });

  test("a known reason is kept as its code", async () => {
    await withClient(migratorConfig(db), async (c) => {
      await c.query("CALL lp_ops.anonymize_user($1, NULL, 'erasure request')", [SAM.id]);
      expect(await q(c, "SELECT details->>'reason_code' AS r FROM audit_log WHERE action = 'user.anonymized' AND entity_id = $1", [SAM.id])).toEqual([{ r: "erasure_request" }]);
    });
  });
});
