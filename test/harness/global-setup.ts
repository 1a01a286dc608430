/**
 * vitest globalSetup: starts the project's one embedded PostgreSQL and tells
 * its test files where it is. Teardown stops it and removes its data, whatever
 * the tests did. The major comes from the project's `pgMajor` (vitest.config.mts:
 * the full suite on the stacks' major, the migration subset on every other).
 */
import type { TestProject } from "vitest/node";
import { STACK_MAJOR, type SupportedMajor } from "../../lib/cloudsql-catalog";
import { startEmbeddedPostgres, type EmbeddedServer } from "./postgres";

/** Returns the teardown: one per project, since projects share this module. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const major = (project.config.provide as { pgMajor?: SupportedMajor } | undefined)?.pgMajor ?? STACK_MAJOR;
  const server: EmbeddedServer = await startEmbeddedPostgres([], major);
  project.provide("pg", { host: server.host, port: server.port, user: server.user, password: server.password, major });
  return () => server.stop();
}


declare module "vitest" {
  export interface ProvidedContext {
    pg: { host: string; port: number; user: string; password: string; major: SupportedMajor };
    /** The PostgreSQL major this project's server runs. */
    pgMajor: SupportedMajor;
  }
}
