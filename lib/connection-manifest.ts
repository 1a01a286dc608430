/**
 * The connection manifest: what applications read through a StackReference to
 * find the tier (endpoints, read weights, pool sizes, secret ids, never secret
 * values). The client package (client/) reads exactly this shape.
 */
import { CACHE_TTL_SECONDS, type StackConfig } from "../config";
import type { CacheInstance } from "../components/cache-instance";
import type { DatabaseAccess } from "../components/database-users";
import type { PrimaryInstance } from "../components/primary-instance";
import type { ReadPool } from "../components/read-pool";
import type { ReadReplica } from "../components/read-replica";
import type { BudgetReport } from "./connection-budget";

/** The components and the connection plan the manifest describes. */
export interface ConnectionManifestSources {
  /** The database, the migration user and the IAM logins. */
  readonly access: DatabaseAccess;
  /** The primary instance. */
  readonly primary: PrimaryInstance;
  /** Read replicas by their stable config name. */
  readonly replicas: Readonly<Record<string, ReadReplica>>;
  /** The read pool. @default undefined (none: the manifest's readPool is null) */
  readonly readPool?: ReadPool;
  /** The query cache. @default undefined (none: the manifest's cache is null) */
  readonly cache?: CacheInstance;
  /** The connection budget the pools are sized from (lib/connection-budget). */
  readonly budget: Pick<BudgetReport, "perAppInstance" | "clientCapacity" | "usableClientCapacity">;
}

/** The manifest as a stack output: `config` gives the pooling settings and the application's pool size. */
export function connectionManifestOf(config: Pick<StackConfig, "instance" | "capacity">, sources: ConnectionManifestSources) {
  const { access, primary, replicas, readPool, cache, budget } = sources;
  const pooling = config.instance.pooling;
  return {
    databaseName: access.databaseName,
    primary: {
      instanceName: primary.instanceName,
      connectionName: primary.connectionName,
      privateIp: primary.privateIp,
      region: primary.region,
      maxConnections: primary.maxConnections,
    },
    replicas: Object.fromEntries(
      Object.entries(replicas).map(([replicaName, r]) => [
        replicaName,
        {
          instanceName: r.instanceName,
          connectionName: r.connectionName,
          privateIp: r.privateIp,
          region: r.region,
          readWeight: r.readWeight,
          disasterRecovery: r.disasterRecovery,
          maxConnections: r.maxConnections,
        },
      ]),
    ),
    readPool: readPool
      ? {
          instanceName: readPool.instanceName,
          connectionName: readPool.connectionName,
          privateIp: readPool.privateIp,
          readWeight: readPool.readWeight,
          nodeCount: readPool.nodeCount,
          maxNodeCount: readPool.maxNodeCount,
        }
      : null,
    pools: {
      managedPooling: pooling.enabled,
      poolMode: pooling.mode,
      maxClientConnectionsPerInstance: pooling.maxClientConnections,
      maxPoolSize: pooling.maxPoolSize,
      appPoolSizePerInstance: config.capacity.poolSizePerInstance,
      appWritePoolPerInstance: budget.perAppInstance.write,
      appReadPoolPerInstance: budget.perAppInstance.read,
    },
    clientCapacity: { total: budget.clientCapacity, usable: budget.usableClientCapacity },
    migrationUser: { name: access.migrationUserName, passwordSecretId: access.migrationSecretId },
    iamLogins: Object.fromEntries(Object.entries(access.iamLogins).map(([k, v]) => [k, v.login])),
    cache: cache
      ? {
          host: cache.host,
          port: cache.port,
          readEndpoint: cache.readEndpoint ?? null,
          caCert: cache.caCert,
          authSecretId: cache.authSecretId,
          ttlSeconds: CACHE_TTL_SECONDS,
        }
      : null,
  };
}
