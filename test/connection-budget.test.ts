import { describe, expect, test } from "vitest";
import { parseStackConfig } from "../config";
import { tierInfo } from "../lib/cloudsql-catalog";
import {
  MAX_UTILISATION,
  MIGRATION_RUNNER_CONNECTIONS,
  PROD_MIN_CLIENT_CAPACITY,
  SUPERUSER_RESERVED_CONNECTIONS,
  checkConnectionBudget,
  loginConnectionLimits,
  poolersFor,
  type BudgetInput,
  type BudgetInstance,
} from "../lib/connection-budget";
import { maxConnectionsOf, resolveFlags } from "../lib/database-flags";
import { loadMigrations } from "../lib/migrate/files";
import { loadStackValues } from "../lib/mock-runtime";

/** The budget input index.ts builds for a stack, from its config files. */
function stackBudget(stack: string, overrides: Record<string, unknown> = {}): BudgetInput {
  const v = loadStackValues(stack, overrides);
  const c = parseStackConfig({ project: v.project, region: v.region, values: v.values });
  const primaryMax = maxConnectionsOf(resolveFlags({ tier: c.instance.tier, databaseName: c.database.name, overrides: c.instance.flags }));
  const pooling = c.instance.pooling.enabled
    ? { maxClientConnections: c.instance.pooling.maxClientConnections, maxPoolSize: c.instance.pooling.maxPoolSize }
    : undefined;
  return {
    appInstances: c.capacity.appInstances,
    poolSizePerInstance: c.capacity.poolSizePerInstance,
    readPercent: c.capacity.readPercent,
    minClientCapacity: c.environment === "prod" ? PROD_MIN_CLIENT_CAPACITY : 0,
    instances: [
      { name: "primary", role: "primary", readWeight: 0, maxConnections: primaryMax, vcpus: tierInfo(c.instance.tier)!.vcpus, nodes: 1, pooling, otherConnections: MIGRATION_RUNNER_CONNECTIONS },
      ...Object.entries(c.replicas).map(([name, r]): BudgetInstance => ({
        name,
        role: "replica",
        readWeight: r.readWeight,
        maxConnections: maxConnectionsOf(resolveFlags({ tier: r.tier, databaseName: c.database.name, instanceOverrides: r.flags, primaryMaxConnections: primaryMax })),
        vcpus: tierInfo(r.tier)!.vcpus,
        nodes: 1,
        pooling,
      })),
    ],
  };
}

const simple = (over: Partial<BudgetInput> = {}, instances?: BudgetInstance[]): BudgetInput => ({
  appInstances: 10,
  poolSizePerInstance: 10,
  readPercent: 50,
  instances: instances ?? [
    { name: "p", role: "primary", readWeight: 0, maxConnections: 200, vcpus: 4, nodes: 1 },
    { name: "r1", role: "replica", readWeight: 1, maxConnections: 200, vcpus: 4, nodes: 1 },
    { name: "r2", role: "replica", readWeight: 3, maxConnections: 200, vcpus: 4, nodes: 1 },
  ],
  ...over,
});

describe("the stacks' budgets", () => {
  test(`prod fits under ${MAX_UTILISATION * 100}% everywhere and holds at least ${PROD_MIN_CLIENT_CAPACITY} client connections`, () => {
    const input = stackBudget("prod");
    const report = checkConnectionBudget(input);
    expect(report.usableClientCapacity).toBeGreaterThanOrEqual(PROD_MIN_CLIENT_CAPACITY);
    for (const i of report.instances) {
      expect(i.serverUtilisation).toBeLessThanOrEqual(MAX_UTILISATION);
      if (i.poolerUtilisation !== undefined) expect(i.poolerUtilisation).toBeLessThanOrEqual(MAX_UTILISATION);
    }
    // Every application connection lands somewhere.
    const routed = report.instances.reduce((s, i) => s + i.clientConnections, 0);
    expect(routed).toBeGreaterThanOrEqual(report.appConnections);
    // The DR replica (weight 0) takes no reads and is not counted as capacity.
    const dr = report.instances.find((i) => i.name === "dr-east")!;
    expect(dr.inRotation).toBe(false);
    expect(dr.clientConnections).toBe(0);
    expect(report.standbyClientCapacity).toBe(dr.clientCapacity);
  });

  test("staging fits and has no client-capacity floor", () => {
    const report = checkConnectionBudget(stackBudget("staging"));
    expect(report.instances.map((i) => i.name)).toEqual(["primary", "read-a"]);
    expect(report.usableClientCapacity).toBeGreaterThan(0);
  });

  test("prod's application login needs more server connections per node than lp_app_rw's fixed limit; the budget refuses that limit", () => {
    const input = stackBudget("prod");
    const report = checkConnectionBudget(input);
    const readA = input.instances.find((i) => i.name === "read-a")!;
    // read-a's share of reads is capped by its poolers, not by the clients routed to it.
    const perNode = Math.ceil(report.instances.find((i) => i.name === "read-a")!.clientConnections / readA.nodes);
    expect(report.appLoginConnectionLimit).toBe(Math.min(perNode, poolersFor(readA.vcpus) * readA.pooling!.maxPoolSize));
    const groupLimit = Number(/ALTER ROLE lp_app_rw CONNECTION LIMIT (\d+)/.exec(loadMigrations().map((m) => m.sql).join("\n"))![1]);
    expect(report.appLoginConnectionLimit).toBeGreaterThan(groupLimit);
    expect(() => checkConnectionBudget({ ...input, appLoginConnectionLimit: groupLimit })).toThrow(
      new RegExp(`instance read-a: the application login's CONNECTION LIMIT ${groupLimit} caps .* Give the login ${report.appLoginConnectionLimit}`),
    );
    expect(() => checkConnectionBudget({ ...input, appLoginConnectionLimit: report.appLoginConnectionLimit })).not.toThrow();
    expect(loginConnectionLimits(report, ["lp-app@rds-lms.iam"])).toEqual({ "lp-app@rds-lms.iam": report.appLoginConnectionLimit });
  });

  test("prod with the old 30,000 pooler limit falls short of the client target", () => {
    expect(() => checkConnectionBudget(stackBudget("prod", { poolMaxClientConnections: 30_000 }))).toThrow(/usable client capacity .* below the required 100000/);
  });
});

describe("routing", () => {
  test("writes go to the primary, reads spread over replicas by weight", () => {
    const report = checkConnectionBudget(simple());
    const by = Object.fromEntries(report.instances.map((i) => [i.name, i]));
    expect(report.perAppInstance).toEqual({ write: 5, read: 5 });
    expect(by.p.clientConnections).toBe(10 * 5);
    expect(by.r1.clientConnections).toBe(Math.ceil(10 * 5 * 0.25));
    expect(by.r2.clientConnections).toBe(Math.ceil(10 * 5 * 0.75));
    expect(by.r1.readShare + by.r2.readShare).toBeCloseTo(1);
  });

  test("with no reader in rotation, reads go to the primary", () => {
    const report = checkConnectionBudget(
      simple({}, [
        { name: "p", role: "primary", readWeight: 0, maxConnections: 200, vcpus: 4, nodes: 1 },
        { name: "dr", role: "replica", readWeight: 0, maxConnections: 200, vcpus: 4, nodes: 1 },
      ]),
    );
    expect(report.instances[0].clientConnections).toBe(100);
    expect(report.instances[1].clientConnections).toBe(0);
  });

  test("server connections include the reserved slots and other connections", () => {
    const report = checkConnectionBudget(
      simple({}, [{ name: "p", role: "primary", readWeight: 0, maxConnections: 200, vcpus: 4, nodes: 1, otherConnections: 2 }]),
    );
    expect(report.instances[0].serverConnectionsPerNode).toBe(100 + SUPERUSER_RESERVED_CONNECTIONS + 2);
  });

  test("with managed pooling, server connections are capped at poolers × max_pool_size", () => {
    const pooled = { maxClientConnections: 5000, maxPoolSize: 10 };
    const report = checkConnectionBudget({
      appInstances: 100,
      poolSizePerInstance: 10,
      readPercent: 0,
      instances: [{ name: "p", role: "primary", readWeight: 0, maxConnections: 200, vcpus: 8, nodes: 1, pooling: pooled }],
    });
    expect(poolersFor(8)).toBe(2);
    expect(report.instances[0].clientConnections).toBe(1000);
    expect(report.instances[0].serverConnectionsPerNode).toBe(2 * 10 + SUPERUSER_RESERVED_CONNECTIONS);
    expect(report.clientCapacity).toBe(5000);
  });

  test("a read pool spreads its share over its nodes and counts each node's capacity", () => {
    const pooled = { maxClientConnections: 1000, maxPoolSize: 50 };
    const report = checkConnectionBudget({
      appInstances: 10,
      poolSizePerInstance: 10,
      readPercent: 100,
      instances: [
        { name: "p", role: "primary", readWeight: 0, maxConnections: 200, vcpus: 4, nodes: 1, pooling: pooled },
        { name: "pool", role: "readPool", readWeight: 1, maxConnections: 200, vcpus: 4, nodes: 4, pooling: pooled },
      ],
    });
    const pool = report.instances[1];
    expect(pool.clientConnections).toBe(100);
    expect(pool.serverConnectionsPerNode).toBe(25 + SUPERUSER_RESERVED_CONNECTIONS);
    expect(pool.clientCapacity).toBe(4000);
    expect(report.clientCapacity).toBe(5000);
  });

  test("one pooler at least, one more per 4 vCPUs", () => {
    expect([1, 2, 4, 8, 16, 64].map(poolersFor)).toEqual([1, 1, 1, 2, 4, 16]);
  });
});

describe("refusals", () => {
  test("refuses a configuration above 85% of max_connections, naming the instance", () => {
    // 10 × 20 = 200 connections, 50 writes + 3 reserved on a 60-connection primary.
    expect(() =>
      checkConnectionBudget(
        simple({ poolSizePerInstance: 20, readPercent: 75 }, [
          { name: "small-primary", role: "primary", readWeight: 0, maxConnections: 60, vcpus: 2, nodes: 1 },
          { name: "r", role: "replica", readWeight: 1, maxConnections: 400, vcpus: 2, nodes: 1 },
        ]),
      ),
    ).toThrow(/instance small-primary: 53 of max_connections 60 .*88\.3%.* above 85\.0%/);
  });

  test("accepts exactly at the ceiling and refuses one connection above it", () => {
    const at = (max: number) =>
      simple({ appInstances: 1, poolSizePerInstance: 82, readPercent: 0 }, [{ name: "p", role: "primary", readWeight: 0, maxConnections: max, vcpus: 2, nodes: 1 }]);
    // 82 + 3 reserved = 85 = 85% of 100.
    expect(() => checkConnectionBudget(at(100))).not.toThrow();
    expect(() => checkConnectionBudget(at(99))).toThrow(/above 85\.0%/);
  });

  test("refuses a pooler above 85% of max_client_connections", () => {
    expect(() =>
      checkConnectionBudget({
        appInstances: 100,
        poolSizePerInstance: 10,
        readPercent: 0,
        instances: [{ name: "p", role: "primary", readWeight: 0, maxConnections: 400, vcpus: 4, nodes: 1, pooling: { maxClientConnections: 1000, maxPoolSize: 50 } }],
      }),
    ).toThrow(/instance p: 1000 client connections .* max_client_connections 1000/);
  });

  test("refuses an application login limit below its busiest node's connections, and accepts it at exactly that", () => {
    // Without pooling every client is a server connection: r2 takes 3/4 of 10 × 5 reads = 38.
    const report = checkConnectionBudget(simple());
    expect(report.instances.map((i) => [i.name, i.appServerConnectionsPerNode])).toEqual([["p", 50], ["r1", 13], ["r2", 38]]);
    expect(report.appLoginConnectionLimit).toBe(50);
    expect(() => checkConnectionBudget(simple({ appLoginConnectionLimit: 49 }))).toThrow(/instance p: the application login's CONNECTION LIMIT 49 caps .* below the 50 per node/);
    expect(() => checkConnectionBudget(simple({ appLoginConnectionLimit: 50 }))).not.toThrow();
  });

  test("refuses a client capacity below the required floor", () => {
    expect(() => checkConnectionBudget(simple({ minClientCapacity: 1_000_000 }))).toThrow(/below the required 1000000/);
  });

  test.each([
    ["appInstances 0", simple({ appInstances: 0 }), /appInstances = 0/],
    ["poolSizePerInstance 1.5", simple({ poolSizePerInstance: 1.5 }), /poolSizePerInstance = 1.5/],
    ["readPercent 120", simple({ readPercent: 120 }), /readPercent = 120/],
    ["maxUtilisation 1.5", simple({ maxUtilisation: 1.5 }), /maxUtilisation = 1.5/],
    ["no primary", simple({}, [{ name: "r", role: "replica", readWeight: 1, maxConnections: 100, vcpus: 2, nodes: 1 }]), /exactly one primary, got 0/],
    [
      "two instances with one name",
      simple({}, [
        { name: "p", role: "primary", readWeight: 0, maxConnections: 100, vcpus: 2, nodes: 1 },
        { name: "p", role: "replica", readWeight: 1, maxConnections: 100, vcpus: 2, nodes: 1 },
      ]),
      /instance p: listed twice/,
    ],
    ["negative weight", simple({}, [{ name: "p", role: "primary", readWeight: -1, maxConnections: 100, vcpus: 2, nodes: 1 }]), /readWeight -1/],
    ["zero nodes", simple({}, [{ name: "p", role: "primary", readWeight: 0, maxConnections: 100, vcpus: 2, nodes: 0 }]), /nodes 0/],
    ["zero vcpus", simple({}, [{ name: "p", role: "primary", readWeight: 0, maxConnections: 100, vcpus: 0, nodes: 1 }]), /vcpus 0/],
    ["no room", simple({}, [{ name: "p", role: "primary", readWeight: 0, maxConnections: 3, vcpus: 2, nodes: 1 }]), /leaves no room/],
    [
      "bad pool sizes",
      simple({}, [{ name: "p", role: "primary", readWeight: 0, maxConnections: 100, vcpus: 2, nodes: 1, pooling: { maxClientConnections: 0, maxPoolSize: 1 } }]),
      /pooling sizes/,
    ],
  ])("refuses invalid input: %s", (_what, input, message) => {
    expect(() => checkConnectionBudget(input)).toThrow(message);
  });
});
