import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { describe, expect, test } from "vitest";
import { CONFIG_KEYS, PROJECT, SECRET_KEYS } from "../../config";
import { ROOT, listStacks } from "../../lib/mock-runtime";
import { parseStack as parse } from "../harness/config";


describe("Pulumi.yaml config schema", () => {
  const schema = (parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> }).config;
  const declared = Object.keys(schema).map((k) => k.slice(PROJECT.length + 1));

  test("declares exactly the keys config/ reads", () => {
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




});
