/**
 * The routed connection layer: a write pool on the primary, read pools on the
 * replicas chosen by weight, one cockatiel circuit breaker per endpoint, a
 * periodic health check, and failover for reads.
 *
 * Read order: one positive-weight replica drawn by weight, then the other
 * positive-weight replicas (heaviest first), then the primary, then the
 * weight-0 (disaster-recovery) replicas. The DR replica sits in another
 * region, so it serves reads only when the primary region has nothing left.
 */
import { EventEmitter } from "events";
import { BrokenCircuitError, CircuitBreakerPolicy, ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import { Pool, type PoolConfig, type QueryResult, type QueryResultRow } from "pg";
import {
  DEFAULT_SLOW_QUERY_MS,
  POOL_UTILISATION_CRITICAL,
  POOL_UTILISATION_WARNING,
  breakerState,
  type BreakerState,
  type DbClientEvents,
} from "./events";
import type { ConnectionManifest } from "./manifest";

/** PostgreSQL's default port; Cloud SQL private IP listens on it. */
export const POSTGRES_PORT = 5432;
/** Consecutive connection failures that open an endpoint's breaker. */
export const DEFAULT_BREAKER_FAILURES = 3;
/** How long an open breaker waits before it lets one trial call through. */
export const DEFAULT_HALF_OPEN_AFTER_MS = 5_000;
/** Health-check period per endpoint. */
export const DEFAULT_HEALTH_INTERVAL_MS = 2_000;
/** Bound on connecting, so a dead host fails fast instead of hanging a request. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** Idle connections close after this, so a failed-over pool shrinks back. */
export const IDLE_TIMEOUT_MS = 10_000;

/** Where the application reaches an endpoint; defaults to its private IP on 5432. */
export type EndpointResolver = (endpoint: { readonly name: string; readonly instanceName: string; readonly privateIp: string }) => { host: string; port: number };

export interface RouterOptions {
  /** The stack's connectionManifest (validated: see parseManifest). */
  readonly manifest: ConnectionManifest;
  /** Login, password or IAM token callback, TLS: passed to every pg.Pool. */
  readonly connection: Omit<PoolConfig, "host" | "port" | "max" | "database">;
  /** Maps an endpoint to host and port. @default private IP, port 5432 */
  readonly resolve?: EndpointResolver;
  /** A query at or over this raises `slowQuery`. @default 1000 */
  readonly slowQueryMs?: number;
  /** Consecutive connection failures that open a breaker. @default 3 */
  readonly breakerFailures?: number;
  /** Open-state duration before a trial call. @default 5000 */
  readonly halfOpenAfterMs?: number;
  /** Health-check period; 0 turns the checks off. @default 2000 */
  readonly healthIntervalMs?: number;
  /** Connect timeout per connection. @default 2000 */
  readonly connectTimeoutMs?: number;
}

interface Endpoint {
  readonly name: string;
  readonly role: "primary" | "replica" | "dr";
  readonly weight: number;
  readonly pool: Pool;
  readonly breaker: CircuitBreakerPolicy;
  state: BreakerState;
  alertLevel: "ok" | "warning" | "critical";
}

/** SQLSTATE classes and socket errors that mean the endpoint, not the statement, failed. */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const CONNECTION_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ENOTFOUND"]);
const CONNECTION_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is not open/i;

/** True when an error says the endpoint is unreachable or going away (so another endpoint may serve the call). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof BrokenCircuitError) return true;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === "string" && (CONNECTION_SQLSTATE.test(e.code) || CONNECTION_ERRNO.has(e.code))) return true;
  return typeof e?.message === "string" && CONNECTION_MESSAGE.test(e.message);
}

/** Thrown when no endpoint could serve a call; names every endpoint tried and why. */
export class NoHealthyEndpointError extends Error {
  constructor(readonly attempts: readonly { endpoint: string; error: string }[]) {
    super(`no healthy endpoint: ${attempts.map((a) => `${a.endpoint} (${a.error})`).join(", ")}`);
    this.name = "NoHealthyEndpointError";
  }
}

/** Concurrency limit for reads: the manifest's read budget holds across all read pools together. */
class Semaphore {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(readonly size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

export class Router extends EventEmitter<DbClientEvents> {
  private readonly primary: Endpoint;
  private readonly readers: readonly Endpoint[];
  private readonly readSlots: Semaphore;
  private readonly slowQueryMs: number;
  private healthTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(opts: RouterOptions) {
    super();
    const m = opts.manifest;
    const resolve: EndpointResolver = opts.resolve ?? ((e) => ({ host: e.privateIp, port: POSTGRES_PORT }));
    this.slowQueryMs = opts.slowQueryMs ?? DEFAULT_SLOW_QUERY_MS;
    const make = (name: string, instanceName: string, privateIp: string, role: Endpoint["role"], weight: number, max: number): Endpoint => {
      const pool = new Pool({
        ...opts.connection,
        ...resolve({ name, instanceName, privateIp }),
        database: m.databaseName,
        max,
        idleTimeoutMillis: IDLE_TIMEOUT_MS,
        connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      });
      // An idle client's socket dying (server restart) must not crash the process; the next checkout reconnects.
      pool.on("error", () => undefined);
      const breaker = circuitBreaker(handleWhen(isConnectionError), {
        halfOpenAfter: opts.halfOpenAfterMs ?? DEFAULT_HALF_OPEN_AFTER_MS,
        breaker: new ConsecutiveBreaker(opts.breakerFailures ?? DEFAULT_BREAKER_FAILURES),
      });
      const ep: Endpoint = { name, role, weight, pool, breaker, state: "closed", alertLevel: "ok" };
      let lastFailure: string | undefined;
      breaker.onFailure((f) => {
        if ("error" in f.reason) lastFailure = (f.reason.error as Error).message;
      });
      breaker.onStateChange((s) => {
        const to = breakerState(s);
        const from = ep.state;
        ep.state = to;
        this.emit("breakerStateChange", { endpoint: name, from, to, ...(to === "open" && lastFailure ? { reason: lastFailure } : {}) });
      });
      return ep;
    };
    this.primary = make("primary", m.primary.instanceName, m.primary.privateIp, "primary", 0, m.pools.appWritePoolPerInstance);
    const readBudget = m.pools.appReadPoolPerInstance;
    this.readSlots = new Semaphore(readBudget);
    // Each read pool may grow to the whole read budget (after failover one endpoint takes every read);
    // the semaphore keeps the sum of reads in flight within the budget.
    const readers = Object.entries(m.replicas).map(([name, r]) => make(name, r.instanceName, r.privateIp, r.readWeight > 0 ? "replica" : "dr", r.readWeight, readBudget));
    if (m.readPool) readers.push(make("read-pool", m.readPool.instanceName, m.readPool.privateIp, m.readPool.readWeight > 0 ? "replica" : "dr", m.readPool.readWeight, readBudget));
    this.readers = readers;
    const interval = opts.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    if (interval > 0) {
      this.healthTimer = setInterval(() => void this.checkHealth(), interval);
      this.healthTimer.unref();
    }
  }

  /** Every endpoint's breaker state. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([this.primary, ...this.readers].map((e) => [e.name, e.state]));
  }

  /** A statement on the primary (writes, and reads that must see the latest write). */
  async write<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.run<R>(this.primary, sql, params);
  }

  /** A read on the replicas, failing over as the module comment describes. */
  async read<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    await this.readSlots.acquire();
    try {
      const attempts: { endpoint: string; error: string }[] = [];
      const order = this.readOrder();
      for (let i = 0; i < order.length; i++) {
        const ep = order[i];
        if (ep.state === "open" || ep.state === "isolated") {
          attempts.push({ endpoint: ep.name, error: "circuit open" });
          continue;
        }
        try {
          return await this.run<R>(ep, sql, params);
        } catch (err) {
          if (!isConnectionError(err)) throw err;
          const reason = (err as Error).message;
          attempts.push({ endpoint: ep.name, error: reason });
          const next = order.slice(i + 1).find((e) => e.state !== "open" && e.state !== "isolated");
          if (next) this.emit("failover", { from: ep.name, to: next.name, reason });
        }
      }
      throw new NoHealthyEndpointError(attempts);
    } finally {
      this.readSlots.release();
    }
  }

  /** Checks every endpoint once with `SELECT 1` through its breaker (so a half-open breaker gets its trial). */
  async checkHealth(): Promise<void> {
    await Promise.all(
      [this.primary, ...this.readers].map(async (ep) => {
        // Open breakers are probed too: cockatiel half-opens only when a call arrives after halfOpenAfter,
        // and before then it rejects at once without touching the server.
        if (this.closed) return;
        const t0 = performance.now();
        try {
          await ep.breaker.execute(() => ep.pool.query("SELECT 1"));
          this.emit("health", { endpoint: ep.name, healthy: true, durationMs: performance.now() - t0 });
        } catch (err) {
          this.emit("health", { endpoint: ep.name, healthy: false, durationMs: performance.now() - t0, error: (err as Error).message });
        }
      }),
    );
  }

  /** Pool sizes and use per endpoint. */
  poolStats(): Record<string, { total: number; idle: number; waiting: number; max: number }> {
    return Object.fromEntries(
      [this.primary, ...this.readers].map((e) => [e.name, { total: e.pool.totalCount, idle: e.pool.idleCount, waiting: e.pool.waitingCount, max: e.pool.options.max as number }]),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.all([this.primary, ...this.readers].map((e) => e.pool.end()));
  }

  private readOrder(): Endpoint[] {
    const weighted = this.readers.filter((e) => e.weight > 0 && e.state !== "open" && e.state !== "isolated");
    const first = pickWeighted(weighted);
    const rest = this.readers.filter((e) => e.weight > 0 && e !== first).sort((a, b) => b.weight - a.weight);
    const dr = this.readers.filter((e) => e.weight === 0);
    return [...(first ? [first] : []), ...rest, this.primary, ...dr];
  }

  private async run<R extends QueryResultRow>(ep: Endpoint, sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    const t0 = performance.now();
    const result = await ep.breaker.execute(async () => {
      this.checkUtilisation(ep, 1);
      try {
        return await ep.pool.query<R>(sql, params as unknown[] | undefined);
      } finally {
        this.checkUtilisation(ep, 0);
      }
    });
    const durationMs = performance.now() - t0;
    if (durationMs >= this.slowQueryMs) this.emit("slowQuery", { endpoint: ep.name, durationMs, thresholdMs: this.slowQueryMs, sql });
    return result;
  }

  /** Raises `alert` when an endpoint's pool crosses 70 % or 90 % in use, and `ok` when it falls back under 70 %. */
  private checkUtilisation(ep: Endpoint, starting: number): void {
    const max = ep.pool.options.max as number;
    const inUse = ep.pool.totalCount - ep.pool.idleCount + ep.pool.waitingCount + starting;
    const utilisation = inUse / max;
    const level = utilisation >= POOL_UTILISATION_CRITICAL ? "critical" : utilisation >= POOL_UTILISATION_WARNING ? "warning" : "ok";
    if (level === ep.alertLevel) return;
    ep.alertLevel = level;
    const threshold = level === "critical" ? POOL_UTILISATION_CRITICAL : POOL_UTILISATION_WARNING;
    this.emit("alert", { endpoint: ep.name, level, utilisation, threshold });
  }
}

/** Draws one endpoint with probability proportional to its weight. */
function pickWeighted(eps: readonly Endpoint[]): Endpoint | undefined {
  const total = eps.reduce((s, e) => s + e.weight, 0);
  let r = Math.random() * total;
  for (const e of eps) {
    r -= e.weight;
    if (r < 0) return e;
  }
  return eps[eps.length - 1];
}
