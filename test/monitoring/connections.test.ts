import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, SIGNALS, promqlName, signal, type InstanceContext } from "../../lib/monitoring";
import { LOG_NAMES, expectRealMetrics, selectors } from "../harness/monitoring";
import { PROJECT, alertsOf } from "./alerts-of";

const ctx: InstanceContext = {
  databaseId: `${PROJECT}:lp-test`,
  maxConnections: 400,
  pooling: { maxClientConnections: 5000, maxPoolSize: 50 },
  logMetrics: LOG_NAMES,
};

describe("pool pressure without a wrong denominator", () => {
  test("no signal divides by max_pool_size, and none alerts on server connections: server connections are per database across all users and poolers, max_pool_size per pool per pooler", () => {
    for (const s of SIGNALS) {
      if (!s.needsPooling) continue;
      expect(s.expr(ctx), s.id).not.toMatch(new RegExp(`/ ${ctx.pooling!.maxPoolSize}\\b`));
      // Server connections are charted (a tile), never compared with a level.
      if (s.levels) expect(s.metrics, s.id).not.toContainEqual({ cloudSql: "poolServerConnections" });
    }
  });

  test("clients waiting for a server connection: the waiting status, summed over databases, alerting", () => {
    const s = signal("pool-clients-waiting");
    const q = s.expr(ctx);
    expectRealMetrics(q, ctx.databaseId, LOG_NAMES);
    const [sel] = selectors(q);
    expect(sel.name).toBe(promqlName(CLOUD_SQL_METRICS.poolClientConnections.type));
    expect(sel.labels.status).toBe("waiting");
    expect(q).toMatch(/^sum\(/);
    expect(s.levels).toBeDefined();
    expect(s.needsPooling).toBe(true);
  });

  test("average wait for a server connection alerts, in ms, with warning under critical", () => {
    const s = signal("pool-wait");
    expect(selectors(s.expr(ctx))[0].name).toBe(promqlName(CLOUD_SQL_METRICS.poolClientWaitTime.type));
    expect(s.unit).toBe("ms");
    expect(s.levels).toBeDefined();
    expect(s.levels!.WARNING.threshold).toBeLessThan(s.levels!.CRITICAL.threshold);
  });

  test("with pooling, the instance gets waiting and wait-time policies next to num_backends / max_connections, and no server-connection ratio", async () => {
    const policies = await alertsOf({ pooling: ctx.pooling });
    const ids = Object.keys(policies);
    for (const id of ["pool-clients-waiting", "pool-wait", "pool-utilisation"]) expect(ids).toContain(`${id}-critical`);
    expect(ids.filter((k) => k.startsWith("pool-server-"))).toEqual([]);
    expect(policies["pool-utilisation-critical"].query).toContain("}) / 400) > 0.9");
  });
});
