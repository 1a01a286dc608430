/**
 * Runs the SchemaMigrations dynamic provider the way Pulumi does, from a
 * vitest test: {@link serializedProvider} serializes it in a plain `node`
 * child with ts-node (provider-child.ts), and {@link replay} runs the
 * serialized text in a fresh Node process without ts-node
 * (provider-replay.cjs), passing every argument through protobuf Struct like
 * the gRPC wire does. Connection details reach the child through its argv files.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { afterAll, inject } from "vitest";
import { ROOT } from "../../lib/mock-runtime";
import { loadMigrations, parseMigration } from "../../lib/migrate/files";
import type { MigrationInput, SchemaMigrationsInputs } from "../../lib/migrate/inputs";
import { MIGRATOR } from "./cloudsql";

const run = promisify(execFile);

/** One provider call and its arguments, e.g. `{ op: "diff", args: [id, olds, news] }`. */
export interface Op {
  readonly op: "check" | "diff" | "create" | "update" | "read" | "delete";
  readonly args: readonly unknown[];
}

/** A call's result; errors keep only what crosses the gRPC boundary (name and message). */
export type OpResult = { ok: true; value: any } | { ok: false; error: { name: string; message: string } }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What one replay process produced. */
export interface Replay {
  readonly results: OpResult[];
  /** Everything the process printed, then every console line the provider wrote. */
  readonly output: string;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "lp-provider-"));
// Registered while the importing test file is collected, so it runs after that file's tests.
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
let serialized: Promise<string> | undefined;

/** Path of a file holding the serialized provider (serialized once per test file). */
export function serializedProvider(): Promise<string> {
  serialized ??= (async () => {
    const file = path.join(scratch, "provider.js");
    await run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "test/harness/provider-child.ts"), file], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    return file;
  })();
  return serialized;
}

let seq = 0;

/** Runs `ops` in order in one fresh Node process against the serialized provider. */
export async function replay(ops: readonly Op[]): Promise<Replay> {
  const provider = await serializedProvider();
  const id = `${process.pid}-${++seq}`;
  const opsFile = path.join(scratch, `ops-${id}.json`);
  const resultsFile = path.join(scratch, `results-${id}.json`);
  fs.writeFileSync(opsFile, JSON.stringify(ops));
  const child = spawn(process.execPath, [path.join(ROOT, "test/harness/provider-replay.cjs"), provider, opsFile, resultsFile], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`provider replay exited with ${code}:\n${output}`);
  const { results, log } = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as { results: OpResult[]; log: string[] };
  return { results, output: `${output}\n${log.join("\n")}` };
}

/** The value of a successful call; throws with the error otherwise. */
export function ok(result: OpResult | undefined): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!result) throw new Error("no result");
  if (!result.ok) throw new Error(`provider call failed: ${result.error.name}: ${result.error.message}`);
  return result.value;
}

/** The error of a failed call; throws if it succeeded. */
export function failed(result: OpResult | undefined): { name: string; message: string } {
  if (!result) throw new Error("no result");
  if (result.ok) throw new Error(`expected the call to fail, got ${JSON.stringify(result.value).slice(0, 300)}`);
  return result.error;
}

/** The repo's migrations as provider inputs. */
export function repoMigrations(): MigrationInput[] {
  return loadMigrations().map((m) => ({ name: m.name, sha256: m.sha256, sql: m.sql }));
}

/** A test-only migration (numbered after the repo's) from its Up SQL. */
export function testMigration(name: string, up: string, options: { noTransaction?: boolean } = {}): MigrationInput {
  const text = `${options.noTransaction ? "-- lp:no-transaction\n" : ""}-- Up Migration\n${up}\n`;
  const m = parseMigration(name, text);
  return { name: m.name, sha256: m.sha256, sql: m.sql };
}

/** Provider inputs for the embedded server's `database`, as the Cloud SQL-like migrator, plain text over loopback. */
export function localInputs(database: string, overrides: Partial<SchemaMigrationsInputs> = {}): SchemaMigrationsInputs {
  const pg = inject("pg");
  return {
    stack: "test",
    host: pg.host,
    port: pg.port,
    database,
    user: MIGRATOR.name,
    password: MIGRATOR.password,
    allowPlaintext: true,
    migrations: repoMigrations(),
    memberships: {},
    maintenance: { monthsAhead: 2, retentionMonths: {} },
    tuning: { lockTimeoutMs: 30_000, maxAttempts: 3, connectTimeoutMs: 5_000, retryBaseMs: 50 },
    ...overrides,
  };
}
