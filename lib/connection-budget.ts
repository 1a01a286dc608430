/**
 * The stack's connection budget: a pure function that spreads the application's
 * connection pools over the instances and refuses a configuration that would run
 * any instance, or any managed pooler, above {@link MAX_UTILISATION}.
 *
 * Model and assumptions (with sources):
 * - Every application instance holds a pool of `poolSizePerInstance` connections,
 *   split into a write pool (to the primary) and a read pool (`readPercent` of it,
 *   rounded) spread over the readers by read weight. With no reader in rotation,
 *   reads go to the primary. Shares are rounded up, so the budget errs high.
 * - PostgreSQL keeps `superuser_reserved_connections` (default 3) slots that
 *   ordinary logins cannot use (PostgreSQL docs, "Connections and Authentication").
 * - With managed connection pooling, clients connect to the instance's poolers.
 *   Cloud SQL runs one pooler per 4 vCPUs, at least one ("Managed Connection Pooling
 *   overview"); each pooler keeps its own pool of at most `max_pool_size` server
 *   connections per (database, user) pair, and accepts up to `max_client_connections`
 *   clients per instance. The application logs in as one user to one database, so
 *   the server connections it can cause are min(clients, poolers × max_pool_size).
 * - A read pool's nodes each have the tier's max_connections and their own poolers;
 *   the pool's share of reads is spread evenly over its nodes.
 * - Client-connection capacity counts only instances in rotation (the primary and
 *   readers with a weight above 0): a DR replica with weight 0 serves nobody until
 *   it is promoted, so it is reported apart. The usable capacity is that sum at
 *   {@link MAX_UTILISATION}, because the budget refuses anything above it.
 * - A login's CONNECTION LIMIT counts that login's sessions on each server (role
 *   attributes replicate, so the primary's limit holds on every replica and read-pool
 *   node too). The application's login must be allowed the most server connections
 *   it causes on any node ({@link BudgetReport.appLoginConnectionLimit}); a lower
 *   limit makes clients fail with "too many connections for role" while the instance
 *   is still under the ceiling, so the budget refuses it.
 */

/** Highest share of any connection limit the budget allows. Source: the platform's target "connection pool utilisation < 85%". */
export const MAX_UTILISATION = 0.85;
/** Concurrent client connections a prod stack must be able to hold. Source: the platform's "100K+ concurrent connections" target. */
export const PROD_MIN_CLIENT_CAPACITY = 100_000;
/** PostgreSQL's default superuser_reserved_connections. Source: PostgreSQL docs, runtime-config-connection. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;
/** Connections the schema migration runner holds on the primary: the engine in lib/migrate works over one session. */
export const MIGRATION_RUNNER_CONNECTIONS = 1;
/** Cloud SQL runs one managed pooler per this many vCPUs (at least one). Source: Cloud SQL "Managed Connection Pooling overview". */
export const VCPUS_PER_POOLER = 4;

/** Managed pooling settings of one instance. */
export interface BudgetPooling {
  /** `max_client_connections`: clients the instance's poolers accept. */
  readonly maxClientConnections: number;
  /** `max_pool_size`: server connections per pooler per (database, user) pair. */
  readonly maxPoolSize: number;
}

/** One instance (or read pool) the budget spreads connections over. */
export interface BudgetInstance {
  /** Name used in reports and errors. */
  readonly name: string;
  /** The primary takes writes; replicas and read pools take reads by weight. */
  readonly role: "primary" | "replica" | "readPool";
  /** Relative share of reads (0 keeps it out of rotation); ignored for the primary. */
  readonly readWeight: number;
  /** max_connections of each node. */
  readonly maxConnections: number;
  /** vCPUs of each node (sizes the managed poolers). */
  readonly vcpus: number;
  /** Nodes behind this endpoint; 1 except for read pools. */
  readonly nodes: number;
  /** Managed pooling, when enabled on the instance. */
  readonly pooling?: BudgetPooling;
  /** Connections other than the application's on each node (migration runner, agents). */
  readonly otherConnections?: number;
}

/** Inputs of {@link checkConnectionBudget}. */
export interface BudgetInput {
  /** Application instances at peak. */
  readonly appInstances: number;
  /** Connection pool size of each application instance. */
  readonly poolSizePerInstance: number;
  /** Share of each pool used for reads, in percent. */
  readonly readPercent: number;
  /** Exactly one primary, plus readers. */
  readonly instances: readonly BudgetInstance[];
  /** Highest utilisation allowed; defaults to {@link MAX_UTILISATION}. */
  readonly maxUtilisation?: number;
  /** Usable client capacity the stack must reach (prod: {@link PROD_MIN_CLIENT_CAPACITY}); defaults to 0. */
  readonly minClientCapacity?: number;
  /** A fixed CONNECTION LIMIT of the application's login, checked against what the budget plans; undefined when the limit comes from {@link loginConnectionLimits}. */
  readonly appLoginConnectionLimit?: number;
}

/** What the budget found for one instance. */
export interface InstanceBudget {
  readonly name: string;
  readonly role: BudgetInstance["role"];
  /** Share of reads (0..1) this instance takes. */
  readonly readShare: number;
  /** Application connections routed here, over all nodes. */
  readonly clientConnections: number;
  /** Server connections on the busiest node, reserved slots included. */
  readonly serverConnectionsPerNode: number;
  /** Of those, the application login's (what its CONNECTION LIMIT must allow on this node). */
  readonly appServerConnectionsPerNode: number;
  /** max_connections of each node. */
  readonly maxConnections: number;
  /** serverConnectionsPerNode / maxConnections. */
  readonly serverUtilisation: number;
  /** Managed poolers per node; 0 without pooling. */
  readonly poolers: number;
  /** Client connections the poolers accept over all nodes; without pooling, the usable max_connections. */
  readonly clientCapacity: number;
  /** Clients per node / max_client_connections; undefined without pooling. */
  readonly poolerUtilisation?: number;
  /** True when the instance serves application traffic. */
  readonly inRotation: boolean;
}

/** The budget's result. */
export interface BudgetReport {
  /** appInstances × poolSizePerInstance. */
  readonly appConnections: number;
  /** Each application instance's pool, split into writes and reads. */
  readonly perAppInstance: { readonly write: number; readonly read: number };
  readonly instances: readonly InstanceBudget[];
  /** Client connections the instances in rotation accept. */
  readonly clientCapacity: number;
  /** clientCapacity at the utilisation ceiling. */
  readonly usableClientCapacity: number;
  /** Client connections of instances out of rotation (DR replicas). */
  readonly standbyClientCapacity: number;
  readonly maxUtilisation: number;
  /** The application login's CONNECTION LIMIT: its most server connections on any node. */
  readonly appLoginConnectionLimit: number;
}

/** Raised when the budget refuses a configuration; lists every problem. */
export class ConnectionBudgetError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Connection budget refused:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConnectionBudgetError";
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Managed poolers on one node of `vcpus` vCPUs. */
export function poolersFor(vcpus: number): number {
  return Math.max(1, Math.floor(vcpus / VCPUS_PER_POOLER));
}

function checkInputs(input: BudgetInput, maxUtilisation: number): string[] {
  const problems: string[] = [];
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!positiveInt(input.appInstances)) problems.push(`appInstances = ${input.appInstances}: must be a positive integer`);
  if (!positiveInt(input.poolSizePerInstance)) problems.push(`poolSizePerInstance = ${input.poolSizePerInstance}: must be a positive integer`);
  if (!(input.readPercent >= 0 && input.readPercent <= 100)) problems.push(`readPercent = ${input.readPercent}: must be 0 to 100`);
  if (!(maxUtilisation > 0 && maxUtilisation <= 1)) problems.push(`maxUtilisation = ${maxUtilisation}: must be above 0 and at most 1`);
  const primaries = input.instances.filter((i) => i.role === "primary");
  if (primaries.length !== 1) problems.push(`instances: expected exactly one primary, got ${primaries.length}`);
  const names = new Set<string>();
  for (const i of input.instances) {
    if (names.has(i.name)) problems.push(`instance ${i.name}: listed twice`);
    names.add(i.name);
    if (!(i.readWeight >= 0)) problems.push(`instance ${i.name}: readWeight ${i.readWeight} must be 0 or more`);
    if (!positiveInt(i.nodes)) problems.push(`instance ${i.name}: nodes ${i.nodes} must be a positive integer`);
    if (!positiveInt(i.vcpus)) problems.push(`instance ${i.name}: vcpus ${i.vcpus} must be a positive integer`);
    if (!(i.maxConnections > SUPERUSER_RESERVED_CONNECTIONS + (i.otherConnections ?? 0))) {
      problems.push(`instance ${i.name}: max_connections ${i.maxConnections} leaves no room after reserved and other connections`);
    }
    if (i.pooling && !(positiveInt(i.pooling.maxClientConnections) && positiveInt(i.pooling.maxPoolSize))) {
      problems.push(`instance ${i.name}: pooling sizes must be positive integers`);
    }
  }
  return problems;
}

/** How the application's pools split over the instances: per app instance, its write and read connections, and the readers' weights. */
interface ReadShare {
  /** Application instances. */
  readonly appInstances: number;
  /** Read connections per application instance. */
  readonly read: number;
  /** Write connections per application instance. */
  readonly write: number;
  /** Readers in rotation (weight above 0). */
  readonly readers: number;
  /** Sum of those readers' weights. */
  readonly totalWeight: number;
}

/** One instance's share of the connections and its limits; pushes each limit it breaks onto `problems`. */
function instanceBudget(i: BudgetInstance, share: ReadShare, maxUtilisation: number, problems: string[]): InstanceBudget {
  const readShare = i.role === "primary" ? (share.readers === 0 ? 1 : 0) : i.readWeight > 0 ? i.readWeight / share.totalWeight : 0;
  const writes = i.role === "primary" ? share.write : 0;
  const clientConnections = Math.ceil(share.appInstances * (writes + share.read * readShare));
  const perNode = Math.ceil(clientConnections / i.nodes);
  const poolers = i.pooling ? poolersFor(i.vcpus) : 0;
  const fromApp = i.pooling ? Math.min(perNode, poolers * i.pooling.maxPoolSize) : perNode;
  const serverConnectionsPerNode = fromApp + SUPERUSER_RESERVED_CONNECTIONS + (i.otherConnections ?? 0);
  const serverUtilisation = serverConnectionsPerNode / i.maxConnections;
  const poolerUtilisation = i.pooling ? perNode / i.pooling.maxClientConnections : undefined;
  const direct = i.maxConnections - SUPERUSER_RESERVED_CONNECTIONS - (i.otherConnections ?? 0);
  const clientCapacity = (i.pooling ? i.pooling.maxClientConnections : direct) * i.nodes;
  if (serverUtilisation > maxUtilisation) {
    problems.push(
      `instance ${i.name}: ${serverConnectionsPerNode} of max_connections ${i.maxConnections} per node (${pct(serverUtilisation)}) ` +
        `is above ${pct(maxUtilisation)}; lower appInstances × appPoolSize, add replicas, or pick a larger tier`,
    );
  }
  if (poolerUtilisation !== undefined && poolerUtilisation > maxUtilisation) {
    problems.push(
      `instance ${i.name}: ${perNode} client connections per node use ${pct(poolerUtilisation)} of the pooler's ` +
        `max_client_connections ${i.pooling?.maxClientConnections}, above ${pct(maxUtilisation)}; raise poolMaxClientConnections`,
    );
  }
  const inRotation = i.role === "primary" || i.readWeight > 0;
  return {
    name: i.name,
    role: i.role,
    readShare,
    clientConnections,
    serverConnectionsPerNode,
    appServerConnectionsPerNode: fromApp,
    maxConnections: i.maxConnections,
    serverUtilisation,
    poolers,
    clientCapacity,
    poolerUtilisation,
    inRotation,
  };
}

/**
 * Spreads the application's connections over the instances and checks every limit.
 * Returns the report, or throws {@link ConnectionBudgetError} naming each instance
 * over the ceiling and a shortfall in client capacity.
 */
export function checkConnectionBudget(input: BudgetInput): BudgetReport {
  const maxUtilisation = input.maxUtilisation ?? MAX_UTILISATION;
  const inputProblems = checkInputs(input, maxUtilisation);
  if (inputProblems.length > 0) throw new ConnectionBudgetError(inputProblems);

  const read = Math.round((input.poolSizePerInstance * input.readPercent) / 100);
  const write = input.poolSizePerInstance - read;
  const readers = input.instances.filter((i) => i.role !== "primary" && i.readWeight > 0);
  const totalWeight = readers.reduce((sum, i) => sum + i.readWeight, 0);
  const problems: string[] = [];

  const share: ReadShare = { appInstances: input.appInstances, read, write, readers: readers.length, totalWeight };
  const instances = input.instances.map((i) => instanceBudget(i, share, maxUtilisation, problems));

  const clientCapacity = instances.filter((i) => i.inRotation).reduce((sum, i) => sum + i.clientCapacity, 0);
  const standbyClientCapacity = instances.filter((i) => !i.inRotation).reduce((sum, i) => sum + i.clientCapacity, 0);
  const usableClientCapacity = Math.floor(clientCapacity * maxUtilisation);
  const minClientCapacity = input.minClientCapacity ?? 0;
  if (usableClientCapacity < minClientCapacity) {
    problems.push(
      `usable client capacity ${usableClientCapacity} (${clientCapacity} at ${pct(maxUtilisation)}) is below the required ` +
        `${minClientCapacity}; raise poolMaxClientConnections or add readers in rotation`,
    );
  }
  const appLoginConnectionLimit = Math.max(...instances.map((i) => i.appServerConnectionsPerNode));
  const fixed = input.appLoginConnectionLimit;
  if (fixed !== undefined) {
    for (const i of instances.filter((b) => b.appServerConnectionsPerNode > fixed)) {
      problems.push(
        `instance ${i.name}: the application login's CONNECTION LIMIT ${fixed} caps its server connections below the ` +
          `${i.appServerConnectionsPerNode} per node the budget plans; clients would fail with "too many connections for role" ` +
          `before the ${pct(maxUtilisation)} ceiling. Give the login ${appLoginConnectionLimit} (loginConnectionLimits)`,
      );
    }
  }
  if (problems.length > 0) throw new ConnectionBudgetError(problems);
  return Object.freeze({
    appConnections: input.appInstances * input.poolSizePerInstance,
    perAppInstance: Object.freeze({ write, read }),
    instances: Object.freeze(instances.map((i) => Object.freeze(i))),
    clientCapacity,
    usableClientCapacity,
    standbyClientCapacity,
    maxUtilisation,
    appLoginConnectionLimit,
  });
}

/**
 * The CONNECTION LIMIT each application login gets (SchemaMigrations
 * `loginConnectionLimits`): the budget's {@link BudgetReport.appLoginConnectionLimit}.
 * Every login in `appLogins` gets the whole limit, as each may carry all the traffic.
 */
export function loginConnectionLimits(report: Pick<BudgetReport, "appLoginConnectionLimit">, appLogins: readonly string[]): Record<string, number> {
  return Object.fromEntries(appLogins.map((login) => [login, Math.max(1, report.appLoginConnectionLimit)]));
}
