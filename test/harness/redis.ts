/**
 * A real Redis per test file: Debian's redis-server on a free loopback port
 * with `requirepass`, optionally TLS-only with a CA and server certificate
 * made for the run by openssl. `redisServerMissing` says why a suite cannot run.
 */
import { execFileSync, spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "./postgres";

export const REDIS_SERVER = "redis-server";
export const INSTALL_HINT = "install Debian's redis-server (apt-get install -y redis-server) to run the client's cache tests";

/** Why Redis tests cannot run here, or undefined when they can. */
export function redisServerMissing(): string | undefined {
  try {
    execFileSync(REDIS_SERVER, ["--version"], { stdio: "pipe" });
    return undefined;
  } catch {
    return `${REDIS_SERVER} is not on PATH: ${INSTALL_HINT}`;
  }
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  /** PEM of the CA that signed the server's certificate (TLS servers only). */
  readonly caPem?: string;
  stop(): Promise<void>;
}

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const ca = path.join(dir, "ca.pem");
  const caKey = path.join(dir, "ca.key");
  const key = path.join(dir, "server.key");
  const csr = path.join(dir, "server.csr");
  const cert = path.join(dir, "server.pem");
  const ext = path.join(dir, "ext.cnf");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=lp-test-ca", "-keyout", caKey, "-out", ca]);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr]);
  fs.writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  run(["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert]);
  return { ca, cert, key };
}

/** Starts redis-server (no persistence) and resolves when it accepts connections. */
export async function startRedis(opts: { tls?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lp-redis-"));
  const password = `test-${Math.random().toString(36).slice(2)}`;
  const args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", password];
  let caPem: string | undefined;
  if (opts.tls) {
    const c = makeCerts(dir);
    caPem = fs.readFileSync(c.ca, "utf8");
    args.push("--port", "0", "--tls-port", String(port), "--tls-cert-file", c.cert, "--tls-key-file", c.key, "--tls-ca-cert-file", c.ca, "--tls-auth-clients", "no");
  } else {
    args.push("--port", String(port));
  }
  const proc: ChildProcess = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout?.on("data", (d) => (log += String(d)));
  proc.stderr?.on("data", (d) => (log += String(d)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${log}`)), 10_000);
    const check = setInterval(() => {
      if (/Ready to accept connections/.test(log)) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    proc.once("exit", (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${log}`));
    });
  });
  return {
    host: "127.0.0.1",
    port,
    password,
    caPem,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
