/**
 * The PostgreSQL flags of the CIS Google Cloud Platform Foundation Benchmark
 * (v3.0.0, section 6.2), with the values both CIS and checkov accept.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isPostgres } from "./common";
import { flagsOf } from "./flags";

/**
 * Flag → accepted values (lowercase). Where CIS and checkov differ, the
 * intersection: a value must satisfy both. See policy/README.md for the sources.
 */
export const CIS_POSTGRES_FLAGS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  // CIS 6.2.1 "DEFAULT or stricter" (terse logs less detail); checkov has no check.
  log_error_verbosity: ["default", "terse"],
  // CIS 6.2.2; checkov CKV_GCP_52.
  log_connections: ["on"],
  // CIS 6.2.3; checkov CKV_GCP_53.
  log_disconnections: ["on"],
  // CIS 6.2.4 recommends ddl; checkov CKV_GCP_107 accepts ddl, mod, all.
  log_statement: ["ddl"],
  // CIS 6.2.5 "at minimum WARNING"; checkov CKV_GCP_55 accepts any valid level.
  log_min_messages: ["warning", "error", "log", "fatal", "panic"],
  // CIS 6.2.6 "ERROR or stricter" (error, log, fatal, panic); checkov CKV_GCP_109 accepts debug5…error.
  log_min_error_statement: ["error"],
  // CIS 6.2.7; checkov CKV_GCP_57.
  log_min_duration_statement: ["-1"],
  // CIS 6.2.8; checkov CKV_GCP_110.
  "cloudsql.enable_pgaudit": ["on"],
});

export const cloudsqlCisFlags: ResourceValidationPolicy = {
  name: "cloudsql-cis-flags",
  description: "Cloud SQL PostgreSQL instances set the CIS 6.2 logging and auditing flags to values CIS and checkov both accept.",
  enforcementLevel: "mandatory",
  severity: "medium",
  remediationSteps:
    "Set each flag in `settings.databaseFlags` explicitly: " +
    Object.entries(CIS_POSTGRES_FLAGS)
      .map(([flag, values]) => `${flag}=${values.join("|")}`)
      .join(", ") +
    ". lib/database-flags.ts holds the stack's named set (CIS_FLAGS); do not override these flags in lp-db:databaseFlags or a replica's flag.<name>.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || !isPostgres(args.props)) return;
    const flags = flagsOf(args.props);
    for (const [flag, accepted] of Object.entries(CIS_POSTGRES_FLAGS)) {
      const value = flags.get(flag)?.toLowerCase();
      if (value === undefined) {
        reportViolation(`database flag ${flag} is not set: set it to ${accepted.join(" or ")}.`);
      } else if (!accepted.includes(value)) {
        reportViolation(`database flag ${flag} is "${value}": it must be ${accepted.join(" or ")}.`);
      }
    }
  },
};
