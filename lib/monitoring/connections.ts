/**
 * Signal family — Connections and pooling: backends against max_connections,
 * and pressure on the managed pooler.
 *
 * Pool pressure is read where it shows without a denominator: clients waiting
 * and their average wait. `per_database/conn_pool/server_connections` counts
 * server connections per database across all users and all pooler processes,
 * while `max_pool_size` caps one pool (database × user) in one pooler, and the
 * pooler count grows with vCPUs, so no published limit divides it.
 * Source (metrics, labels, units): https://cloud.google.com/sql/docs/postgres/admin-api/metrics,
 * section per_database/conn_pool ("Number of client connections per database
 * grouped by status … 'active' or 'waiting'"; "Average wait time spent by
 * clients waiting for a server connection per database in microseconds").
 * The pooling model (one pool per database and user in each pooler; poolers =
 * vCPUs / 4, at least 1; a client waits when its pool is at max_pool_size and
 * every server connection is busy):
 * https://cloud.google.com/sql/docs/postgres/managed-connection-pooling,
 * "Connection poolers and connection pools".
 *
 * The pooler signals stay on both roles: managed pooling is configured per
 * instance (`settings.connectionPoolConfigs`, which replicas and read pools set
 * too) and its requirements name the edition, not the role
 * (https://cloud.google.com/sql/docs/postgres/managed-connection-pooling#requirements).
 * No page found states whether replicas report the pooler metrics.
 */
import { BOTH, M, SAMPLE_PERIOD_SECONDS, SUSTAINED_SECONDS, US_PER_MS, levels, series, type Signal } from "./signal";

/** Connection pool utilisation. Source: the platform team's write-up, "Alert Conditions" ("> 85% warning / > 90% critical"). */
export const POOL_UTILISATION_WARNING = 0.85;
export const POOL_UTILISATION_CRITICAL = 0.9;
/**
 * Clients waiting: in transaction mode a client waits only while every server
 * connection of its pool is busy, so a short queue in a burst is normal and
 * one that lasts is not. Any waiting client, held for five minutes (warning)
 * or fifteen (critical, the queue never drains).
 */
export const POOL_WAITING_CLIENTS = 0;
export const POOL_WAITING_CRITICAL_SECONDS = 15 * SAMPLE_PERIOD_SECONDS;
/**
 * Average pooler wait, ms. The platform's p95 target is 100 ms (the write-up):
 * a 100 ms wait spends all of it before the query starts; 20 ms a fifth.
 */
export const POOL_WAIT_WARNING_MS = 20;
export const POOL_WAIT_CRITICAL_MS = 100;

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
    id: "pool-clients-waiting",
    title: "Pooler clients waiting for a server connection",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolClients],
    unit: "1",
    // Summed over databases: a client waits only while every server connection of its pool is busy.
    expr: (c) => `sum(${series(M.poolClients, c, { status: "waiting" })})`,
    direction: "above",
    levels: levels(POOL_WAITING_CLIENTS, POOL_WAITING_CLIENTS, SUSTAINED_SECONDS, POOL_WAITING_CRITICAL_SECONDS),
    meaning: "Clients of the managed pooler are queueing for a server connection, and the queue has not drained: a pool is exhausted.",
    action: "Look at pooler wait time and backends on the dashboard; find long transactions (num_backends_by_state), shorten them, or raise lp-db:poolMaxPoolSize within max_connections.",
    anchor: "connection-pool",
  },
  {
    id: "pool-wait",
    title: "Pooler client wait (ms, busiest database)",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolWait],
    unit: "ms",
    expr: (c) => `max(${series(M.poolWait, c)}) / ${US_PER_MS}`,
    direction: "above",
    levels: levels(POOL_WAIT_WARNING_MS, POOL_WAIT_CRITICAL_MS, SUSTAINED_SECONDS),
    meaning: "Clients wait this long on average for a server connection from the managed pooler before their query starts.",
    action: "As for clients waiting: long transactions hold server connections; shorten them or raise lp-db:poolMaxPoolSize within max_connections.",
    anchor: "connection-pool",
  },
  {
    id: "pool-server-connections",
    title: "Pooler server connections by status (all users and poolers)",
    row: "saturation",
    roles: BOTH,
    needsPooling: true,
    metrics: [M.poolServers],
    unit: "1",
    // A tile only: no published limit matches a count across users and poolers.
    expr: (c) => `sum by (status) (${series(M.poolServers, c)})`,
    direction: "above",
  },
] satisfies Signal[]);
