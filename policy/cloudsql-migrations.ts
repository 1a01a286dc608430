/** Every primary's schema is managed: a migrations resource is built on it. */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { TYPES, describeResource, isRecoveryDrillClone, isReplica, isWithin, transitiveDependencies } from "./common";

export interface MigrationsConfig {
  /** Type tokens of migrations resources (the component or its dynamic resource). */
  readonly migrationTypes: readonly string[];
}

/**
 * Type tokens for schema migrations: a component's, and the one the
 * SchemaMigrations dynamic resource registers (`pulumi-nodejs:dynamic/<module>:<type>`,
 * SCHEMA_MIGRATIONS_TYPE in components/schema-migrations.ts).
 */
export const DEFAULT_MIGRATION_TYPES: readonly string[] = Object.freeze([
  "lp:database:SchemaMigrations",
  "pulumi-nodejs:dynamic/lp/database:SchemaMigrations",
]);

/** A plain `pulumi.dynamic.Resource` counts when its name says it migrates. */
const MIGRATION_NAME = /migrat/i;

function isMigrations(r: PolicyResource, types: readonly string[]): boolean {
  return types.includes(r.type) || (r.type === TYPES.dynamicResource && MIGRATION_NAME.test(r.name));
}

export const cloudsqlMigrations: StackValidationPolicy = {
  name: "cloudsql-migrations",
  description: "Every Cloud SQL primary has a schema-migrations resource that depends on it (directly or through its database and users); recovery-drill clones are exempt.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: {
    properties: {
      migrationTypes: { type: "array", items: { type: "string" }, default: [...DEFAULT_MIGRATION_TYPES], description: "Type tokens of migrations resources." },
    },
  },
  remediationSteps:
    "Create the SchemaMigrations component (components/schema-migrations.ts) for the primary, passing it the instance " +
    "(or its database and migration user) so that it depends on them.",
  validateStack: (args, reportViolation) => {
    const migrationTypes = args.getConfig<Partial<MigrationsConfig>>().migrationTypes ?? DEFAULT_MIGRATION_TYPES;
    const migrations = args.resources.filter((r) => isMigrations(r, migrationTypes));
    // A component's own dependencies are only its explicit dependsOn, so include its children's.
    const covered = new Set<PolicyResource>();
    for (const m of migrations) {
      for (const r of args.resources.filter((x) => isWithin(x, m))) {
        for (const dep of transitiveDependencies(r)) covered.add(dep);
      }
    }
    for (const primary of args.resources.filter((r) => r.type === TYPES.sqlInstance && !isReplica(r.props) && !isRecoveryDrillClone(r.props))) {
      if (!covered.has(primary)) {
        reportViolation(`${describeResource(primary)} has no migrations resource depending on it.`, primary.urn);
      }
    }
  },
};
