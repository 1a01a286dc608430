/** RecoveryDrill args for tests that build one outside a stack: a valid drill of a prod-like Enterprise Plus primary. */
import type { RecoveryDrillArgs } from "../../components/recovery-drill";

/** A valid RecoveryDrill's args; `overrides` replace whole fields. */
export function drillArgsWith(overrides: Partial<RecoveryDrillArgs> = {}): RecoveryDrillArgs {
  return {
    project: "rds-lms",
    region: "us-central1",
    sourceInstanceName: "learning-platform-prod",
    databaseVersion: "POSTGRES_18",
    edition: "ENTERPRISE_PLUS",
    tier: "db-perf-optimized-N-2",
    primarySettings: undefined,
    privateNetwork: "projects/rds-lms/global/networks/vpc",
    encryptionKeyName: "projects/rds-lms/locations/us-central1/keyRings/r/cryptoKeys/k",
    labels: {},
    database: "learning_platform",
    user: "lp_migrator",
    password: "not-a-real-password",
    expectedLedgerHead: "0".repeat(64),
    rowBounds: {},
    partitionedTables: [],
    partitionMonthsAhead: 3,
    ...overrides,
  };
}
