/**
 * A database belongs to one stack: the first apply records the stack, and an
 * apply for another stack (the CLI's --stack, or the provider's `stack` input)
 * is refused before anything is written, naming both.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { main as migrateCli } from "../scripts/migrate";
import { createCloudSqlDatabase, MIGRATOR, migratorConfig } from "./harness/cloudsql";
import { databaseUrl, dropDatabase, serverConfig, withClient } from "./harness/db";
import { failed, localInputs, ok, replay } from "./harness/provider";

const databases: string[] = [];
const fresh = async (prefix: string) => {
  const db = await createCloudSqlDatabase(prefix);
  databases.push(db);
  return db;
};
const PROD_LOGINS = ["lp-app@rds-lms.iam", "lp-analytics@rds-lms.iam"];
beforeAll(async () => {
  await withClient(serverConfig(), async (c) => {
    for (const l of PROD_LOGINS) await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${l}') THEN CREATE ROLE "${l}" LOGIN; END IF; END $$`);
  });
});
afterAll(async () => {
  for (const db of databases) await dropDatabase(db);
});

/** Everything a wrong-stack run could write: the settings maintenance reads, the ledger, the binding. */
const state = (db: string) =>
  withClient(migratorConfig(db), async (c) => ({
    settings: (await c.query("SELECT parent_table, months_ahead, retention_months FROM lp_ops.partition_settings ORDER BY 1")).rows,
    ledger: (await c.query("SELECT name FROM lp_meta.schema_ledger ORDER BY 1")).rows.length,
    binding: (await c.query("SELECT stack FROM lp_meta.stack_binding")).rows,
    partitions: (await c.query("SELECT count(*)::int AS n FROM pg_inherits")).rows[0].n,
  }));

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await migrateCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("npm run migrate --stack", () => {
  test("a prod database refuses --stack staging before writing staging's retention", async () => {
    const db = await fresh("bind_cli");
    const url = ["--database-url", databaseUrl(db, MIGRATOR), "--allow-plaintext"];
    const first = await cli([...url, "--stack", "prod"]);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    const before = await state(db);
    expect(before.binding).toEqual([{ stack: "prod" }]);
    expect(before.settings).toContainEqual(expect.objectContaining({ parent_table: "analytics_events", retention_months: 13 }));

    const wrong = await cli([...url, "--stack", "staging"]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/bound to stack "prod".*refusing .*stack "staging"/s);
    expect(await state(db)).toEqual(before);

    const again = await cli([...url, "--stack", "prod"]);
    expect(again.code).toBe(0);
  });

  test("--dry-run for another stack says so and writes nothing", async () => {
    const db = await fresh("bind_cli_dry");
    const url = ["--database-url", databaseUrl(db, MIGRATOR), "--allow-plaintext"];
    expect((await cli([...url, "--stack", "prod"])).code).toBe(0);
    const r = await cli([...url, "--stack", "staging", "--dry-run"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bound to stack "prod"/);
  });
});

describe("the provider", () => {
  test("an apply for another stack fails naming both stacks, and changes nothing", async () => {
    const db = await fresh("bind_provider");
    const prod = localInputs(db, { stack: "prod", maintenance: { monthsAhead: 2, retentionMonths: { analytics_events: 13, audit_log: 84 } } });
    const staging = localInputs(db, { stack: "staging", maintenance: { monthsAhead: 1, retentionMonths: { analytics_events: 3, audit_log: 12 } } });
    ok((await replay([{ op: "create", args: [prod] }])).results[0]);
    const before = await state(db);
    expect(before.binding).toEqual([{ stack: "prod" }]);
    const r = await replay([
      { op: "create", args: [staging] },
      { op: "update", args: ["id", prod, staging] },
    ]);
    for (const result of r.results) expect(failed(result).message).toMatch(/bound to stack "prod".*refusing .*stack "staging"/s);
    expect(await state(db)).toEqual(before);
  });

  test("check refuses a missing or malformed stack name", async () => {
    const r = await replay([
      { op: "check", args: [{}, { ...localInputs("x"), stack: undefined }] },
      { op: "check", args: [{}, { ...localInputs("x"), stack: "prod stack!" }] },
    ]);
    expect(ok(r.results[0]).failures).toEqual([expect.objectContaining({ property: "stack" })]);
    expect(ok(r.results[1]).failures).toEqual([expect.objectContaining({ property: "stack" })]);
  });
});
