import { describe } from "vitest";
import { testRefusals } from "../harness/config";

describe("config area access (database, logins and the application fleet): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["bad database name", "staging", { databaseName: "Learning-Platform" }, /lp-db:databaseName = "Learning-Platform": must be a lowercase PostgreSQL identifier/],
    ["bad IAM user", "staging", { iamUsers: ["application=someone@gmail.com:lp_app_rw"] }, /lp-db:iamUsers\[0\] = .*expected "<name>=<service-account-email>:<group_role>/],
    ["IAM user without roles", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com"] }, /lp-db:iamUsers\[0\]/],
    ["IAM user given lp_owner", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com:lp_owner"] }, /lp-db:iamUsers\[0\] = .*group role "lp_owner" is not one the reconcile manages .*; allowed: lp_app_rw, lp_analytics_ro, lp_backup_ro/],
    ["IAM user given an unknown group", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com:lp_app_rw+pg_read_all_data"] }, /lp-db:iamUsers\[0\] = .*group role "pg_read_all_data" is not one the reconcile manages/],
    ["IAM login longer than PostgreSQL allows", "staging", { iamUsers: [`application=${"a".repeat(30)}@${"b".repeat(30)}.iam.gserviceaccount.com:lp_app_rw`] }, /lp-db:iamUsers\[0\] = .*login "a{30}@b{30}\.iam" is 65 characters; PostgreSQL names hold at most 63/],
    ["app instances out of range", "staging", { appInstances: 0 }, /lp-db:appInstances = 0/],
    ["read share over 100%", "staging", { appReadPercent: 120 }, /lp-db:appReadPercent = 120/],
  ]);
});
