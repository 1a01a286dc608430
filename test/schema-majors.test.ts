import { expect, inject, test } from "vitest";
import { serverConfig, withClient } from "./harness/db";
test("major", async () => {
  const { rows } = await withClient(serverConfig(), (c) => c.query("SELECT current_setting('server_version_num')::int / 10000 AS major"));
  expect(rows[0].major).toBe(inject("pg").major);
});
