/**
 * lib/pg-connect.ts: TLS verified against the instance's server CA (a second
 * embedded server with ssl=on and a certificate from a throwaway CA), plain
 * text refused except to loopback when allowed, and secrets scrubbed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clientConfig, connect, isConnectError, isLoopback, scrub, withConnection, type PgTarget } from "../lib/pg-connect";
import { serverConfig } from "./harness/db";
import { startEmbeddedPostgres, type EmbeddedServer } from "./harness/postgres";
import { failed, localInputs, replay } from "./harness/provider";

/** The name the server certificate carries, like Cloud SQL's `project:instance`. */
const SERVER_NAME = "test-project:test-instance";

let dir: string;
let server: EmbeddedServer;
let ca: string;
let otherCa: string;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lp-tls-"));
  fs.chmodSync(dir, 0o755);
  for (const name of ["ca", "other-ca"]) {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=lp test ${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`);
  }
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${SERVER_NAME}`, "-keyout", "server.key", "-out", "server.csr");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "server.pem");
  // The server runs as the `postgres` OS user, which must own a 0600 key.
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  for (const f of ["server.key", "server.pem"]) fs.chownSync(path.join(dir, f), uid, gid);
  fs.chmodSync(path.join(dir, "server.key"), 0o600);
  ca = fs.readFileSync(path.join(dir, "ca.pem"), "utf8");
  otherCa = fs.readFileSync(path.join(dir, "other-ca.pem"), "utf8");
  server = await startEmbeddedPostgres(["ssl=on", `ssl_cert_file=${path.join(dir, "server.pem")}`, `ssl_key_file=${path.join(dir, "server.key")}`]);
});

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const tlsTarget = (overrides: Partial<PgTarget> = {}): PgTarget => ({
  host: server.host,
  port: server.port,
  database: "postgres",
  user: server.user,
  password: server.password,
  serverCa: ca,
  connectTimeoutMs: 5_000,
  ...overrides,
});

/** The ConnectError `promise` rejects with. */
async function rejection(promise: Promise<unknown>): Promise<{ kind: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isConnectError(err)) throw new Error(`expected a ConnectError, got ${String(err)}`);
  return err;
}

describe("TLS", () => {
  test("a server whose certificate the instance's CA signed is accepted, over TLS", async () => {
    const ssl = await withConnection(tlsTarget(), async (c) => (await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0].ssl);
    expect(ssl).toBe(true);
  });

  test("the certificate's name is checked when one is expected", async () => {
    await expect(withConnection(tlsTarget({ serverName: SERVER_NAME }), async () => "ok")).resolves.toBe("ok");
    const err = await rejection(connect(tlsTarget({ serverName: "other-project:other-instance" })));
    expect(err.kind).toBe("tls");
    expect(err.message).toMatch(new RegExp(`certificate is for ${SERVER_NAME}, not other-project:other-instance`));
  });

  test("a server whose certificate comes from another CA is refused", async () => {
    const err = await rejection(connect(tlsTarget({ serverCa: otherCa })));
    expect(err.kind).toBe("tls");
    expect(err.message).toMatch(/TLS verification failed .*not signed by the given server CA/);
    expect(err.message).not.toContain(server.password);
  });

  test("the serialized provider refuses it too, with the same message", async () => {
    const inputs = { ...localInputs("postgres"), host: server.host, port: server.port, user: server.user, password: server.password, serverCa: otherCa, allowPlaintext: false };
    const run = await replay([{ op: "create", args: [inputs] }]);
    expect(failed(run.results[0]).message).toMatch(/TLS verification failed .*not signed by the given server CA/);
    expect(run.output + JSON.stringify(run.results)).not.toContain(server.password);
  });

  test("a server without TLS is refused when a CA is given", async () => {
    const plain = serverConfig();
    const err = await rejection(connect(tlsTarget({ host: plain.host!, port: plain.port })));
    expect(err.kind).toBe("tls");
    expect(err.message).toMatch(/does not accept TLS/);
  });
});

describe("plain text", () => {
  test.each([
    ["no CA and plain text not allowed", { serverCa: undefined }, /refusing a plain-text connection/],
    ["plain text allowed but the host is not loopback", { serverCa: undefined, allowPlaintext: true, host: "10.20.0.5" }, /plain-text connections are allowed only to loopback hosts/],
    ["a CA that is not a PEM certificate", { serverCa: "not a certificate" }, /no server CA certificate \(PEM\)/],
  ])("%s: refused before connecting", (_what, overrides, message) => {
    expect(() => clientConfig(tlsTarget(overrides))).toThrow(message);
  });

  test("plain text to loopback when explicitly allowed", async () => {
    const plain = serverConfig();
    const target = { host: plain.host!, port: plain.port, database: "postgres", user: plain.user!, password: String(plain.password), allowPlaintext: true };
    expect(clientConfig(target).ssl).toBe(false);
    await expect(withConnection(target, async (c) => (await c.query("SELECT 1 AS one")).rows[0].one)).resolves.toBe(1);
  });

  test.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["10.0.0.1", false],
    ["128.0.0.1", false],
    ["db.internal", false],
    ["127.0.0.1.nip.io", false],
  ])("isLoopback(%s) = %s", (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe("scrub", () => {
  test.each([
    ["the secret itself", "auth failed for p@ss w0rd!", ["p@ss w0rd!"], "auth failed for [secret]"],
    ["its URL-encoded form", "postgresql://u:p%40ss%20w0rd!@h/db", ["p@ss w0rd!"], "postgresql://u:[secret]@h/db"],
    ["any URL credential", "postgres://admin:hunter2@10.0.0.3:5432/x", [], "postgres://admin:[secret]@10.0.0.3:5432/x"],
    ["a password= pair", "host=h password='abc def' user=u", [], "host=h password=[secret] user=u"],
    ["nothing secret", "migration 0001 failed at line 3", ["unrelated"], "migration 0001 failed at line 3"],
  ])("removes %s", (_what, text, secrets, expected) => {
    expect(scrub(text, secrets)).toBe(expected);
  });
});
