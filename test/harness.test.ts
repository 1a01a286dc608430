import { describe, expect, test } from "vitest";
import { serverConfig, useFreshDatabase, withClient } from "./harness/db";
import { runStack } from "./harness/stack";

describe("embedded PostgreSQL fixture", () => {
  const database = useFreshDatabase();

  test("serves a fresh database of the stacks' major version", async () => {
    const { rows } = await withClient(serverConfig(database()), (c) =>
      c.query<{ major: string; tables: string }>(
        "SELECT current_setting('server_version_num')::int / 10000 AS major, (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables",
      ),
    );
    expect(Number(rows[0].major)).toBe(18);
    expect(Number(rows[0].tables)).toBe(0);
  });
});

describe("whole-program runner", () => {
  test.each(["prod", "staging"])("runs index.ts for %s and resolves its outputs", async (stack) => {
    const { outputs } = await runStack(stack);
    expect(outputs.environment).toBe(stack);
  });

  test("a bad value fails before any resource is created", async () => {
    await expect(runStack("prod", { overrides: { availabilityType: "ZONAL" } })).rejects.toThrow(/lp-db:availabilityType/);
  });
});
