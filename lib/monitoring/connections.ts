/**
 * Signal family — Connections and pooling: backends against max_connections, and the managed pooler.
 * The pooler signals stay on both roles: managed pooling is configured per
 * instance (`settings.connectionPoolConfigs`, which replicas and read pools set
 * too) and its requirements name the edition, not the role
 * (https://cloud.google.com/sql/docs/postgres/managed-connection-pooling#requirements).
 * No page found states whether replicas report the pooler metrics; a replica
 * policy that never receives data is the cost if they do not.
 */
import { BOTH, M, SAMPLE_PERIOD_SECONDS, US_PER_MS, levels, series, type Signal } from "./signal";

/** Connection pool utilisation. Source: issue 7 and the platform team's write-up ("> 85% warning / > 90% critical"). */
export const POOL_UTILISATION_WARNING = 0.85;
export const POOL_UTILISATION_CRITICAL = 0.9;

/** This family's signals, in dashboard order. */
export const CONNECTIONS_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "pool-utilisation",
    title: "Backends / max_connections",
    row: "saturation",
    roles: BOTH,
    metrics: [M.backends],
    unit: "10^2.%",
    expr: (c) => `sum(${series(M.backends, c)}) / ${c.maxConnections}`,
    direction: "above",
    levels: levels(POOL_UTILISATION_WARNING, POOL_UTILISATION_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "Server backends are close to `max_connections`; new connections will soon be refused.",
    action: "Find who holds connections (num_backends_by_state: idle in transaction?), check the pooler, shed load or raise the tier.",
    anchor: "connection-pool",
  },
  {
    id: "pool-client-utilisation",
    title: "Pooler client connections / max_client_connections",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolClients],
    unit: "10^2.%",
    expr: (c) => `sum(${series(M.poolClients, c)}) / ${c.pooling?.maxClientConnections ?? 1}`,
    direction: "above",
    levels: levels(POOL_UTILISATION_WARNING, POOL_UTILISATION_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "Client connections to the managed pooler are close to its `max_client_connections`.",
    action: "Check application instance counts and pool sizes against the connection budget; raise lp-db:poolMaxClientConnections if the budget allows.",
    anchor: "connection-pool",
  },
  {
    id: "pool-server-utilisation",
    title: "Pooler server connections / max_pool_size (busiest database)",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolServers],
    unit: "10^2.%",
    // Summed over status per database, then the busiest database; the pool is per database and user, so this is conservative.
    expr: (c) => `max(sum without (status) (${series(M.poolServers, c)})) / ${c.pooling?.maxPoolSize ?? 1}`,
    direction: "above",
    levels: levels(POOL_UTILISATION_WARNING, POOL_UTILISATION_CRITICAL, 2 * SAMPLE_PERIOD_SECONDS, SAMPLE_PERIOD_SECONDS),
    meaning: "The pooler's server connections for one database are close to `max_pool_size`; clients will queue.",
    action: "Look at pooler wait time on the dashboard; shorten transactions or raise lp-db:poolMaxPoolSize within max_connections.",
    anchor: "connection-pool",
  },
  {
    id: "pool-wait",
    title: "Pooler client wait (ms)",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolWait],
    unit: "ms",
    expr: (c) => `max(${series(M.poolWait, c)}) / ${US_PER_MS}`,
    direction: "above",
  },
] satisfies Signal[]);
