/**
 * The benchmark's lock-wait sampler (bench/lock-waits.ts) against a real
 * server: a writer blocked by a session holding the table is seen waiting on
 * that lock, for at least as long as it was held, with the blocker named; a
 * writer that never waits is never reported.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LockWaitSampler, describePause, lockWaitsOnly, longestLockWait, meanwhile, parseMeminfo, summariseWaits, waitsDuring } from "../bench/lock-waits";
import { MIN_PAUSE_MS, PauseMeter } from "../bench/host";
import { cpuSamples } from "./harness/cpu-samples";
import { serverConfig, useFreshDatabase } from "./harness/db";

/** How long the blocker holds the table; the wait it causes cannot be shorter, minus the time the insert takes to arrive. */
const HOLD_MS = 300;

describe("lock-wait sampler", () => {
  const db = useFreshDatabase();
  const sessions: Client[] = [];
  const connect = async (applicationName: string) => {
    const c = new Client({ ...serverConfig(db()), application_name: applicationName });
    await c.connect();
    sessions.push(c);
    return c;
  };
  const pid = async (c: Client) => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;

  beforeAll(async () => {
    const c = await connect("setup");
    await c.query("CREATE TABLE bench_lock_t (id int)");
  });
  afterAll(async () => {
    await Promise.all(sessions.map((c) => c.end()));
  });

  test("names the writer, the lock and the blocking session; the idle writer has no waits", async () => {
    const [blocker, events, progress, sampling] = await Promise.all(["migration-step", "events", "progress", "sampler"].map(connect));
    let meminfoReads = 0;
    let statReads = 0;
    const fakeMeminfo = () => `MemTotal: 1000 kB\nDirty:     ${2048 * ++meminfoReads} kB\nWriteback:    1024 kB\n`;
    const fakeStat = () => `cpu  ${++statReads} 0 0 100 0 0 0 0 0 0\ncpu0 1 0 0 50 0 0 0 0 0 0\n`;
    const sampler = new LockWaitSampler(sampling, { events: await pid(events), progress: await pid(progress) }, { meminfo: fakeMeminfo, stat: fakeStat });
    sampler.start();
    await blocker.query("BEGIN");
    await blocker.query("LOCK TABLE bench_lock_t IN ACCESS EXCLUSIVE MODE");
    const insert = events.query("INSERT INTO bench_lock_t VALUES (1)");
    await progress.query("SELECT 1");
    await new Promise((r) => setTimeout(r, HOLD_MS));
    await blocker.query("COMMIT");
    await insert;
    await new Promise((r) => setTimeout(r, 50));
    const waits = lockWaitsOnly(await sampler.stop());

    expect(waits.map((w) => w.writer)).toEqual(["events"]);
    const w = longestLockWait(waits)!;
    expect(w.type).toBe("Lock");
    expect(w.lock).toBe("relation");
    expect(w.blockedBy).toMatch(/^\d+ migration-step: LOCK TABLE bench_lock_t IN ACCESS EXCLUSIVE MODE$/);
    expect(w.end - w.start).toBeGreaterThanOrEqual(HOLD_MS / 2);
    // One page-cache sample per poll, in order.
    expect(sampler.pageCache.length).toBe(meminfoReads);
    expect(sampler.pageCache.map((c) => c.dirtyKb)).toEqual(Array.from({ length: meminfoReads }, (_, i) => 2048 * (i + 1)));
    // And one CPU-time sample per poll, at the same moments.
    expect(sampler.cpu.map((c) => c.ticks)).toEqual(Array.from({ length: statReads }, (_, i) => 100 + i + 1));
    expect(sampler.cpu.map((c) => c.at)).toEqual(sampler.pageCache.map((c) => c.at));
    // The writers and the sampler are never "other I/O"; the blocker only as its COMMIT flushes the WAL (seen on a loaded machine).
    expect(sampler.otherIo.filter((o) => /events|progress|sampler/.test(o.who))).toEqual([]);
    expect(sampler.otherIo.filter((o) => /migration-step/.test(o.who) && !(o.event === "IO:WalSync" && /: COMMIT$/.test(o.who)))).toEqual([]);
  });

  test("parseMeminfo reads Dirty and Writeback, and nothing from a text without them", () => {
    expect(parseMeminfo("MemTotal: 9 kB\nDirty:          950000 kB\nWriteback:      271000 kB\nWritebackTmp: 0 kB\n", 7)).toEqual({
      at: 7,
      dirtyKb: 950000,
      writebackKb: 271000,
    });
    expect(parseMeminfo("", 7)).toBeUndefined();
    expect(parseMeminfo("Dirty: 1 kB\n", 7)).toBeUndefined();
  });

  test("meanwhile sums the other backends' I/O inside the stall and gives the most page cache dirty and under writeback", () => {
    const others = [
      { who: "walwriter", event: "IO:WalSync", start: 90, end: 150 },
      { who: "walwriter", event: "IO:WalSync", start: 160, end: 300 },
      { who: "4242 lp-bench: CREATE INDEX CONCURRENTLY x", event: "IO:DataFileRead", start: 100, end: 120 },
      { who: "checkpointer", event: "IO:DataFileSync", start: 400, end: 500 },
    ];
    const cache = [
      { at: 50, dirtyKb: 9_999_999, writebackKb: 9_999_999 },
      { at: 110, dirtyKb: 972_800, writebackKb: 0 },
      { at: 180, dirtyKb: 563_200, writebackKb: 277_504 },
    ];
    expect(meanwhile(others, cache, 100, 200)).toBe(
      "other backends' I/O: IO:WalSync by walwriter 90 ms, IO:DataFileRead by 4242 lp-bench: CREATE INDEX CONCURRENTLY x 20 ms; page cache up to 950 MB dirty, 271 MB under writeback",
    );
    expect(meanwhile([], [], 100, 200)).toBe("no other backend seen in I/O; page cache not sampled");
  });

  test.each([
    { what: "a machine that ran throughout", pausedMs: 0, text: "no pause of the machine seen" },
    { what: "a pause within a tick's accuracy", pausedMs: MIN_PAUSE_MS - 1, text: "no pause of the machine seen" },
    {
      what: "a pause of most of the stall",
      pausedMs: 276,
      text: "the machine was paused for 276 ms of it (62 %): its CPUs were accounted no time in /proc/stat, not even idle time, so nothing in it ran (bench/host.ts)",
    },
  ])("describePause: $what", ({ pausedMs, text }) => {
    expect(describePause(pausedMs, 445)).toBe(text);
  });

  test("summariseWaits describes what went on beside the longest stall", () => {
    const waits = [{ writer: "events" as const, start: 100, end: 190, type: "LWLock", lock: "WALWrite", blockedBy: "" }];
    const s = summariseWaits(waits, [{ migration: "0007_x.sql", start: 0, end: 1000 }], { maxWriteStallMs: 100, maxWriteStallEndedAt: 200, maxWriteStallWriter: "events" }, {
      otherIo: [{ who: "walwriter", event: "IO:WalSync", start: 100, end: 200 }],
      pageCache: [{ at: 150, dirtyKb: 1024, writebackKb: 2048 }],
      // A poll every 10 ms for 3 s; the machine, poller included, paused from 120 to 180.
      pauses: new PauseMeter(cpuSamples(3001, [[120, 180]], 10)),
    });
    expect(s.longestStallWaits).toBe("LWLock:WALWrite 90 ms");
    expect(s.longestStallMeanwhile).toBe(
      "other backends' I/O: IO:WalSync by walwriter 100 ms; page cache up to 1 MB dirty, 2 MB under writeback; " +
        "the machine was paused for 60 ms of it (60 %): its CPUs were accounted no time in /proc/stat, not even idle time, so nothing in it ran (bench/host.ts)",
    );
    expect(s.longestLockWait).toBeUndefined();
  });

  test("the longest lock wait is charged to the file it fell in most, not the first file it touched", () => {
    // Starts 3 ms before 0011 is logged as applying (the wait's start is the last poll that saw the writer running).
    const wait = { writer: "events" as const, start: 997, end: 1155, type: "Lock", lock: "relation", blockedBy: "1085 lp-bench: SELECT lp_ops.with_lock_retries(…)" };
    const windows = [
      { migration: "0010_scheduled_jobs.sql", start: 0, end: 1000 },
      { migration: "0011_analytics_covering_index.sql", start: 1000, end: 3000 },
    ];
    const s = summariseWaits([wait], windows, { maxWriteStallMs: 158, maxWriteStallEndedAt: 1155, maxWriteStallWriter: "events" });
    expect(s.longestLockWait).toMatchObject({ ms: 158, migration: "0011_analytics_covering_index.sql" });
    expect([...s.lockWaitByFile]).toEqual([
      ["0010_scheduled_jobs.sql", 3],
      ["0011_analytics_covering_index.sql", 155],
    ]);
  });

  test("longestLockWait picks the longest stretch, and nothing from no waits; waitsDuring sums one writer's waits inside a window", () => {
    const a = { writer: "events" as const, start: 0, end: 40, type: "Lock", lock: "relation", blockedBy: "1 x: q" };
    const b = { writer: "progress" as const, start: 100, end: 190, type: "Lock", lock: "transactionid", blockedBy: "2 y: q" };
    const c = { writer: "events" as const, start: 30, end: 90, type: "IO", lock: "WalSync", blockedBy: "" };
    const d = { writer: "events" as const, start: 95, end: 99, type: "IO", lock: "WalSync", blockedBy: "" };
    expect(longestLockWait([a, b])).toBe(b);
    expect(longestLockWait([])).toBeUndefined();
    expect(lockWaitsOnly([a, b, c])).toEqual([a, b]);
    expect(waitsDuring([a, b, c, d], "events", 20, 100)).toEqual([
      ["IO:WalSync", 64],
      ["Lock:relation", 20],
    ]);
  });
});
