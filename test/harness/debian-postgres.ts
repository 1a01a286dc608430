/**
 * A throwaway cluster of Debian's PostgreSQL 15 with the real pg_cron and
 * pgAudit preloaded — the builds of both extensions this machine can install
 * (embedded PostgreSQL ships neither). initdb and the server run as the
 * `postgres` OS user, on a free loopback port, in a temporary directory removed
 * on stop; the server log is kept in a file for the pgAudit assertions.
 */
import * as fs from "fs";
import { startCluster, type Cluster } from "./cluster";
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
export type DebianServer = Cluster;

/** Starts Debian's PostgreSQL 15 with `settings` as server parameters (e.g. shared_preload_libraries). */
export function startDebianPostgres(settings: Readonly<Record<string, string>>): Promise<DebianServer> {
  return startCluster(DEBIAN_PG15.bin, settings, "Debian PostgreSQL 15");
}
