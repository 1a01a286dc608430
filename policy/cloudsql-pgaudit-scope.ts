/**
 * pgAudit logs DDL and role changes only: the read, write, function and misc
 * classes, and pgaudit.log_parameter, copy statement text and parameters (the
 * platform's personal data) into Cloud Logging. Classes: Cloud SQL "Audit for
 * PostgreSQL using pgAudit", https://cloud.google.com/sql/docs/postgres/pg-audit.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PGAUDIT_ALLOWED_CLASSES } from "../lib/database-flags";
import { TYPES, isPostgres } from "./common";
import { flagsOf } from "./flags";

export const cloudsqlPgauditScope: ResourceValidationPolicy = {
  name: "cloudsql-pgaudit-scope",
  description: "Cloud SQL PostgreSQL instances audit DDL and role changes only: pgaudit.log has no read, write, function, misc or all class, and pgaudit.log_parameter is off.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    `Set pgaudit.log to classes among ${PGAUDIT_ALLOWED_CLASSES.join(", ")} (the stack's named set uses "ddl,role") and pgaudit.log_parameter to off, ` +
    "or leave them out; remove the override from lp-db:databaseFlags or the replica's flag.<name> (lib/database-flags.ts).",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || !isPostgres(args.props)) return;
    const flags = flagsOf(args.props);
    const log = flags.get("pgaudit.log");
    if (log !== undefined) {
      const bad = log
        .toLowerCase()
        .split(",")
        .map((c) => c.trim())
        .filter((c) => c !== "" && !c.startsWith("-") && !PGAUDIT_ALLOWED_CLASSES.includes(c));
      if (bad.length) reportViolation(`database flag pgaudit.log is "${log}": class(es) ${bad.join(", ")} log statement text, which carries personal data.`);
    }
    const parameter = flags.get("pgaudit.log_parameter");
    if (parameter !== undefined && parameter.toLowerCase() !== "off") {
      reportViolation(`database flag pgaudit.log_parameter is "${parameter}": statement parameters carry personal data; it must be off.`);
    }
  },
};
