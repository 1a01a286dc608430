/**
 * A throwaway cluster of Debian's PostgreSQL 15 with the real pg_cron and
 * pgAudit preloaded — the builds of both extensions this machine can install
 * (embedded PostgreSQL ships neither). initdb and the server run as the
 * `postgres` OS user, on a free loopback port, in a temporary directory removed
 * on stop; the server log is kept in a file for the pgAudit assertions.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { ClientConfig } from "pg";
import { PG_SUPERUSER, PG_SUPERUSER_PASSWORD, freePort } from "./postgres";

const run = promisify(execFile);

/** Where Debian's postgresql-15 packages put the server and the extensions. */
export const DEBIAN_PG15 = {
  bin: "/usr/lib/postgresql/15/bin",
  /** Debian package → a file it installs. */
  packages: {
    "postgresql-15": "/usr/lib/postgresql/15/bin/postgres",
    "postgresql-15-cron": "/usr/lib/postgresql/15/lib/pg_cron.so",
    "postgresql-15-pgaudit": "/usr/lib/postgresql/15/lib/pgaudit.so",
  },
} as const;

/** The Debian packages this machine lacks for the real-extension suite. */
export function missingDebianPackages(): string[] {
  return Object.entries(DEBIAN_PG15.packages)
    .filter(([, file]) => !fs.existsSync(file))
    .map(([pkg]) => pkg);
}

/** A running Debian PostgreSQL cluster. */
export interface DebianServer {
  /** Connection settings for the superuser on `database`. */
  config(database?: string): ClientConfig;
  /** Everything the server has logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a cluster with `settings` as server parameters (postgresql.conf
 * lines, e.g. shared_preload_libraries). Password logins over loopback;
 * the superuser's password is the embedded harness's test-only one.
 */
export async function startDebianPostgres(settings: Readonly<Record<string, string>>): Promise<DebianServer> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "lp-debpg-"));
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
    await asPostgres(path.join(DEBIAN_PG15.bin, "initdb"), [
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
    await asPostgres(path.join(DEBIAN_PG15.bin, "pg_ctl"), ["-D", data, "-l", logFile, "-w", "-t", "60", "start"]);
  } catch (err) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : "";
    cleanup();
    throw new Error(`Debian PostgreSQL 15 failed to start on port ${port}: ${(err as Error).message}\n${log}`);
  }
  return {
    config: (database = "postgres") => ({ host: "127.0.0.1", port, user: PG_SUPERUSER, password: PG_SUPERUSER_PASSWORD, database }),
    log: () => fs.readFileSync(logFile, "utf8"),
    async stop() {
      try {
        await asPostgres(path.join(DEBIAN_PG15.bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        cleanup();
      }
    },
  };
}
