/** Every event the client emits, with its payload. */
import type { CircuitState } from "cockatiel";

/** Seed write-up, "Connection pooling": warn at 70 % pool utilisation, critical at 90 %. */
export const POOL_UTILISATION_WARNING = 0.7;
export const POOL_UTILISATION_CRITICAL = 0.9;
/** Seed write-up, "Query monitoring": a query slower than 1 s is reported. */
export const DEFAULT_SLOW_QUERY_MS = 1000;

export type BreakerState = "closed" | "open" | "halfOpen" | "isolated";

export interface BreakerStateChange {
  readonly endpoint: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** The failure that opened the breaker, when it opened on one (message only: never a connection string). */
  readonly reason?: string;
}

export interface SlowQuery {
  readonly endpoint: string;
  readonly durationMs: number;
  readonly thresholdMs: number;
  /** The statement text (parameters are never included). */
  readonly sql: string;
}

export interface PoolAlert {
  readonly endpoint: string;
  readonly level: "warning" | "critical" | "ok";
  /** Connections in use (checked out or waited for) over the pool's size, 0–1+. */
  readonly utilisation: number;
  readonly threshold: number;
}

export interface ReadFailover {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface HealthCheck {
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly durationMs: number;
  readonly error?: string;
}

export interface CacheError {
  readonly level: "l2";
  readonly operation: string;
  readonly error: string;
}

/** Event map for the typed EventEmitter. */
export interface DbClientEvents {
  breakerStateChange: [BreakerStateChange];
  slowQuery: [SlowQuery];
  alert: [PoolAlert];
  failover: [ReadFailover];
  health: [HealthCheck];
  cacheError: [CacheError];
}

export function breakerState(s: CircuitState): BreakerState {
  // cockatiel's CircuitState: 0 Closed, 1 Open, 2 HalfOpen, 3 Isolated.
  return (["closed", "open", "halfOpen", "isolated"] as const)[s];
}
