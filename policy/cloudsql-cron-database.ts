/**
 * pg_cron runs, and records (cron.job_run_details: command and output), its
 * jobs in the one database `cron.database_name` names. It must be a database
 * the stack creates on that instance (a replica's or clone's: on its source),
 * so the partition maintenance runs where the data is and job output stays
 * there. Flag: Cloud SQL "Supported database flags" (cron.database_name,
 * https://cloud.google.com/sql/docs/postgres/flags) and "Configure PostgreSQL
 * extensions" (pg_cron, https://cloud.google.com/sql/docs/postgres/extensions#pg_cron).
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { TYPES, describeResource, isPostgres, readKnown } from "./common";
import { flagsOf } from "./flags";

const DATABASE_TYPE = "gcp:sql/database:Database";

export const cloudsqlCronDatabase: StackValidationPolicy = {
  name: "cloudsql-cron-database",
  description: "A Cloud SQL PostgreSQL instance's cron.database_name names a database the stack creates on it (or on its primary), so pg_cron's jobs and their logged output stay in the application database.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Leave cron.database_name to lib/database-flags.ts, which sets it to lp-db:databaseName; remove the override from lp-db:databaseFlags or the replica's flag.cron.database_name.",
  validateStack: (args, reportViolation) => {
    const databases = args.resources
      .filter((r) => r.type === DATABASE_TYPE)
      .map((r) => ({ instance: readKnown(r.props, "instance"), name: readKnown(r.props, "name") }));
    for (const r of args.resources) {
      if (r.type !== TYPES.sqlInstance || !isPostgres(r.props)) continue;
      const value = flagsOf(r.props).get("cron.database_name");
      if (value === undefined) continue;
      const home = readKnown(r.props, "masterInstanceName") ?? readKnown(r.props, "clone", "sourceInstanceName") ?? readKnown(r.props, "name");
      if (typeof home !== "string") continue; // name not known until the instance exists
      const known = databases.filter((d) => d.instance === home);
      if (known.some((d) => typeof d.name !== "string")) continue; // a name still unknown might match
      if (!known.some((d) => d.name === value)) {
        const names = known.map((d) => String(d.name));
        reportViolation(
          `${describeResource(r)}: database flag cron.database_name is "${value}", which is not a database this stack creates on ${home}` +
            ` (${names.length ? names.join(", ") : "none"}); pg_cron would run and log its jobs there.`,
          r.urn,
        );
      }
    }
  },
};
