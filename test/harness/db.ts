/**
 * A fresh database per test file on the run's embedded server: call
 * `useFreshDatabase()` at the top of a file; it creates the database before
 * the file's tests and drops it after them.
 */
import * as path from "path";
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, expect, inject } from "vitest";

/** Connection settings for the server's superuser, optionally for one database. */
export function serverConfig(database = "postgres"): ClientConfig {
  const pg = inject("pg");
  return { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database };
}

/** A connection URL for the server, optionally as another user. */
export function databaseUrl(database: string, user?: { name: string; password: string }): string {
  const pg = inject("pg");
  const u = user ?? { name: pg.user, password: pg.password };
  return `postgresql://${encodeURIComponent(u.name)}:${encodeURIComponent(u.password)}@${pg.host}:${pg.port}/${database}`;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(config: ClientConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a unique name; returns its name. */
export async function createDatabase(prefix: string): Promise<string> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 40)}_${process.pid}_${Date.now() % 1e6}`;
  await withClient(serverConfig(), (c) => c.query(`CREATE DATABASE "${name}"`));
  return name;
}

/** Drops a database, ending its sessions first. */
export async function dropDatabase(name: string): Promise<void> {
  await withClient(serverConfig(), (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Gives the calling test file its own database; returns a getter for its name. */
export function useFreshDatabase(): () => string {
  let name: string | undefined;
  beforeAll(async () => {
    const file = expect.getState().testPath ?? "test";
    name = await createDatabase(path.basename(file).replace(/\.test\.ts$/, ""));
  });
  afterAll(async () => {
    if (name) await dropDatabase(name);
  });
  return () => {
    if (!name) throw new Error("useFreshDatabase: the database exists only inside tests");
    return name;
  };
}
