/**
 * The router against real PostgreSQL servers: one embedded server per
 * endpoint (primary, two weighted replicas, a DR replica). Faults are real:
 * a server stopped mid-load, and a TCP partition in front of a replica.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startEmbeddedPostgres, type EmbeddedServer } from "../../test/harness/postgres";
import type { BreakerStateChange, PoolAlert, ReadFailover, SlowQuery } from "../src/events";
import { parseManifest } from "../src/manifest";
import { NoHealthyEndpointError, Router } from "../src/router";
import { manifestFixture } from "./fixture";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

const HALF_OPEN_AFTER_MS = 400;

let servers: Record<"primary" | "read-a" | "read-b" | "dr", EmbeddedServer>;
let proxyB: TcpProxy;
let router: Router;
const portOf: Record<string, string> = {};
const breakerEvents: BreakerStateChange[] = [];
const failovers: ReadFailover[] = [];

function manifest() {
  const m = manifestFixture();
  const replicas = m.replicas as Record<string, Record<string, unknown>>;
  replicas["read-b"] = { ...replicas["read-a"], instanceName: "lp-read-b", readWeight: 1 };
  replicas["read-a"].readWeight = 2;
  return parseManifest(m);
}

/** Which endpoint served a read, by the server's port. */
async function servedBy(): Promise<string> {
  const r = await router.read<{ port: string }>("SELECT current_setting('port') AS port");
  return portOf[r.rows[0].port];
}

beforeAll(async () => {
  const [primary, a, b, dr] = await Promise.all([startEmbeddedPostgres(), startEmbeddedPostgres(), startEmbeddedPostgres(), startEmbeddedPostgres()]);
  servers = { primary, "read-a": a, "read-b": b, dr };
  for (const [name, s] of Object.entries(servers)) portOf[String(s.port)] = name;
  proxyB = await startTcpProxy(b);
  const target: Record<string, number> = { primary: primary.port, "read-a": a.port, "read-b": proxyB.port, dr: dr.port };
  for (const s of Object.values(servers)) {
    // The manifest's database; each server stands in for one Cloud SQL instance.
    const admin = new (await import("pg")).Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: "postgres" });
    await admin.connect();
    await admin.query("CREATE DATABASE learning");
    await admin.end();
  }
  router = new Router({
    manifest: manifest(),
    connection: { user: primary.user, password: primary.password },
    resolve: (e) => ({ host: "127.0.0.1", port: target[e.name] }),
    slowQueryMs: 150,
    breakerFailures: 2,
    halfOpenAfterMs: HALF_OPEN_AFTER_MS,
    healthIntervalMs: 100,
    connectTimeoutMs: 1000,
  });
  router.on("breakerStateChange", (e) => breakerEvents.push(e));
  router.on("failover", (e) => failovers.push(e));
}, 180_000);

afterAll(async () => {
  await router?.close();
  await proxyB?.close();
  await Promise.allSettled(Object.values(servers ?? {}).map((s) => s.stop()));
});

describe("routing", () => {
  test("writes go to the primary; reads spread over replicas by weight and never reach the primary or the weight-0 DR replica", async () => {
    const w = await router.write<{ port: string }>("SELECT current_setting('port') AS port");
    expect(portOf[w.rows[0].port]).toBe("primary");
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const by = await servedBy();
      counts[by] = (counts[by] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(["read-a", "read-b"]);
    // Weights 2:1 — 300 draws put read-a's share near 2/3 (0.5–0.8 is > 5 σ wide).
    expect(counts["read-a"] / 300).toBeGreaterThan(0.5);
    expect(counts["read-a"] / 300).toBeLessThan(0.8);
  });

  test("a statement error is the caller's: no failover, no breaker trip", async () => {
    const before = breakerEvents.length;
    await expect(router.read("SELECT 1/0")).rejects.toThrow(/division by zero/);
    await expect(router.read("SELECT 1/0")).rejects.toThrow(/division by zero/);
    await expect(router.read("SELECT 1/0")).rejects.toThrow(/division by zero/);
    expect(breakerEvents.length).toBe(before);
    expect(Object.values(router.states())).toEqual(["closed", "closed", "closed", "closed"]);
  });

  test("slowQuery and pool-utilisation alerts come as events", async () => {
    const slow: SlowQuery[] = [];
    const alerts: PoolAlert[] = [];
    router.on("slowQuery", (e) => slow.push(e));
    router.on("alert", (e) => alerts.push(e));
    // Six concurrent statements fill the primary's write pool of 6: 70 % then 90 %.
    await Promise.all(Array.from({ length: 6 }, () => router.write("SELECT pg_sleep(0.2)")));
    expect(slow.length).toBe(6);
    expect(slow[0]).toMatchObject({ endpoint: "primary", thresholdMs: 150, sql: "SELECT pg_sleep(0.2)" });
    expect(alerts.filter((a) => a.endpoint === "primary").map((a) => a.level)).toEqual(expect.arrayContaining(["warning", "critical", "ok"]));
    expect(alerts.find((a) => a.level === "critical")!.utilisation).toBeGreaterThanOrEqual(0.9);
  });
});

describe("failover", () => {
  test("stopping a replica mid-load: no failed read reaches the caller, its breaker opens", async () => {
    const errors: unknown[] = [];
    const served: Record<string, number> = {};
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const by = await servedBy();
          served[by] = (served[by] ?? 0) + 1;
        } catch (err) {
          errors.push(err);
        }
      }
    };
    const workers = Array.from({ length: 12 }, worker);
    await new Promise((r) => setTimeout(r, 500));
    await servers["read-a"].stop();
    const afterKill = { ...served };
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);
    expect(errors).toEqual([]);
    expect(breakerEvents).toContainEqual(expect.objectContaining({ endpoint: "read-a", from: "closed", to: "open" }));
    expect(failovers.some((f) => f.from === "read-a")).toBe(true);
    expect((served["read-b"] ?? 0) - (afterKill["read-b"] ?? 0)).toBeGreaterThan(0);
    expect(router.states()["read-a"]).not.toBe("closed");
  });

  test("a partitioned replica's breaker opens, half-opens on schedule and closes once it answers again", async () => {
    const seen = () => breakerEvents.filter((e) => e.endpoint === "read-b").map((e) => e.to);
    const start = seen().length;
    await proxyB.cut();
    // Reads carry on (read-a is down too, so the primary takes them) while read-b is cut off.
    for (let i = 0; i < 20; i++) expect(["primary", "read-b"]).toContain(await servedBy());
    await expect.poll(() => router.states()["read-b"], { timeout: 5000 }).toBe("open");
    await proxyB.restore();
    await expect.poll(() => router.states()["read-b"], { timeout: 5000, interval: 50 }).toBe("closed");
    expect(seen().slice(start)).toEqual(expect.arrayContaining(["open", "halfOpen", "closed"]));
    const order = seen().slice(start);
    expect(order.indexOf("halfOpen")).toBeGreaterThan(order.indexOf("open"));
    expect(order.lastIndexOf("closed")).toBeGreaterThan(order.indexOf("halfOpen"));
    expect(await servedBy()).toBe("read-b");
  });

  test("with the primary region gone, reads reach the DR replica; with nothing left, the error names every endpoint", async () => {
    await proxyB.cut();
    await servers.primary.stop();
    const got = new Set<string>();
    for (let i = 0; i < 10; i++) got.add(await servedBy());
    expect([...got]).toEqual(["dr"]);
    await servers.dr.stop();
    const err = await router.read("SELECT 1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoHealthyEndpointError);
    expect((err as Error).message).toMatch(/read-a .*read-b .*primary .*dr /);
  });
});
