import { describe, expect, test } from "vitest";
import {
  CIS_FLAGS,
  MAX_CONNECTIONS_BY_MEMORY,
  MAX_MAX_CONNECTIONS,
  MIN_MAX_CONNECTIONS,
  OPERATIONAL_FLAGS,
  maxConnectionsForTier,
  maxConnectionsOf,
  resolveFlags,
  toDatabaseFlags,
} from "../lib/database-flags";
import { tierInfo } from "../lib/cloudsql-catalog";

const base = { tier: "db-perf-optimized-N-4", databaseName: "learning_platform" };

describe("max_connections sized from the tier", () => {
  test.each([
    ["db-custom-1-3840", 100],
    ["db-custom-2-8192", 200],
    ["db-perf-optimized-N-2", 400],
    ["db-perf-optimized-N-4", 800],
    ["db-perf-optimized-N-8", 1_600],
    ["db-perf-optimized-N-16", 3_000],
    ["db-perf-optimized-N-32", 5_000],
    ["db-perf-optimized-N-128", 5_000],
  ])("%s gets %i (the documented table)", (tier, expected) => {
    expect(maxConnectionsForTier(tier)).toBe(expected);
  });

  test("never decreases as memory grows, and stays within Cloud SQL's range", () => {
    const tiers = ["db-custom-1-3840", "db-custom-2-8192", ...[2, 4, 8, 16, 32, 48, 64, 80, 96, 128].map((v) => `db-perf-optimized-N-${v}`)];
    const sized = tiers.map((t) => [tierInfo(t)!.memoryGb, maxConnectionsForTier(t)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sized.length; i++) expect(sized[i][1]).toBeGreaterThanOrEqual(sized[i - 1][1]);
    for (const row of MAX_CONNECTIONS_BY_MEMORY) {
      expect(row.maxConnections).toBeGreaterThanOrEqual(MIN_MAX_CONNECTIONS);
      expect(row.maxConnections).toBeLessThanOrEqual(MAX_MAX_CONNECTIONS);
    }
  });

  test("an unknown tier cannot be sized", () => {
    expect(() => maxConnectionsForTier("db-n1-standard-4")).toThrow(/not a Cloud SQL tier/);
  });
});

describe("the named flag set", () => {
  const flags = resolveFlags(base);

  test.each(Object.entries(CIS_FLAGS))("CIS flag %s = %s", (flag, value) => {
    expect(flags[flag]).toBe(value);
  });

  test.each([
    ["log_connections", "on"],
    ["log_disconnections", "on"],
    ["log_statement", "ddl"],
    ["log_min_messages", "warning"],
    ["log_min_error_statement", "error"],
    ["log_error_verbosity", "default"],
    ["log_min_duration_statement", "-1"],
    ["log_lock_waits", "on"],
    ["log_checkpoints", "on"],
    ["log_temp_files", "0"],
    ["cloudsql.enable_pgaudit", "on"],
    ["cloudsql.iam_authentication", "on"],
    ["cloudsql.enable_pg_cron", "on"],
    ["cron.database_name", "learning_platform"],
    ["pg_stat_statements.track", "all"],
  ])("the issue's flag %s is %s", (flag, value) => {
    expect(flags[flag]).toBe(value);
  });

  test("pgaudit logs DDL and role changes, not reads or writes", () => {
    expect(flags["pgaudit.log"].split(",")).toEqual(expect.arrayContaining(["ddl", "role"]));
    expect(flags["pgaudit.log"]).not.toMatch(/read|write|all/);
  });

  test("idle_in_transaction_session_timeout is set (ms, positive)", () => {
    expect(Number(flags.idle_in_transaction_session_timeout)).toBeGreaterThan(0);
  });

  test("every operational flag is present and the set is frozen", () => {
    for (const [flag, value] of Object.entries(OPERATIONAL_FLAGS)) expect(flags[flag]).toBe(value);
    expect(Object.isFrozen(flags)).toBe(true);
  });

  test("toDatabaseFlags lists each flag once, sorted by name", () => {
    const list = toDatabaseFlags(flags);
    expect(list.map((f) => f.name)).toEqual(Object.keys(flags).sort());
  });
});

describe("overrides", () => {
  test("stack-wide, then per-instance overrides win over the named set", () => {
    const flags = resolveFlags({
      ...base,
      overrides: { work_mem: "16MB", idle_in_transaction_session_timeout: "30000" },
      instanceOverrides: { work_mem: "64MB" },
    });
    expect(flags.work_mem).toBe("64MB");
    expect(flags.idle_in_transaction_session_timeout).toBe("30000");
  });

  test("max_connections can be overridden within range", () => {
    expect(maxConnectionsOf(resolveFlags({ ...base, overrides: { max_connections: "1200" } }))).toBe(1200);
  });

  test("a replica starts at its primary's max_connections when its own tier is smaller", () => {
    const flags = resolveFlags({ tier: "db-perf-optimized-N-2", databaseName: "x", primaryMaxConnections: 3000 });
    expect(maxConnectionsOf(flags)).toBe(3000);
  });

  test.each(Object.keys(CIS_FLAGS))("refuses an override that changes the CIS flag %s", (flag) => {
    expect(() => resolveFlags({ ...base, overrides: { [flag]: "changed" } })).toThrow(new RegExp(`${flag.replace(".", "\\.")} must stay`));
  });

  test("refuses log_min_duration_statement 1000 from a replica override too", () => {
    expect(() => resolveFlags({ ...base, instanceOverrides: { log_min_duration_statement: "1000" } })).toThrow(/log_min_duration_statement must stay "-1"/);
  });

  test.each(["abc", "10", String(MAX_MAX_CONNECTIONS + 1), "100.5"])("refuses max_connections = %s", (value) => {
    expect(() => resolveFlags({ ...base, overrides: { max_connections: value } })).toThrow(/max_connections .* must be an integer/);
  });

  test("refuses a replica max_connections below its primary's (hot standby rule)", () => {
    expect(() => resolveFlags({ ...base, primaryMaxConnections: 3000, instanceOverrides: { max_connections: "2000" } })).toThrow(
      /below its primary's 3000/,
    );
  });
});

describe("overrides that would put personal data in the logs, or run jobs elsewhere", () => {
  test.each([
    ["pgaudit.log", "all", /pgaudit\.log = "all": .*read.*statement text .*personal data.*allowed classes: ddl, role/],
    ["pgaudit.log", "ddl,role,write", /pgaudit\.log = "ddl,role,write": .*write/],
    ["pgaudit.log_parameter", "on", /pgaudit\.log_parameter = "on": .*parameters .*personal data/],
    ["log_statement", "all", /log_statement = "all": .*statement text .*personal data/],
    ["log_statement", "mod", /log_statement = "mod": .*statement text .*personal data/],
    ["cloudsql.iam_authentication", "off", /cloudsql\.iam_authentication = "off": .*IAM database logins/],
    ["cron.database_name", "postgres", /cron\.database_name = "postgres": .*learning_platform/],
  ])("refuses %s = %s, stack-wide and per instance, saying why", (flag, value, message) => {
    expect(() => resolveFlags({ ...base, overrides: { [flag]: value } })).toThrow(message);
    expect(() => resolveFlags({ ...base, instanceOverrides: { [flag]: value } })).toThrow(message);
  });

  test.each([
    ["pgaudit.log", "ddl"],
    ["pgaudit.log", "role, ddl"],
    ["pgaudit.log", "none"],
    ["pgaudit.log_parameter", "off"],
    ["cron.database_name", "learning_platform"],
  ])("accepts %s = %s", (flag, value) => {
    expect(resolveFlags({ ...base, overrides: { [flag]: value } })[flag]).toBe(value);
  });
});
