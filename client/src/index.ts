/**
 * @lp/db-client: the application side of the stack's connectionManifest.
 * `createDbClient` builds the routed pools and, when the manifest has a cache
 * and the application supplies the AUTH string, the two-level cache.
 */
import { EventEmitter } from "events";
import Redis, { type RedisOptions } from "ioredis";
import type { QueryResultRow } from "pg";
import { QueryCache, type CacheSetOptions } from "./cache";
import type { DbClientEvents } from "./events";
import type { ConnectionManifest, ManifestCache } from "./manifest";
import { Router, type RouterOptions } from "./router";

export * from "./cache";
export * from "./events";
export * from "./manifest";
export * from "./router";

/** Redis commands wait at most this long, so a sick cache degrades to the database instead of stalling. */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

export interface RedisConnectOptions {
  /** The AUTH string, read by the application from the secret the manifest names (cache.authSecretId). */
  readonly authString: string;
  /** Use the read endpoint (replicas) when the manifest has one. @default false */
  readonly useReadEndpoint?: boolean;
  /** Maps the manifest's endpoint to where this process reaches it. @default the manifest's host and port */
  readonly resolve?: (e: { host: string; port: number }) => { host: string; port: number };
  /** TLS server name to verify. @default the endpoint's host */
  readonly servername?: string;
  /** Extra ioredis options. */
  readonly redisOptions?: RedisOptions;
}

/** Connects to Memorystore over TLS, trusting only the manifest's CA, with AUTH. */
export function connectRedis(cache: ManifestCache, opts: RedisConnectOptions): Redis {
  const endpoint = (opts.useReadEndpoint && cache.readEndpoint) || { host: cache.host, port: cache.port };
  const { host, port } = opts.resolve ? opts.resolve(endpoint) : endpoint;
  return new Redis({
    host,
    port,
    password: opts.authString,
    tls: { ca: cache.caCert, servername: opts.servername ?? endpoint.host },
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    ...opts.redisOptions,
  });
}

export interface DbClientOptions extends Omit<RouterOptions, "manifest"> {
  readonly manifest: ConnectionManifest;
  /** The L2 connection; absent means the cache runs in process only. */
  readonly redis?: Redis;
  /** In-process entries kept at most. @default 10000 */
  readonly l1MaxEntries?: number;
}

export interface CachedReadOptions extends CacheSetOptions {
  /** Cache key. @default the SQL text and JSON parameters */
  readonly key?: string;
}

/** Pools, breakers and cache behind one object; every event comes out of `events`. */
export class DbClient {
  readonly router: Router;
  readonly cache: QueryCache;
  readonly events: EventEmitter<DbClientEvents>;

  constructor(opts: DbClientOptions) {
    this.router = new Router(opts);
    this.events = this.router;
    // ioredis reports connection trouble as "error" events; unheard, Node prints them as unhandled.
    opts.redis?.on("error", (e: Error) => this.router.emit("cacheError", { level: "l2", operation: "connection", error: e.message }));
    this.cache = new QueryCache({ redis: opts.redis, ttlSeconds: opts.manifest.cache?.ttlSeconds, l1MaxEntries: opts.l1MaxEntries, events: this.router });
  }

  /** A statement on the primary. */
  write<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]) {
    return this.router.write<R>(sql, params);
  }

  /** A read on the replicas (with failover), uncached. */
  read<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]) {
    return this.router.read<R>(sql, params);
  }

  /** A read through the cache: returns the rows. */
  async cachedRead<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[], opts: CachedReadOptions): Promise<R[]> {
    const key = opts.key ?? `q:${sql}:${JSON.stringify(params)}`;
    return this.cache.getOrLoad(key, opts, async () => (await this.router.read<R>(sql, params)).rows);
  }

  async close(): Promise<void> {
    await this.router.close();
  }
}

export function createDbClient(opts: DbClientOptions): DbClient {
  return new DbClient(opts);
}
