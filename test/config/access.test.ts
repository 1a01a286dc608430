import { describe } from "vitest";
import { testRefusals } from "../harness/config";

describe("config area access (database, logins and the application fleet): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["bad database name", "staging", { databaseName: "Learning-Platform" }, /lp-db:databaseName = "Learning-Platform": must be a lowercase PostgreSQL identifier/],
    ["bad IAM user", "staging", { iamUsers: ["application=someone@gmail.com:lp_app_rw"] }, /lp-db:iamUsers\[0\] = .*expected "<name>=<service-account-email>:<group_role>/],
    ["IAM user without roles", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com"] }, /lp-db:iamUsers\[0\]/],
    ["app instances out of range", "staging", { appInstances: 0 }, /lp-db:appInstances = 0/],
    ["read share over 100%", "staging", { appReadPercent: 120 }, /lp-db:appReadPercent = 120/],
  ]);
});
