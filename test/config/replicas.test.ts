import { describe, expect, test } from "vitest";
import { parseStack, testRefusals } from "../harness/config";

describe("config area replicas (read replicas and the read pool): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["bad replica name", "staging", { replicas: ["Read_A"] }, /lp-db:replicas\[0\] = "Read_A": replica name "Read_A" must be lowercase/],
    ["duplicate replica", "staging", { replicas: ["read-a", "read-a"] }, /replica "read-a" is listed twice/],
    ["unknown replica key", "staging", { replicas: ["read-a:zone=b"] }, /lp-db:replicas\[0\] = "read-a:zone=b": unknown replica key "zone"/],
    ["pgAudit logging parameters on a replica", "staging", { replicas: ["read-a:flag.pgaudit.log_parameter=on"] }, /lp-db:replicas\[0\] = "read-a:flag\.pgaudit\.log_parameter=on": .*pgaudit\.log_parameter = "on": .*personal data/],
    ["pg_cron in another database", "staging", { replicas: ["read-a:flag.cron.database_name=postgres"] }, /lp-db:replicas\[0\] = .*cron\.database_name = "postgres"/],
    ["unknown replica region", "staging", { replicas: ["read-a:region=mars1"] }, /region "mars1" is not one of/],
    ["unknown replica tier", "staging", { replicas: ["read-a:tier=huge"] }, /tier "huge" is not a Cloud SQL tier/],
    ["replica weight out of range", "staging", { replicas: ["read-a:weight=-1"] }, /weight "-1" must be an integer from 0 to 100/],
    ["DR replica in the primary's region", "staging", { replicas: ["dr:dr=true"] }, /DR replica "dr" must set region= to a region other than the primary's/],
    ["too many replicas", "staging", { replicas: Array.from({ length: 11 }, (_, i) => `r${i}`) }, /at most 10 read replicas/],
    ["read pool ceiling under its size", "staging", { readPoolNodeCount: 3, readPoolMaxNodeCount: 2 }, /lp-db:readPoolMaxNodeCount = 2: must be 0 \(no autoscaling\) or at least/],
    ["read pool out of range", "staging", { readPoolNodeCount: 21 }, /lp-db:readPoolNodeCount = 21/],
    ["prod stack with one replica", "prod", { replicas: ["read-a", "dr:region=us-east1,dr=true"] }, /a prod stack needs at least 2 in-region read replicas/],
  ]);
});

describe("named replicas", () => {
  test("named replicas keep their names when another is removed", () => {
    const c = parseStack("prod", { replicas: ["read-a", "read-c", "read-b"] });
    const without = parseStack("prod", { replicas: ["read-a", "read-b"] });
    expect(without.replicas["read-b"]).toEqual(c.replicas["read-b"]);
  });

  test("replica overrides: region, tier, weight and flags", () => {
    const c = parseStack("prod", { replicas: ["read-a", "read-b:tier=db-perf-optimized-N-8,weight=3,flag.work_mem=64MB", "dr:region=us-east1,dr=true"] });
    expect(c.replicas["read-b"]).toMatchObject({ tier: "db-perf-optimized-N-8", readWeight: 3, flags: { work_mem: "64MB" }, region: "us-central1" });
    expect(c.replicas["read-a"].tier).toBe(c.instance.tier);
    expect(c.replicas.dr).toMatchObject({ region: "us-east1", disasterRecovery: true, readWeight: 0 });
  });
});
