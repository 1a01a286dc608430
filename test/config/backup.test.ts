import { describe, expect, test } from "vitest";
import { parseStack, testRefusals } from "../harness/config";

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
    ["export at the backup window's start", "staging", { exportSchedule: "0 3 * * *" }, /lp-db:exportSchedule = "0 3 \* \* \*": starts at 03:00 UTC, inside the automated backup window 03:00–07:00 UTC \(lp-db:backupStartTime "03:00" \+ 4 h\)/],
    ["export late in the backup window", "prod", { exportSchedule: "59 6 * * 1-5" }, /lp-db:exportSchedule = "59 6 \* \* 1-5": starts at 06:59 UTC, inside .*03:00–07:00/],
    ["export in a window that wraps midnight", "staging", { backupStartTime: "22:30", exportSchedule: "15 1 * * *" }, /starts at 01:15 UTC, inside the automated backup window 22:30–02:30 UTC/],
    ["export every hour", "staging", { exportSchedule: "0 * * * *" }, /lp-db:exportSchedule = "0 \* \* \* \*": starts at 03:00 UTC, inside/],
    ["export hours as a list and a step", "staging", { exportSchedule: "0 1,*/5 * * *" }, /starts at 05:00 UTC, inside/],
    ["export in a zone the check cannot place", "staging", { exportTimeZone: "Europe/Berlin" }, /lp-db:exportTimeZone = "Europe\/Berlin": must be "Etc\/UTC" or "UTC"/],
    ["export minute out of range", "staging", { exportSchedule: "75 23 * * *" }, /lp-db:exportSchedule = "75 23 \* \* \*": minute field "75"/],
  ]);

  test.each([
    ["right after the window", "03:00", "0 7 * * *"],
    ["the evening before", "03:00", "0 23 * * *"],
    ["outside a window that wraps midnight", "22:00", "0 2 * * *"],
  ])("an export %s is accepted", (_label, backupStartTime, exportSchedule) => {
    expect(parseStack("staging", { backupStartTime, exportSchedule }).backup.exportSchedule).toBe(exportSchedule);
  });
});
