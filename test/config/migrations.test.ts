import { describe } from "vitest";
import { testRefusals } from "../harness/config";

describe("config area migrations (migrations and partition maintenance): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["unknown migration connection", "staging", { migrationConnection: "ssh" }, /lp-db:migrationConnection = "ssh"/],
    ["partitions ahead out of range", "staging", { partitionMonthsAhead: 0 }, /lp-db:partitionMonthsAhead = 0/],
    ["audit retention under a year", "staging", { auditRetentionMonths: 6 }, /lp-db:auditRetentionMonths = 6/],
  ]);
});
