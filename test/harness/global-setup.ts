/**
 * vitest globalSetup: starts the run's one embedded PostgreSQL and tells the
 * test files where it is. Teardown stops it and removes its data, whatever
 * the tests did.
 */
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres, type EmbeddedServer } from "./postgres";

let server: EmbeddedServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startEmbeddedPostgres();
  project.provide("pg", { host: server.host, port: server.port, user: server.user, password: server.password });
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    pg: { host: string; port: number; user: string; password: string };
  }
}
