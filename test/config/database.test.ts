import { describe } from "vitest";
import { testRefusals } from "../harness/config";

describe("config area database (the primary instance): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["version Cloud SQL does not offer", "staging", { databaseVersion: "POSTGRES_19" }, /lp-db:databaseVersion = "POSTGRES_19": not a PostgreSQL version Cloud SQL offers; allowed: .*POSTGRES_18/],
    ["PostgreSQL 13", "staging", { databaseVersion: "POSTGRES_13" }, /lp-db:databaseVersion = "POSTGRES_13": PostgreSQL 13 is not supported: the migrations are tested on PostgreSQL 14–18 only .*standard support for 13 ended on 2026-01-31; use one of POSTGRES_14, POSTGRES_15, POSTGRES_16, POSTGRES_17, POSTGRES_18/],
    ["PostgreSQL 9.6", "staging", { databaseVersion: "POSTGRES_9_6" }, /lp-db:databaseVersion = "POSTGRES_9_6": PostgreSQL 9 is not supported/],
    ["unknown edition", "staging", { edition: "STANDARD" }, /lp-db:edition = "STANDARD"/],
    ["unknown tier", "staging", { tier: "db-n1-standard-4" }, /lp-db:tier = "db-n1-standard-4": unknown tier; expected db-perf-optimized-N/],
    ["tier of the other edition", "staging", { tier: "db-custom-4-16384" }, /lp-db:tier = "db-custom-4-16384": tier is an ENTERPRISE tier but lp-db:edition is ENTERPRISE_PLUS/],
    ["unknown availability type", "staging", { availabilityType: "MULTI" }, /lp-db:availabilityType = "MULTI"/],
    ["disk too small", "staging", { diskSizeGb: 5 }, /lp-db:diskSizeGb = 5: .*10/],
    ["autoresize limit under disk size", "staging", { diskAutoresizeLimitGb: 20 }, /lp-db:diskAutoresizeLimitGb = 20: must be 0 \(no limit\) or at least lp-db:diskSizeGb/],
    ["plaintext TLS mode", "staging", { sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" }, /lp-db:sslMode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"/],
    ["malformed maintenance window", "staging", { maintenanceWindow: "Sunday 3am" }, /lp-db:maintenanceWindow = "Sunday 3am": expected "<MON..SUN> <HH>:00"/],
    ["unknown update track", "staging", { maintenanceUpdateTrack: "beta" }, /lp-db:maintenanceUpdateTrack = "beta"/],
    ["malformed deny period", "staging", { denyMaintenancePeriod: "december" }, /lp-db:denyMaintenancePeriod = "december": expected "" or "<YYYY-MM-DD>\/<YYYY-MM-DD>"/],
    ["deny period backwards", "staging", { denyMaintenancePeriod: "2027-01-04/2026-12-14" }, /lp-db:denyMaintenancePeriod = .*start date must come before/],
    ["backup time not HH:MM", "staging", { backupStartTime: "3am" }, /lp-db:backupStartTime = "3am": expected "HH:MM"/],
    ["log retention over the edition's limit", "staging", { edition: "ENTERPRISE", tier: "db-custom-2-8192", connectionPooling: false, transactionLogRetentionDays: 14 }, /lp-db:transactionLogRetentionDays = 14: ENTERPRISE keeps at most 7 days/],
    ["retained backups out of range", "staging", { retainedBackups: 0 }, /lp-db:retainedBackups = 0/],
    // Cloud SQL refuses "backup retention should be > transaction log retention" (Admin API 400).
    ["fewer retained backups than days of logs", "staging", { retainedBackups: 2 }, /lp-db:retainedBackups = 2: must be at least lp-db:transactionLogRetentionDays \(3\)/],
    ["Query Insights plans out of range", "staging", { queryInsightsPlansPerMinute: 50 }, /lp-db:queryInsightsPlansPerMinute = 50/],
    ["bad flag entry", "staging", { databaseFlags: ["work_mem"] }, /lp-db:databaseFlags\[0\] = "work_mem": expected "<flag>=<value>"/],
    ["pgAudit logging every statement", "staging", { databaseFlags: ["pgaudit.log=all"] }, /lp-db:databaseFlags = .*pgaudit\.log = "all": .*personal data/],
    ["statement logging of data changes", "staging", { databaseFlags: ["log_statement=mod"] }, /lp-db:databaseFlags = .*log_statement = "mod": .*personal data/],
    ["IAM authentication off", "staging", { databaseFlags: ["cloudsql.iam_authentication=off"] }, /lp-db:databaseFlags = .*cloudsql\.iam_authentication = "off"/],
    ["pooling without Enterprise Plus", "staging", { edition: "ENTERPRISE", tier: "db-custom-2-8192" }, /lp-db:connectionPooling = true: managed connection pooling needs lp-db:edition ENTERPRISE_PLUS/],
    ["unknown pool mode", "staging", { poolMode: "statement" }, /lp-db:poolMode = "statement"/],
    ["client certificates without the connector", "staging", { sslMode: "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" }, /lp-db:sslMode = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED": client certificates are required, but migrations connect directly/],
    ["prod stack without HA", "prod", { availabilityType: "ZONAL" }, /lp-db:availabilityType = "ZONAL": a prod stack must be REGIONAL/],
    ["prod stack without PITR", "prod", { pointInTimeRecovery: false }, /lp-db:pointInTimeRecovery = false: a prod stack must keep point-in-time recovery on/],
    ["prod stack with short log retention", "prod", { transactionLogRetentionDays: 3 }, /lp-db:transactionLogRetentionDays = 3: a prod stack keeps at least 7 days/],
  ]);
});
