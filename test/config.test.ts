import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { describe, expect, test } from "vitest";
import { CONFIG_KEYS, ConfigError, PROJECT, SECRET_KEYS, parseStackConfig } from "../config";
import { ROOT, listStacks, loadStackValues } from "../lib/mock-runtime";
import * as pulumi from "@pulumi/pulumi";

const parse = (stack: string, overrides: Record<string, unknown> = {}, extra: { project?: string; region?: string } = {}) => {
  const v = loadStackValues(stack, overrides);
  return parseStackConfig({ project: extra.project ?? v.project, region: extra.region ?? v.region, values: v.values });
};

describe("Pulumi.yaml config schema", () => {
  const schema = (parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> }).config;
  const declared = Object.keys(schema).map((k) => k.slice(PROJECT.length + 1));

  test("declares exactly the keys config.ts reads", () => {
    expect([...declared].sort()).toEqual([...CONFIG_KEYS, ...SECRET_KEYS].sort());
  });

  test.each(Object.entries(schema))("%s has a type and a description, and a default unless operator-supplied", (key, decl) => {
    expect(["string", "integer", "boolean", "array"]).toContain(decl.type);
    expect(String(decl.description)).not.toHaveLength(0);
    const operatorSupplied = key === `${PROJECT}:environment` || decl.secret === true;
    expect(decl.default !== undefined).toBe(!operatorSupplied);
  });
});

describe("the stacks", () => {
  test("prod and staging are the stacks", () => {
    expect(listStacks()).toEqual(["prod", "staging"]);
  });

  test("prod: newest major, Enterprise Plus, regional HA, two in-region replicas and a DR replica", () => {
    const c = parse("prod");
    expect(c.instance.databaseVersion).toBe("POSTGRES_18");
    expect(c.instance.edition).toBe("ENTERPRISE_PLUS");
    expect(c.instance.availabilityType).toBe("REGIONAL");
    const inRegion = Object.values(c.replicas).filter((r) => !r.disasterRecovery);
    expect(inRegion.length).toBeGreaterThanOrEqual(2);
    const dr = Object.entries(c.replicas).filter(([, r]) => r.disasterRecovery);
    expect(dr).toHaveLength(1);
    expect(dr[0][1].region).not.toBe(c.region);
    expect(c.instance.backup.retainedBackups).toBeGreaterThan(parse("staging").instance.backup.retainedBackups);
  });

  test("staging: zonal, one replica, smaller tier, shorter retention", () => {
    const s = parse("staging");
    const p = parse("prod");
    expect(s.instance.availabilityType).toBe("ZONAL");
    expect(Object.keys(s.replicas)).toEqual(["read-a"]);
    expect(s.instance.tier).not.toBe(p.instance.tier);
    expect(s.instance.backup.transactionLogRetentionDays).toBeLessThan(p.instance.backup.transactionLogRetentionDays);
    expect(s.backup.retentionDays).toBeLessThan(p.backup.retentionDays);
  });

  test("the result is frozen", () => {
    const c = parse("prod");
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.instance.backup)).toBe(true);
    expect(Object.isFrozen(c.replicas["read-a"])).toBe(true);
  });

  test("values arrive as the CLI hands them over: JSON text for non-strings", () => {
    const c = parse("staging", { retainedBackups: "9", pointInTimeRecovery: "false", replicas: '["read-x"]' });
    expect(c.instance.backup.retainedBackups).toBe(9);
    expect(c.instance.backup.pointInTimeRecovery).toBe(false);
    expect(Object.keys(c.replicas)).toEqual(["read-x"]);
  });

  test("named replicas keep their names when another is removed", () => {
    const c = parse("prod", { replicas: ["read-a", "read-c", "read-b"] });
    const without = parse("prod", { replicas: ["read-a", "read-b"] });
    expect(without.replicas["read-b"]).toEqual(c.replicas["read-b"]);
  });

  test("replica overrides: region, tier, weight and flags", () => {
    const c = parse("prod", { replicas: ["read-a", "read-b:tier=db-perf-optimized-N-8,weight=3,flag.work_mem=64MB", "dr:region=us-east1,dr=true"] });
    expect(c.replicas["read-b"]).toMatchObject({ tier: "db-perf-optimized-N-8", readWeight: 3, flags: { work_mem: "64MB" }, region: "us-central1" });
    expect(c.replicas["read-a"].tier).toBe(c.instance.tier);
    expect(c.replicas.dr).toMatchObject({ region: "us-east1", disasterRecovery: true, readWeight: 0 });
  });

  test("a Slack token is required with a Slack channel and stays secret", async () => {
    const v = loadStackValues("prod", { slackChannel: "#db-alerts" });
    const c = parseStackConfig({ project: v.project, region: v.region, values: v.values, slackAuthToken: pulumi.secret("xoxb-1") });
    expect(c.monitoring.slackChannel).toBe("#db-alerts");
    expect(await pulumi.isSecret(c.monitoring.slackAuthToken as pulumi.Output<string>)).toBe(true);
  });

  test("the alerts doc address is optional: empty means none", () => {
    expect(parse("staging").monitoring.alertsDocUrl).toBeUndefined();
    const url = "https://github.example/rds-lms/lp-db/blob/main/docs/alerts.md";
    expect(parse("staging", { alertsDocUrl: url }).monitoring.alertsDocUrl).toBe(url);
  });
});

describe("every validation rule names the key, the value and what is allowed", () => {
  test.each<[string, string, Record<string, unknown>, RegExp]>([
    ["unknown environment", "staging", { environment: "qa" }, /lp-db:environment = "qa".*"prod"/],
    ["bad name prefix", "staging", { namePrefix: "LP" }, /lp-db:namePrefix = "LP": must be 3–31 lowercase/],
    ["bad label", "staging", { labels: ["Team=x"] }, /lp-db:labels\[0\] = "Team=x": expected "<label>=<value>"/],
    ["duplicate label", "staging", { labels: ["a=1", "a=2"] }, /lp-db:labels\[1\].*listed twice/],
    ["PSA prefix out of range", "staging", { pscRangePrefixLength: 28 }, /lp-db:pscRangePrefixLength = 28: .*24/],
    ["bad existing key", "staging", { kmsExistingKeys: ["nowhere"] }, /lp-db:kmsExistingKeys\[0\] = "nowhere"/],
    ["rotation over 90 days", "staging", { kmsRotationDays: 365 }, /lp-db:kmsRotationDays = 365: .*90/],
    ["version Cloud SQL does not offer", "staging", { databaseVersion: "POSTGRES_19" }, /lp-db:databaseVersion = "POSTGRES_19": not a PostgreSQL version Cloud SQL offers; allowed: .*POSTGRES_18/],
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
    ["Query Insights plans out of range", "staging", { queryInsightsPlansPerMinute: 50 }, /lp-db:queryInsightsPlansPerMinute = 50/],
    ["bad flag entry", "staging", { databaseFlags: ["work_mem"] }, /lp-db:databaseFlags\[0\] = "work_mem": expected "<flag>=<value>"/],
    ["pgAudit logging every statement", "staging", { databaseFlags: ["pgaudit.log=all"] }, /lp-db:databaseFlags = .*pgaudit\.log = "all": .*personal data/],
    ["pgAudit logging parameters on a replica", "staging", { replicas: ["read-a:flag.pgaudit.log_parameter=on"] }, /lp-db:replicas\[0\] = "read-a:flag\.pgaudit\.log_parameter=on": .*pgaudit\.log_parameter = "on": .*personal data/],
    ["statement logging of data changes", "staging", { databaseFlags: ["log_statement=mod"] }, /lp-db:databaseFlags = .*log_statement = "mod": .*personal data/],
    ["IAM authentication off", "staging", { databaseFlags: ["cloudsql.iam_authentication=off"] }, /lp-db:databaseFlags = .*cloudsql\.iam_authentication = "off"/],
    ["pg_cron in another database", "staging", { replicas: ["read-a:flag.cron.database_name=postgres"] }, /lp-db:replicas\[0\] = .*cron\.database_name = "postgres"/],
    ["pooling without Enterprise Plus", "staging", { edition: "ENTERPRISE", tier: "db-custom-2-8192" }, /lp-db:connectionPooling = true: managed connection pooling needs lp-db:edition ENTERPRISE_PLUS/],
    ["unknown pool mode", "staging", { poolMode: "statement" }, /lp-db:poolMode = "statement"/],
    ["bad replica name", "staging", { replicas: ["Read_A"] }, /lp-db:replicas\[0\] = "Read_A": replica name "Read_A" must be lowercase/],
    ["duplicate replica", "staging", { replicas: ["read-a", "read-a"] }, /replica "read-a" is listed twice/],
    ["unknown replica key", "staging", { replicas: ["read-a:zone=b"] }, /lp-db:replicas\[0\] = "read-a:zone=b": unknown replica key "zone"/],
    ["unknown replica region", "staging", { replicas: ["read-a:region=mars1"] }, /region "mars1" is not one of/],
    ["unknown replica tier", "staging", { replicas: ["read-a:tier=huge"] }, /tier "huge" is not a Cloud SQL tier/],
    ["replica weight out of range", "staging", { replicas: ["read-a:weight=-1"] }, /weight "-1" must be an integer from 0 to 100/],
    ["DR replica in the primary's region", "staging", { replicas: ["dr:dr=true"] }, /DR replica "dr" must set region= to a region other than the primary's/],
    ["too many replicas", "staging", { replicas: Array.from({ length: 11 }, (_, i) => `r${i}`) }, /at most 10 read replicas/],
    ["read pool ceiling under its size", "staging", { readPoolNodeCount: 3, readPoolMaxNodeCount: 2 }, /lp-db:readPoolMaxNodeCount = 2: must be 0 \(no autoscaling\) or at least/],
    ["read pool out of range", "staging", { readPoolNodeCount: 21 }, /lp-db:readPoolNodeCount = 21/],
    ["bad database name", "staging", { databaseName: "Learning-Platform" }, /lp-db:databaseName = "Learning-Platform": must be a lowercase PostgreSQL identifier/],
    ["bad IAM user", "staging", { iamUsers: ["application=someone@gmail.com:lp_app_rw"] }, /lp-db:iamUsers\[0\] = .*expected "<name>=<service-account-email>:<group_role>/],
    ["IAM user without roles", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com"] }, /lp-db:iamUsers\[0\]/],
    ["IAM user given lp_owner", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com:lp_owner"] }, /lp-db:iamUsers\[0\] = .*group role "lp_owner" is not one the reconcile manages .*; allowed: lp_app_rw, lp_analytics_ro, lp_backup_ro/],
    ["IAM user given an unknown group", "staging", { iamUsers: ["application=lp-app@rds-lms.iam.gserviceaccount.com:lp_app_rw+pg_read_all_data"] }, /lp-db:iamUsers\[0\] = .*group role "pg_read_all_data" is not one the reconcile manages/],
    ["IAM login longer than PostgreSQL allows", "staging", { iamUsers: [`application=${"a".repeat(30)}@${"b".repeat(30)}.iam.gserviceaccount.com:lp_app_rw`] }, /lp-db:iamUsers\[0\] = .*login "a{30}@b{30}\.iam" is 65 characters; PostgreSQL names hold at most 63/],
    ["app instances out of range", "staging", { appInstances: 0 }, /lp-db:appInstances = 0/],
    ["read share over 100%", "staging", { appReadPercent: 120 }, /lp-db:appReadPercent = 120/],
    ["bad bucket location", "staging", { backupBucketLocation: "us central" }, /lp-db:backupBucketLocation = "us central"/],
    ["soft delete under 7 days", "staging", { backupSoftDeleteDays: 1 }, /lp-db:backupSoftDeleteDays = 1/],
    ["bad export schedule", "staging", { exportSchedule: "daily" }, /lp-db:exportSchedule = "daily": expected a five-field cron expression/],
    ["bad time zone", "staging", { exportTimeZone: "UTC+2 hours" }, /lp-db:exportTimeZone = "UTC\+2 hours"/],
    ["export of another database", "staging", { exportDatabases: ["other_db"] }, /lp-db:exportDatabases = .*may only name databases this stack creates/],
    ["no export database", "staging", { exportDatabases: [] }, /lp-db:exportDatabases = \[\]: name at least one database/],
    ["locked export bucket outside prod", "staging", { backupBucketLocked: true }, /lp-db:backupBucketLocked = true: only a prod stack locks its export bucket/],
    ["drill point in time not RFC3339", "staging", { drillPointInTime: "yesterday" }, /lp-db:drillPointInTime = "yesterday": expected "" \(latest\) or an RFC3339 UTC timestamp/],
    ["bad drill run id", "staging", { drillRunId: "Run 1" }, /lp-db:drillRunId = "Run 1": expected "" or up to 20 lowercase/],
    ["unknown migration connection", "staging", { migrationConnection: "ssh" }, /lp-db:migrationConnection = "ssh"/],
    ["client certificates without the connector", "staging", { sslMode: "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" }, /lp-db:sslMode = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED": client certificates are required, but migrations connect directly/],
    ["drill point in time in the future", "staging", { drillPointInTime: "2999-01-01T00:00:00Z" }, /lp-db:drillPointInTime = "2999-01-01T00:00:00Z": is in the future/],
    ["drill row bound malformed", "staging", { drillRowBounds: ["users=many"] }, /lp-db:drillRowBounds\[0\] = "users=many": expected "<table>=<min>"/],
    ["drill row bound max under min", "staging", { drillRowBounds: ["users=10..2"] }, /lp-db:drillRowBounds\[0\] = "users=10..2": .*min ≤ max/],
    ["invalid notification email", "staging", { alertEmails: ["dba at example"] }, /lp-db:alertEmails\[0\] = "dba at example": not a valid email address/],
    ["bad Slack channel", "staging", { slackChannel: "db alerts" }, /lp-db:slackChannel = "db alerts": expected "" or "#channel-name"/],
    ["Slack channel without a token", "staging", { slackChannel: "#db-alerts" }, /lp-db:slackAuthToken = \(not set\).*pulumi config set --secret lp-db:slackAuthToken/],
    ["alerts doc address not https", "staging", { alertsDocUrl: "docs/alerts.md" }, /lp-db:alertsDocUrl = "docs\/alerts.md": expected "" or the https:\/\/ address/],
    ["partitions ahead out of range", "staging", { partitionMonthsAhead: 0 }, /lp-db:partitionMonthsAhead = 0/],
    ["audit retention under a year", "staging", { auditRetentionMonths: 6 }, /lp-db:auditRetentionMonths = 6/],
    ["prod stack without HA", "prod", { availabilityType: "ZONAL" }, /lp-db:availabilityType = "ZONAL": a prod stack must be REGIONAL/],
    ["prod stack with one replica", "prod", { replicas: ["read-a", "dr:region=us-east1,dr=true"] }, /a prod stack needs at least 2 in-region read replicas/],
    ["prod stack without PITR", "prod", { pointInTimeRecovery: false }, /lp-db:pointInTimeRecovery = false: a prod stack must keep point-in-time recovery on/],
    ["prod stack with short log retention", "prod", { transactionLogRetentionDays: 3 }, /lp-db:transactionLogRetentionDays = 3: a prod stack keeps at least 7 days/],
    ["prod stack with nobody to page", "prod", { criticalEmails: [] }, /lp-db:criticalEmails = \[\]: a prod stack must route critical alerts/],
  ])("%s", (_label, stack, overrides, message) => {
    expect(() => parse(stack, overrides)).toThrow(ConfigError);
    expect(() => parse(stack, overrides)).toThrow(message);
  });

  test.each([
    ["a missing project", { project: "" }, /gcp:project = "": set the GCP project id with "pulumi config set gcp:project <id>"/],
    ["an unknown region", { region: "moon-1" }, /gcp:region = "moon-1": must be one of/],
  ])("gcp settings: %s", (_label, extra, message) => {
    expect(() => parse("staging", {}, extra)).toThrow(message);
  });

  test("a missing environment is named", () => {
    const v = loadStackValues("staging");
    const { environment: _dropped, ...values } = v.values;
    expect(() => parseStackConfig({ project: v.project, region: v.region, values })).toThrow(/lp-db:environment = \(not set\)/);
  });
});
