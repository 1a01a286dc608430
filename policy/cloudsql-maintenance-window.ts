/** Maintenance happens in a chosen window, not whenever Cloud SQL picks. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, isReplica, readKnown } from "./common";

export const cloudsqlMaintenanceWindow: ResourceValidationPolicy = {
  name: "cloudsql-maintenance-window",
  description: "Cloud SQL primaries set a maintenance window (day and hour), so disruptive updates land in a quiet hour. Replicas are exempt: Cloud SQL maintains them with their primary.",
  enforcementLevel: "advisory",
  severity: "low",
  remediationSteps: "Set `settings.maintenanceWindow.day` (1 = Monday … 7 = Sunday) and `hour` (UTC) from lp-db:maintenanceWindow.",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.sqlInstance || isReplica(args.props)) return;
    const day = readKnown(args.props, "settings", "maintenanceWindow", "day");
    const hour = readKnown(args.props, "settings", "maintenanceWindow", "hour");
    if (typeof day !== "number" || day < 1 || typeof hour !== "number") {
      reportViolation("settings.maintenanceWindow has no day and hour: Cloud SQL may restart the instance at any time of day.");
    }
  },
};
