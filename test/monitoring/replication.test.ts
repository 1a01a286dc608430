import { describe, expect, test } from "vitest";
import { CLOUD_SQL_METRICS, promqlName, signal, type InstanceContext } from "../../lib/monitoring";
import { LOG_NAMES, expectRealMetrics, selectors } from "../harness/monitoring";
import { PROJECT, alertsOf } from "./alerts-of";

const ctx: InstanceContext = { databaseId: `${PROJECT}:lp-test`, maxConnections: 400, logMetrics: LOG_NAMES };

describe("replication that stops, and byte lag", () => {
  test("replication state is in the catalog as Google's list gives it: GAUGE BOOL, label state (Running, Stopped, Error)", () => {
    const m = CLOUD_SQL_METRICS.replicationState;
    expect(m.type).toBe("cloudsql.googleapis.com/database/replication/state");
    expect([m.kind, m.valueType, m.resource]).toEqual(["GAUGE", "BOOL", "cloudsql_database"]);
    expect(m.labels).toEqual(["state"]);
  });

  test("the replication-state signal reads the Running series and the Stopped/Error series, on replicas only", () => {
    const s = signal("replication-state");
    expect(s.roles).toEqual(["replica"]);
    const q = s.expr(ctx);
    expectRealMetrics(q, ctx.databaseId, LOG_NAMES);
    const states = selectors(q).map((sel) => [sel.name, sel.labels.state]);
    expect(states).toContainEqual([promqlName(CLOUD_SQL_METRICS.replicationState.type), "Running"]);
    // Stopped and Error are matched by a regex matcher, which the selector parser does not read as a label value.
    expect(q).toContain('state=~"Stopped|Error"');
    // Not running is 1, running 0: the alert fires above 0.
    expect(s.direction).toBe("above");
    expect(s.levels?.WARNING.threshold).toBe(0);
    expect(s.levels!.CRITICAL.durationSeconds).toBeGreaterThan(s.levels!.WARNING.durationSeconds);
  });

  test("byte lag alerts from the primary, per replica, on replay lag, with warning under critical", () => {
    const s = signal("replica-byte-lag");
    expect(s.roles).toEqual(["primary"]);
    const q = s.expr(ctx);
    expect(q).toMatch(/^max by \(replica_name\) /);
    expect(selectors(q)[0].labels.replica_lag_type).toBe("replay_location");
    expect(s.levels).toBeDefined();
    expect(s.levels!.WARNING.threshold).toBeLessThan(s.levels!.CRITICAL.threshold);
    expect(s.anchor).toBe("replication-stopped");
  });

  test.each([
    ["replica", ["replication-state", "replication-lag"], ["replica-byte-lag"]],
    ["primary", ["replica-byte-lag"], ["replication-state", "replication-lag"]],
  ] as const)("a %s gets policies for %j at both levels, none for %j", async (role, present, absent) => {
    const policies = await alertsOf({ role });
    for (const id of present) for (const sev of ["warning", "critical"]) expect(Object.keys(policies)).toContain(`${id}-${sev}`);
    for (const id of absent) expect(Object.keys(policies).filter((k) => k.startsWith(`${id}-`))).toEqual([]);
    if (role === "replica") expect(policies["replication-state-critical"].query).toMatch(/\) > 0$/);
  });
});
