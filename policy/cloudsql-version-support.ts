/** Only PostgreSQL majors the migrations are proven on (as config) and still in Cloud SQL's standard support. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { DATABASE_VERSIONS, SUPPORTED_MAJORS, databaseVersion, inStandardSupport, unsupportedVersionReason } from "../lib/cloudsql-catalog";
import { TYPES, isPostgres, readKnown } from "./common";

export interface VersionSupportConfig {
  /** Date (YYYY-MM-DD) to judge support on; today when unset. */
  readonly asOf?: string;
}

export const cloudsqlVersionSupport: ResourceValidationPolicy = {
  name: "cloudsql-version-support",
  description:
    "Cloud SQL PostgreSQL instances run a major the migrations are tested on (PostgreSQL 14–18, as config accepts) that is still in standard support (not extended support).",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: {
    properties: {
      asOf: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "Judge support on this date instead of today." },
    },
  },
  remediationSteps:
    "Set `databaseVersion` (lp-db:databaseVersion) to a major in standard support; lib/cloudsql-catalog.ts lists each " +
    "major's end of standard support. Upgrade replicas first, then the primary, during the maintenance window.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || !isPostgres(args.props)) return;
    const { asOf } = args.getConfig<VersionSupportConfig>();
    const on = asOf ? new Date(`${asOf}T00:00:00Z`) : new Date();
    const id = readKnown(args.props, "databaseVersion") as string;
    const unsupported = unsupportedVersionReason(id);
    if (unsupported && databaseVersion(id)) {
      reportViolation(`${id}: ${unsupported}.`);
      return;
    }
    if (inStandardSupport(id, on)) return;
    const info = databaseVersion(id);
    const supported = DATABASE_VERSIONS.filter((v) => inStandardSupport(v.id, on) && (SUPPORTED_MAJORS as readonly number[]).includes(v.major)).map((v) => v.id);
    reportViolation(
      info
        ? `${id} has been in extended support (paid, time-limited) since ${info.extendedSupportFrom}; use one of ${supported.join(", ")}.`
        : `${id} is not a Cloud SQL PostgreSQL version this pack knows; use one of ${supported.join(", ")}.`,
    );
  },
};
