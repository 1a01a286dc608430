import { describe } from "vitest";
import { testRefusals } from "../harness/config";

describe("config area backup (export bucket, exports and the recovery drill): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["bad bucket location", "staging", { backupBucketLocation: "us central" }, /lp-db:backupBucketLocation = "us central"/],
    ["soft delete under 7 days", "staging", { backupSoftDeleteDays: 1 }, /lp-db:backupSoftDeleteDays = 1/],
    ["bad export schedule", "staging", { exportSchedule: "daily" }, /lp-db:exportSchedule = "daily": expected a five-field cron expression/],
    ["bad time zone", "staging", { exportTimeZone: "UTC+2 hours" }, /lp-db:exportTimeZone = "UTC\+2 hours"/],
    ["export of another database", "staging", { exportDatabases: ["other_db"] }, /lp-db:exportDatabases = .*may only name databases this stack creates/],
    ["no export database", "staging", { exportDatabases: [] }, /lp-db:exportDatabases = \[\]: name at least one database/],
    ["locked export bucket outside prod", "staging", { backupBucketLocked: true }, /lp-db:backupBucketLocked = true: only a prod stack locks its export bucket/],
    ["drill point in time not RFC3339", "staging", { drillPointInTime: "yesterday" }, /lp-db:drillPointInTime = "yesterday": expected "" \(latest\) or an RFC3339 UTC timestamp/],
    ["bad drill run id", "staging", { drillRunId: "Run 1" }, /lp-db:drillRunId = "Run 1": expected "" or up to 20 lowercase/],
    ["drill point in time in the future", "staging", { drillPointInTime: "2999-01-01T00:00:00Z" }, /lp-db:drillPointInTime = "2999-01-01T00:00:00Z": is in the future/],
    ["drill row bound malformed", "staging", { drillRowBounds: ["users=many"] }, /lp-db:drillRowBounds\[0\] = "users=many": expected "<table>=<min>"/],
    ["drill row bound max under min", "staging", { drillRowBounds: ["users=10..2"] }, /lp-db:drillRowBounds\[0\] = "users=10..2": .*min ≤ max/],
  ]);
});
