/** A valid manifest for the client's tests, shaped like index.ts's connectionManifest output. */
export function manifestFixture(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    databaseName: "learning",
    primary: { instanceName: "lp-primary", connectionName: "p:r:lp-primary", privateIp: "10.0.0.2", region: "us-central1", maxConnections: 400 },
    replicas: {
      "read-a": { instanceName: "lp-read-a", connectionName: "p:r:lp-read-a", privateIp: "10.0.0.3", region: "us-central1", readWeight: 1, disasterRecovery: false, maxConnections: 400 },
      dr: { instanceName: "lp-dr", connectionName: "p:r2:lp-dr", privateIp: "10.1.0.3", region: "us-east1", readWeight: 0, disasterRecovery: true, maxConnections: 400 },
    },
    readPool: null,
    pools: {
      managedPooling: true,
      poolMode: "transaction",
      maxClientConnectionsPerInstance: 5000,
      maxPoolSize: 100,
      appPoolSizePerInstance: 20,
      appWritePoolPerInstance: 6,
      appReadPoolPerInstance: 14,
    },
    clientCapacity: { total: 10000, usable: 8500 },
    migrationUser: { name: "lp_migrator", passwordSecretId: "projects/p/secrets/lp-migrator" },
    iamLogins: { app: "app@p.iam" },
    cache: {
      host: "10.2.0.4",
      port: 6378,
      readEndpoint: { host: "10.2.0.5", port: 6378 },
      caCert: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      authSecretId: "projects/p/secrets/lp-cache-auth",
      ttlSeconds: { l1: 60, l2: 300, l3: 1800 },
    },
    ...overrides,
  };
}
