/**
 * Every policy of the pack, as plain @pulumi/policy objects. The pack's entry
 * point (index.ts) wires them into a PolicyPack; tests and the offline plan
 * (policy/offline.ts) run them directly, without the Pulumi engine.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { bucketCmek } from "./bucket-cmek";
import { bucketPublicAccessPrevention } from "./bucket-public-access-prevention";
import { bucketUniformAccess } from "./bucket-uniform-access";
import { bucketVersioningOrRetention } from "./bucket-versioning-or-retention";
import { cloudsqlAlertCoverage } from "./cloudsql-alert-coverage";
import { cloudsqlBackups } from "./cloudsql-backups";
import { cloudsqlCisFlags } from "./cloudsql-cis-flags";
import { cloudsqlCmek } from "./cloudsql-cmek";
import { cloudsqlCronDatabase } from "./cloudsql-cron-database";
import { cloudsqlIamAuthentication } from "./cloudsql-iam-authentication";
import { cloudsqlPgauditScope } from "./cloudsql-pgaudit-scope";
import { memorystoreAuth } from "./memorystore-auth";
import { memorystoreCmek } from "./memorystore-cmek";
import { memorystorePrivate } from "./memorystore-private";
import { memorystoreTransitEncryption } from "./memorystore-transit-encryption";
import { cloudsqlMaintenanceWindow } from "./cloudsql-maintenance-window";
import { cloudsqlMigrations } from "./cloudsql-migrations";
import { cloudsqlNoPublicIp } from "./cloudsql-no-public-ip";
import { cloudsqlPrivateNetwork } from "./cloudsql-private-network";
import { cloudsqlProdProtection } from "./cloudsql-prod-protection";
import { cloudsqlQueryInsights } from "./cloudsql-query-insights";
import { cloudsqlTls } from "./cloudsql-tls";
import { cloudsqlVersionSupport } from "./cloudsql-version-support";
import { criticalAlertsSlack } from "./critical-alerts-slack";
import { iamNoPublicMembers } from "./iam-no-public-members";
import { kmsKeyProtected } from "./kms-key-protected";
import { kmsKeyRotation } from "./kms-key-rotation";
import { labelsPresent } from "./labels-present";
import { noPlaintextSecrets } from "./no-plaintext-secrets";
import { secretReplication } from "./secret-replication";
import { sqlUserPasswordSource } from "./sql-user-password-source";

/** One policy of the pack: a resource or a stack validation. */
export type PackPolicy = ResourceValidationPolicy | StackValidationPolicy;

/** The pack's name, as PulumiPolicy.yaml and the CLI know it. */
export const PACK_NAME = "lp-db-security";

export const policies: readonly PackPolicy[] = Object.freeze([
  // Cloud SQL
  cloudsqlCmek,
  cloudsqlNoPublicIp,
  cloudsqlPrivateNetwork,
  cloudsqlTls,
  cloudsqlBackups,
  cloudsqlProdProtection,
  cloudsqlCisFlags,
  cloudsqlPgauditScope,
  cloudsqlIamAuthentication,
  cloudsqlVersionSupport,
  // Cloud Storage
  memorystoreAuth,
  memorystoreTransitEncryption,
  memorystoreCmek,
  memorystorePrivate,
  bucketCmek,
  bucketPublicAccessPrevention,
  bucketUniformAccess,
  bucketVersioningOrRetention,
  // Everywhere
  iamNoPublicMembers,
  noPlaintextSecrets,
  // KMS, Secret Manager, users
  kmsKeyRotation,
  kmsKeyProtected,
  secretReplication,
  sqlUserPasswordSource,
  // Advisory
  cloudsqlMaintenanceWindow,
  cloudsqlQueryInsights,
  labelsPresent,
  // Stack-level
  cloudsqlAlertCoverage,
  cloudsqlMigrations,
  cloudsqlCronDatabase,
  criticalAlertsSlack,
]);
