/**
 * The benchmark's own machinery (bench/), not its speed: the seed's shape and
 * integrity at a tiny scale, the runner's handling of cancelled calls, the
 * rows-lost check, the stable JSON schema, the targets and the chart. Speed
 * targets live in `npm run bench`, never here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { renderP95Chart } from "../bench/chart";
import { checkTargets, markdown, median, summariseRepeats, writeResults, type BenchResults, type LatencySummary } from "../bench/report";
import { optimizedOnlyResults, type MeasuredCell } from "../bench/measure";
import type { Options } from "../bench/options";
import { runCell } from "../bench/runner";
import { migrationWindows, stallsByMigration, type WriteGap } from "../bench/stalls";
import { countsFor, seed } from "../bench/seed";
import { HOT_QUERIES, loadParams, operation, readSchemaFacts, type HotQuery } from "../bench/workload";
import { WRITER_EVENT_TYPE, Writers } from "../bench/writer";
import { serverConfig, useFreshDatabase } from "./harness/db";

/** Smallest scale: every count falls back to its minimum, the whole seed takes about a second. */
const SCALE = 0.001;

describe("seed, workload and writers on the baseline schema", () => {
  const db = useFreshDatabase();
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    a = new Client(serverConfig(db()));
    b = new Client(serverConfig(db()));
    await a.connect();
    await b.connect();
    await applyMigrations(a, loadMigrations().filter((m) => m.name === "0001_baseline_schema.sql"));
    await seed([a, b], SCALE, () => undefined);
  });
  afterAll(async () => {
    await a?.end();
    await b?.end();
  });

  test.each([
    ["users", "users"],
    ["courses", "courses"],
    ["enrollments", "enrollments"],
    ["lesson_progress", "lessonProgress"],
    ["analytics_events", "analyticsEvents"],
    ["quiz_attempts", "quizAttempts"],
    ["audit_log", "auditLog"],
  ] as const)("%s has the row count countsFor() promises", async (table, key) => {
    const r = await a.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    expect(Number(r.rows[0].n)).toBe(countsFor(SCALE)[key]);
  });

  test("natural keys the optimised schema may make unique are unique", async () => {
    const dup = await a.query<{ e: string; p: string }>(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM enrollments GROUP BY user_id, course_id HAVING count(*) > 1) x) AS e,
              (SELECT count(*) FROM (SELECT 1 FROM lesson_progress GROUP BY user_id, lesson_id HAVING count(*) > 1) y) AS p`,
    );
    expect(dup.rows[0]).toEqual({ e: "0", p: "0" });
  });

  test("events span 13 months up to now and belong to the learner's enrolled course", async () => {
    const r = await a.query<{ days: number; future: string; strays: string }>(
      `SELECT extract(day FROM now() - min(occurred_at))::int AS days,
              count(*) FILTER (WHERE occurred_at > now()) AS future,
              count(*) FILTER (WHERE NOT EXISTS (SELECT FROM enrollments e WHERE e.user_id = ae.user_id AND e.course_id = ae.course_id)) AS strays
         FROM analytics_events ae`,
    );
    expect(r.rows[0].days).toBeGreaterThanOrEqual(390);
    expect(r.rows[0].days).toBeLessThanOrEqual(396);
    expect(r.rows[0]).toMatchObject({ future: "0", strays: "0" });
  });

  test("every hot query runs on the baseline schema and returns rows for a sampled parameter", async () => {
    const params = await loadParams(a);
    const facts = await readSchemaFacts(a);
    expect(facts.searchVectorColumn).toBeUndefined();
    for (const q of HOT_QUERIES.filter((x) => x.name !== "progress_upsert")) {
      const r = await a.query(q.sql(facts), q.args(params));
      expect(r.rowCount, q.name).toBeGreaterThanOrEqual(0);
    }
    const dash = HOT_QUERIES.find((q) => q.name === "learner_dashboard")!;
    const r = await a.query(dash.sql(facts), dash.args(params));
    expect(r.rowCount).toBeGreaterThan(0);
  });

  test("the upsert updates an existing (learner, lesson) row and inserts a missing one", async () => {
    const upsert = HOT_QUERIES.find((q) => q.name === "progress_upsert")!;
    const row = (await a.query<{ user_id: string; course_id: string; lesson_id: string }>("SELECT user_id, course_id, lesson_id FROM lesson_progress ORDER BY id LIMIT 1")).rows[0];
    const count = async () => Number((await a.query<{ n: string }>("SELECT count(*) AS n FROM lesson_progress")).rows[0].n);
    const before = await count();
    await a.query(upsert.sql({}), [row.user_id, row.course_id, row.lesson_id, 100]);
    expect(await count()).toBe(before);
    const lesson = (await a.query<{ id: string }>("SELECT max(id) AS id FROM lessons WHERE course_id = $1", [row.course_id])).rows[0].id;
    await a.query("DELETE FROM lesson_progress WHERE user_id = $1 AND lesson_id = $2", [row.user_id, lesson]);
    const missing = await count();
    await a.query(upsert.sql({}), [row.user_id, row.course_id, lesson, 40]);
    expect(await count()).toBe(missing + 1);
  });

  test("the runner gives every client a sample and records statement_timeout cancellations as lower bounds", async () => {
    const clients = [new Client({ ...serverConfig(db()), statement_timeout: 50 }), new Client({ ...serverConfig(db()), statement_timeout: 50 })];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const r = await runCell(clients, 2, (c) => c.query("SELECT pg_sleep(0.2)"), { durationMs: 10 });
      expect(r.operations).toBe(0);
      expect(r.timeouts).toBe(2);
      expect(r.p50).toBeGreaterThanOrEqual(50);
      await expect(runCell(clients, 1, (c) => c.query("SELECT 1/0"), { durationMs: 10 })).rejects.toThrow(/division by zero/);
      await expect(runCell(clients, 3, (c) => c.query("SELECT 1"), { durationMs: 10 })).rejects.toThrow(/3 clients requested but only 2/);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test("prepared hot-query operations run repeatedly on one connection", async () => {
    const params = await loadParams(a);
    const op = operation(HOT_QUERIES.find((q) => q.name === "course_page")!, {}, params);
    const r = await runCell([a], 1, op, { durationMs: 50 });
    expect(r.operations).toBeGreaterThan(1);
    expect(r.timeouts).toBe(0);
  });

  test("the writers commit, and the rows-lost check finds a deleted event and an overwritten progress row", async () => {
    const sample = (await a.query<{ user_id: string; course_id: string; lesson_id: string }>("SELECT user_id, course_id, lesson_id FROM lesson_progress LIMIT 1")).rows[0];
    const w = new Writers(a, b, { userId: sample.user_id, courseId: sample.course_id, lessonId: sample.lesson_id });
    await w.start();
    await new Promise((r) => setTimeout(r, 300));
    const report = await w.stop();
    expect(report.eventsCommitted).toBeGreaterThan(0);
    expect(report.progressUpdatesCommitted).toBeGreaterThan(0);
    expect(report.errors).toBe(0);
    expect(report.maxWriteStallMs).toBeGreaterThan(0);
    // Every commit closes one gap, and the stop closes the last one of each writer.
    expect(report.gaps.length).toBe(report.eventsCommitted + report.progressUpdatesCommitted + 2);
    expect(report.gaps.every((g) => g.end >= g.start)).toBe(true);
    expect(Math.max(...report.gaps.map((g) => g.end - g.start))).toBeCloseTo(report.maxWriteStallMs, 6);
    expect(await w.verify(a)).toEqual({ rowsLost: 0, eventsPresent: report.eventsCommitted });

    await a.query(`DELETE FROM analytics_events WHERE id = (SELECT max(id) FROM analytics_events WHERE event_type = '${WRITER_EVENT_TYPE}')`);
    expect((await w.verify(a)).rowsLost).toBe(1);
    // The second row is the first one the progress writer updates (sequence 1).
    await a.query("UPDATE lesson_progress SET progress_percent = 100.5 WHERE id = (SELECT id FROM lesson_progress ORDER BY id OFFSET 1 LIMIT 1)");
    expect((await w.verify(a)).rowsLost).toBe(2);
  });
});

describe("results", () => {
  const s = (p95: number): LatencySummary => ({ p50: p95 / 2, p95, p99: p95 * 1.5, tps: 100 });
  const results = (over: Partial<BenchResults> = {}): BenchResults => ({
    scale: 1,
    pgVersion: "18.4",
    queries: [
      { name: "course_page", concurrency: 16, baseline: s(20), optimized: s(2) },
      { name: "instructor_analytics_7d", concurrency: 16, baseline: s(900), optimized: s(9) },
      { name: "instructor_analytics_30d", concurrency: 1, baseline: s(90), optimized: s(10) },
    ],
    migrationUnderLoad: { maxWriteStallMs: 120.456, rowsLost: 0, durationS: 61.234 },
    noopApplyMs: 101.2345,
    ...over,
  });

  test("latest.json has exactly the issue's stable schema", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-bench-")), "latest.json");
    writeResults(file, { ...results(), extra: "dropped" } as BenchResults);
    const json = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["scale", "pgVersion", "queries", "migrationUnderLoad", "noopApplyMs"]);
    const q = (json.queries as Record<string, unknown>[])[0];
    expect(Object.keys(q)).toEqual(["name", "concurrency", "baseline", "optimized"]);
    expect(Object.keys(q.baseline as object)).toEqual(["p50", "p95", "p99", "tps"]);
    expect(Object.keys(q.optimized as object)).toEqual(["p50", "p95", "p99", "tps"]);
    expect(json.migrationUnderLoad).toEqual({ maxWriteStallMs: 120.46, rowsLost: 0, durationS: 61.23 });
    expect(json.noopApplyMs).toBe(101.23);
  });

  test("latest.json adds the stall and lock wait per migration file and the host's writeback after the original fields, rounded, and the markdown lists them", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-bench-")), "latest.json");
    const stalls = [
      { migration: "0002_roles_and_grants.sql", maxWriteStallMs: 12.345, writer: "events" as const, maxLockWaitMs: 3.214, maxWriteStallMachineRunningMs: 12.345 },
      { migration: "0007_partition_conversion.sql", maxWriteStallMs: 445.6, writer: "events" as const, maxLockWaitMs: 0, maxWriteStallMachineRunningMs: 170.04 },
      { migration: "0009_personal_data.sql", maxWriteStallMs: 0, writer: null, maxLockWaitMs: 0, maxWriteStallMachineRunningMs: 0 },
    ];
    const longestLockWait = { ms: 3.21, writer: "events" as const, lock: "relation", blockedBy: "4242 lp-migrate: LOCK TABLE x", migration: "0002_roles_and_grants.sql" };
    const hostWriteback = { dirtyBackgroundBytes: 67108864, dirtyBackgroundRatio: 10, dirtyExpireCentisecs: 3000, memAvailableBytes: 2 ** 34, thresholdBytes: 67108864 };
    const longestStall = "longest stall: events writer, +66.7s to +67.1s, during 0007_x.sql; waiting on LWLock:WALWrite 364 ms; meanwhile no other backend seen in I/O; page cache not sampled";
    const r = results({
      migrationUnderLoad: {
        maxWriteStallMs: 445.6,
        rowsLost: 0,
        durationS: 61.234,
        stallsByMigration: stalls,
        longestLockWait,
        longestStall,
        hostWriteback,
        machinePausedMs: 1021.37,
        maxWriteStallMachineRunningMs: 170.04,
      },
    });
    writeResults(file, r);
    const json = JSON.parse(fs.readFileSync(file, "utf8")) as { migrationUnderLoad: Record<string, unknown> };
    expect(Object.keys(json.migrationUnderLoad)).toEqual([
      "maxWriteStallMs",
      "rowsLost",
      "durationS",
      "stallsByMigration",
      "longestLockWait",
      "longestStall",
      "hostWriteback",
      "machinePausedMs",
      "maxWriteStallMachineRunningMs",
    ]);
    expect(json.migrationUnderLoad.machinePausedMs).toBe(1021.37);
    expect(json.migrationUnderLoad.maxWriteStallMachineRunningMs).toBe(170.04);
    expect(json.migrationUnderLoad.longestStall).toBe(longestStall);
    expect(json.migrationUnderLoad.hostWriteback).toEqual(hostWriteback);
    expect(json.migrationUnderLoad.stallsByMigration).toEqual([
      { migration: "0002_roles_and_grants.sql", maxWriteStallMs: 12.35, writer: "events", maxLockWaitMs: 3.21, maxWriteStallMachineRunningMs: 12.35 },
      { migration: "0007_partition_conversion.sql", maxWriteStallMs: 445.6, writer: "events", maxLockWaitMs: 0, maxWriteStallMachineRunningMs: 170.04 },
      { migration: "0009_personal_data.sql", maxWriteStallMs: 0, writer: null, maxLockWaitMs: 0, maxWriteStallMachineRunningMs: 0 },
    ]);
    expect(json.migrationUnderLoad.longestLockWait).toEqual(longestLockWait);
    const md = markdown(r);
    expect(md).toMatch(
      /\| 0002_roles_and_grants\.sql \| 12\.3 ms \| 12\.3 ms \| events \| 3\.21 ms \|\n\| 0007_partition_conversion\.sql \| 446 ms \| 170 ms \| events \| 0\.00 ms \|\n\| 0009_personal_data\.sql \| 0\.00 ms \| 0\.00 ms \| — \| 0\.00 ms \|/,
    );
    expect(md).toContain("| Machine paused (no CPU time accounted) | 1021 ms |");
    expect(md).toContain("| Longest write stall while the machine ran | 170 ms |");
    expect(md).toContain("| Longest lock wait | 3.21 ms (events writer, 0002_roles_and_grants.sql) |");
    expect(md).toContain("| Host writeback | host writeback starts at 64 MB of dirty data (vm.dirty_background_bytes = 67108864) |");
  });

  test("each migration file is charged with the longest part of a writer's gap inside its run; a retried file's attempts count as one file", () => {
    const windows = migrationWindows(
      [
        [100, "0002_a.sql"],
        [200, "0003_b.sql"],
        [300, "0002_a.sql"], // an engine retry of a file whose first attempt failed
        [400, "0004_c.sql"],
      ],
      500,
    );
    expect(windows.map((w) => [w.migration, w.start, w.end])).toEqual([
      ["0002_a.sql", 100, 200],
      ["0003_b.sql", 200, 300],
      ["0002_a.sql", 300, 400],
      ["0004_c.sql", 400, 500],
    ]);
    const gaps: WriteGap[] = [
      { writer: "events", start: 90, end: 120 }, // 20 ms inside 0002's first attempt
      { writer: "progress", start: 180, end: 260 }, // split: 20 ms in 0002, 60 ms in 0003
      { writer: "events", start: 350, end: 390 }, // 40 ms in 0002's retry: its worst
      { writer: "events", start: 480, end: 600 }, // 20 ms before the apply ended, the rest after it
    ];
    expect(stallsByMigration(gaps, windows)).toEqual([
      { migration: "0002_a.sql", maxWriteStallMs: 40, writer: "events" },
      { migration: "0003_b.sql", maxWriteStallMs: 60, writer: "progress" },
      { migration: "0004_c.sql", maxWriteStallMs: 20, writer: "events" },
    ]);
    expect(stallsByMigration([], migrationWindows([[0, "0005_d.sql"]], 10))).toEqual([{ migration: "0005_d.sql", maxWriteStallMs: 0, writer: null }]);
    // Net of a pause from 360 to 390 (as PauseMeter measures it), 0002's retry counts 40 − 30 = 10 ms, so its first attempt's 20 ms is its worst.
    const paused = (a: number, b: number) => Math.max(0, Math.min(b, 390) - Math.max(a, 360));
    expect(stallsByMigration(gaps, windows, (a, b) => b - a - paused(a, b))).toEqual([
      { migration: "0002_a.sql", maxWriteStallMs: 20, writer: "events" },
      { migration: "0003_b.sql", maxWriteStallMs: 60, writer: "progress" },
      { migration: "0004_c.sql", maxWriteStallMs: 20, writer: "events" },
    ]);
  });

  test.each([
    ["only the fixture's slow analytics", {}, []],
    ["a slow write stall", { migrationUnderLoad: { maxWriteStallMs: 251, rowsLost: 0, durationS: 1 } }, ["longest write stall ≤ 250 ms"]],
    [
      "a slow write stall, not only while the machine was paused",
      { migrationUnderLoad: { maxWriteStallMs: 445, rowsLost: 0, durationS: 1, machinePausedMs: 100, maxWriteStallMachineRunningMs: 251 } },
      ["longest write stall ≤ 250 ms", "longest write stall while the machine ran ≤ 250 ms"],
    ],
    [
      "a write stall over the target only while the machine was paused",
      { migrationUnderLoad: { maxWriteStallMs: 445, rowsLost: 0, durationS: 1, machinePausedMs: 300, maxWriteStallMachineRunningMs: 170 } },
      ["longest write stall ≤ 250 ms"],
    ],
    ["a lost row", { migrationUnderLoad: { maxWriteStallMs: 1, rowsLost: 1, durationS: 1 } }, ["rows lost = 0"]],
    ["a slow no-op apply", { noopApplyMs: 501 }, ["no-op apply ≤ 500 ms"]],
  ] as const)("targets: %s", (_name, over, missed) => {
    const failed = checkTargets(results(over as Partial<BenchResults>))
      .filter((t) => !t.ok)
      .map((t) => t.target);
    // instructor_analytics_30d at 1 client is only 9× faster: always missed in this fixture.
    expect(failed).toEqual(["instructor_analytics_30d at 1 client ≥ 10× faster (p95)", ...missed]);
  });

  test("server cost and repeats are written after the original fields", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-bench-")), "latest.json");
    const server = { calls: 10, meanExecMs: 0.5, meanPlanMs: 0.1, sharedHitPerCall: 12, sharedReadPerCall: 0 };
    const optimizedRepeats = summariseRepeats([{ p95: 9, meanExecMs: 0.5 }, { p95: 7 }, { p95: 12, meanExecMs: 0.6 }]);
    writeResults(file, results({ queries: [{ name: "course_page", concurrency: 16, baseline: s(20), optimized: s(9), server: { optimized: server }, optimizedRepeats }] }));
    const q = (JSON.parse(fs.readFileSync(file, "utf8")) as { queries: Record<string, unknown>[] }).queries[0];
    expect(Object.keys(q)).toEqual(["name", "concurrency", "baseline", "optimized", "server", "optimizedRepeats"]);
    expect(q.server).toEqual({ optimized: server });
    expect(q.optimizedRepeats).toEqual({ p95: [9, 7, 12], medianP95: 9, spreadP95: 5, meanExecMs: [0.5, 0.6] });
  });

  test("the optimised-only cells (the floors) are written after the original fields, rounded, and the markdown lists them", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-bench-")), "latest.json");
    const server = { calls: 10, meanExecMs: 0.0412, meanPlanMs: 0, sharedHitPerCall: 5, sharedReadPerCall: 0 };
    const optimizedOnly = [
      { name: "select_1_floor", concurrency: 1, optimized: s(0.1) },
      {
        name: "instructor_analytics_30d_precomputed",
        concurrency: 16,
        optimized: { p50: 5.3217, p95: 19.5678, p99: 30.1, tps: 1954.66 },
        server,
        optimizedRepeats: summariseRepeats([{ p95: 21.7, meanExecMs: 0.04 }, { p95: 19.5678, meanExecMs: 0.0412 }, { p95: 19.2, meanExecMs: 0.05 }]),
      },
    ];
    const r = results({ optimizedOnly });
    writeResults(file, { ...r, writePath: undefined });
    const json = JSON.parse(fs.readFileSync(file, "utf8")) as { optimizedOnly: Record<string, unknown>[] } & Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["scale", "pgVersion", "queries", "migrationUnderLoad", "noopApplyMs", "optimizedOnly"]);
    expect(json.optimizedOnly.map((q) => Object.keys(q))).toEqual([
      ["name", "concurrency", "optimized"],
      ["name", "concurrency", "optimized", "server", "optimizedRepeats"],
    ]);
    expect(json.optimizedOnly[1].optimized).toEqual({ p50: 5.322, p95: 19.568, p99: 30.1, tps: 1954.7 });
    expect(json.optimizedOnly[1].optimizedRepeats).toEqual({ p95: [21.7, 19.568, 19.2], medianP95: 19.568, spreadP95: 2.5, meanExecMs: [0.04, 0.0412, 0.05] });
    const md = markdown(r);
    expect(md).toContain("| select_1_floor | 1 | 0.05 / 0.10 / 0.15 | 100.0 | — | — |");
    expect(md).toContain("| instructor_analytics_30d_precomputed | 16 | 5.32 / 19.6 / 30.1 | 1954.7 | 0.041 (5) | 21.7, 19.6, 19.2 (19.6, ±1.25) |");
    // Not targets: the floors show what the machine allows, they are not hot queries.
    expect(checkTargets(r).some((t) => t.target.includes("precomputed") || t.target.includes("select_1"))).toBe(false);
  });

  test("optimised-only rows take each cell's median repeat, in query then concurrency order, and list their cancelled calls", () => {
    const server = { calls: 100, meanExecMs: 0.2, meanPlanMs: 0, sharedHitPerCall: 4, sharedReadPerCall: 0 };
    const cell = (p95: number, over: Partial<MeasuredCell> = {}): MeasuredCell => ({ p50: p95 / 2, p95, p99: p95 * 2, tps: 10, operations: 100, timeouts: 0, wallMs: 1000, ...over });
    const cells = new Map([
      ["b@16", [cell(9, { server }), cell(3), cell(5, { server: { ...server, meanExecMs: 0.3 } })]],
      ["a@16", [cell(2)]],
      ["a@1", [cell(1, { timeouts: 2 })]],
    ]);
    const query = (name: string): HotQuery => ({ name, sql: () => "SELECT 1", args: () => [] });
    const { rows, cut } = optimizedOnlyResults({ concurrencies: [1, 16, 64] } as unknown as Options, [query("a"), query("b")], cells);
    expect(rows.map((r) => [r.name, r.concurrency, r.optimized.p95])).toEqual([
      ["a", 1, 1],
      ["a", 16, 2],
      ["b", 16, 5],
    ]);
    expect(rows[2].server).toEqual({ ...server, meanExecMs: 0.3 });
    expect(rows[2].optimizedRepeats).toEqual({ p95: [9, 3, 5], medianP95: 5, spreadP95: 6, meanExecMs: [0.2, 0.3] });
    expect(rows[0]).not.toHaveProperty("optimizedRepeats");
    expect(cut).toEqual(["a at 1 clients (optimised only): 2 of 102 calls"]);
  });

  test.each([
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2],
    [[5], 5],
  ])("median of %j is the measured value %d", (values, m) => {
    expect(median(values)).toBe(m);
  });

  test.each([
    ["course_page", 1.2, false],
    ["course_page", 0.9, true],
    ["instructor_analytics_30d", 1.9, true],
    ["instructor_analytics_30d", 2.1, false],
  ] as const)("server time target: %s at %d ms per call met = %s", (name, ms, ok) => {
    const server = { calls: 1, meanExecMs: ms, meanPlanMs: 0, sharedHitPerCall: 1, sharedReadPerCall: 0 };
    const r = results({ queries: [{ name, concurrency: 1, baseline: s(2000), optimized: s(1), server: { optimized: server } }] });
    const t = checkTargets(r).find((x) => x.target.startsWith(`${name} server time`));
    expect(t?.ok).toBe(ok);
  });

  test("a hot query over 100 ms at 64 clients misses its target", () => {
    const r = results({ queries: [{ name: "course_page", concurrency: 64, baseline: s(500), optimized: s(101) }] });
    expect(checkTargets(r).filter((t) => !t.ok).map((t) => t.target)).toEqual(["course_page p95 ≤ 100 ms at 64 clients (optimised)"]);
  });

  test("a hot query over 10 ms at 16 clients misses its target", () => {
    const r = results({ queries: [{ name: "learner_dashboard", concurrency: 16, baseline: s(500), optimized: s(10.5) }] });
    expect(checkTargets(r).filter((t) => !t.ok).map((t) => t.target)).toEqual(["learner_dashboard p95 ≤ 10 ms at 16 clients (optimised)"]);
  });

  test("the chart is well-formed SVG with every query, both series and the lower-bound marks", () => {
    const svg = renderP95Chart(results(), new Set(["instructor_analytics_7d@16@baseline"]));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    for (const name of ["course_page", "instructor_analytics_7d", "instructor_analytics_30d"]) expect(svg).toContain(`>${name}</text>`);
    expect(svg.match(/≥ /g)?.length).toBe(1);
    expect(svg).toContain("16 clients");
    expect(svg).toContain("1 client<");
  });
});
