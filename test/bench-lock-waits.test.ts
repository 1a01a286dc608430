/**
 * The benchmark's lock-wait sampler (bench/lock-waits.ts) against a real
 * server: a writer blocked by a session holding the table is seen waiting on
 * that lock, for at least as long as it was held, with the blocker named; a
 * writer that never waits is never reported.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LockWaitSampler, lockWaitsOnly, longestLockWait, waitsDuring } from "../bench/lock-waits";
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
    const sampler = new LockWaitSampler(sampling, { events: await pid(events), progress: await pid(progress) });
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
