/**
 * Sizes the database tier from the stack's configuration before any resource
 * exists: the flag set of every instance (max_connections follows the tier)
 * and the connection budget across them. A refusal is a configuration error,
 * so `npm run plan` and `pulumi up` stop with the key to change.
 */
import { ConfigError, PROJECT, type StackConfig } from "../config";
import { tierInfo } from "./cloudsql-catalog";
import {
  ConnectionBudgetError,
  MIGRATION_RUNNER_CONNECTIONS,
  PROD_MIN_CLIENT_CAPACITY,
  checkConnectionBudget,
  type BudgetPooling,
  type BudgetReport,
} from "./connection-budget";
import { DatabaseFlagError, maxConnectionsOf, resolveFlags, type FlagSet } from "./database-flags";

/** What the components of the database tier are built from. */
export interface CapacityPlan {
  /** Flags of the primary. */
  readonly primaryFlags: FlagSet;
  /** Flags of each replica, by its config name. */
  readonly replicaFlags: Readonly<Record<string, FlagSet>>;
  /** Flags of the read pool; undefined without one. */
  readonly readPoolFlags?: FlagSet;
  /** Managed pooling limits per instance; undefined when pooling is off. */
  readonly pooling?: BudgetPooling;
  /** The checked connection budget. */
  readonly budget: BudgetReport;
}

/** Runs `fn`, turning a flag or budget refusal into a {@link ConfigError} that names the keys. */
function checked<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DatabaseFlagError) throw new ConfigError([`${PROJECT}:${what}: ${err.message}`]);
    if (err instanceof ConnectionBudgetError) {
      throw new ConfigError(err.problems.map((p) => `connection budget (${PROJECT}:appInstances, appPoolSize, appReadPercent, tier, poolMax*): ${p}`));
    }
    throw err;
  }
}

/** Plans flags and connections for `config`; throws {@link ConfigError} when they do not fit. */
export function planCapacity(config: StackConfig): CapacityPlan {
  const base = { databaseName: config.database.name, overrides: config.instance.flags };
  const primaryFlags = checked("databaseFlags", () => resolveFlags({ ...base, tier: config.instance.tier }));
  const primaryMaxConnections = maxConnectionsOf(primaryFlags);
  const replicaFlags = Object.fromEntries(
    Object.entries(config.replicas).map(([name, r]) => [
      name,
      checked(`replicas (${name})`, () => resolveFlags({ ...base, tier: r.tier, instanceOverrides: r.flags, primaryMaxConnections })),
    ]),
  );
  const readPoolFlags = config.readPool
    ? checked("databaseFlags", () => resolveFlags({ ...base, tier: config.instance.tier, primaryMaxConnections }))
    : undefined;

  const { pooling: poolConfig } = config.instance;
  const pooling = poolConfig.enabled ? { maxClientConnections: poolConfig.maxClientConnections, maxPoolSize: poolConfig.maxPoolSize } : undefined;
  const vcpusOf = (tier: string) => tierInfo(tier)?.vcpus ?? 1;
  const budget = checked("appInstances", () =>
    checkConnectionBudget({
      appInstances: config.capacity.appInstances,
      poolSizePerInstance: config.capacity.poolSizePerInstance,
      readPercent: config.capacity.readPercent,
      minClientCapacity: config.environment === "prod" ? PROD_MIN_CLIENT_CAPACITY : 0,
      instances: [
        {
          name: "primary",
          role: "primary",
          readWeight: 0,
          maxConnections: primaryMaxConnections,
          vcpus: vcpusOf(config.instance.tier),
          nodes: 1,
          pooling,
          otherConnections: MIGRATION_RUNNER_CONNECTIONS,
        },
        ...Object.entries(config.replicas).map(([name, r]) => ({
          name,
          role: "replica" as const,
          readWeight: r.readWeight,
          maxConnections: maxConnectionsOf(replicaFlags[name]),
          vcpus: vcpusOf(r.tier),
          nodes: 1,
          pooling,
        })),
        ...(config.readPool && readPoolFlags
          ? [
              {
                name: "read-pool",
                role: "readPool" as const,
                readWeight: config.readPool.nodeCount,
                maxConnections: maxConnectionsOf(readPoolFlags),
                vcpus: vcpusOf(config.instance.tier),
                nodes: config.readPool.nodeCount,
                pooling,
              },
            ]
          : []),
      ],
    }),
  );
  return { primaryFlags, replicaFlags, readPoolFlags, pooling, budget };
}
