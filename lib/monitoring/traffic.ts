/** Signal family — Availability and traffic: is the server up, and how much work reaches it. */
import { valueOrZeroWhenSilent } from "./absence";
import { BOTH, M, RATE_WINDOW, SAMPLE_PERIOD_SECONDS, levels, series, type Signal } from "./signal";


/** This family's signals, in dashboard order. */
export const TRAFFIC_SIGNALS: readonly Signal[] = Object.freeze([
  {
    id: "instance-down",
    title: "Server up",
    row: "traffic",
    roles: BOTH,
    metrics: [M.up],
    unit: "1",
    // Silent after reporting counts as down; never reported yet (being created) does not page.
    expr: (c) => valueOrZeroWhenSilent(`min(${series(M.up, c)})`, series(M.up, c)),
    direction: "below",
    levels: levels(1, 1, 0, 2 * SAMPLE_PERIOD_SECONDS),
    meaning: "Cloud SQL reports the PostgreSQL server as not up, or the instance stopped reporting for 5 minutes after it had reported.",
    action: "Check the instance's state and operations in the console; on the primary, follow the failover steps; on a replica, take it out of rotation.",
    anchor: "instance-down",
    runbook: "ha-failover",
  },
  {
    id: "transactions",
    title: "Transactions per second",
    row: "traffic",
    roles: BOTH,
    metrics: [M.transactions],
    unit: "1/s",
    expr: (c) => `sum(rate(${series(M.transactions, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "statements",
    title: "Statements per second",
    row: "traffic",
    roles: BOTH,
    metrics: [M.statements],
    unit: "1/s",
    expr: (c) => `sum(rate(${series(M.statements, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "new-connections",
    title: "New connections per second",
    row: "traffic",
    roles: BOTH,
    metrics: [M.newConnections],
    unit: "1/s",
    expr: (c) => `sum(rate(${series(M.newConnections, c)}[${RATE_WINDOW}]))`,
    direction: "above",
  },
  {
    id: "active-backends",
    title: "Active backends",
    row: "traffic",
    roles: BOTH,
    metrics: [M.backendsByState],
    unit: "1",
    expr: (c) => `sum(${series(M.backendsByState, c, { state: "active" })})`,
    direction: "above",
  },
] satisfies Signal[]);
