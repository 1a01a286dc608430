import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, test } from "vitest";
import { inStandardSupport, supportedVersionIds } from "../lib/cloudsql-catalog";
import { ROOT } from "../lib/mock-runtime";
import { plan } from "./harness/plan";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lp-plan-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("npm run plan", () => {
  test("--json prints { type, name, parent, inputs } rows with secrets masked", async () => {
    const { code, stdout } = await plan(["--stack", "prod", "--json"]);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { type: string; name: string; parent: string | null; inputs: Record<string, unknown> }[];
    expect(Array.isArray(rows)).toBe(true);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(["inputs", "name", "parent", "type"]);
    }
    expect(stdout).not.toMatch(/mock-password-/);
  });

  test.each([
    ["availabilityType: REGIONAL", "availabilityType: ZONAL", /lp-db:availabilityType = "ZONAL": a prod stack must be REGIONAL/],
    ['backupStartTime: "03:00"', 'backupStartTime: "3am"', /lp-db:backupStartTime = "3am": expected "HH:MM"/],
  ])("a stack file with %s changed to a bad value exits 1 naming the key", async (from, to, message) => {
    const file = path.join(tmp, `Pulumi.bad-${to.replace(/\W+/g, "-")}.yaml`);
    const original = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    expect(original).toContain(from);
    fs.writeFileSync(file, original.replace(from, to));
    const { code, stderr } = await plan(["--stack", "prod", "--stack-file", file]);
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
  });

  const withVersion = (version: string) => {
    const file = path.join(tmp, `Pulumi.${version}.yaml`);
    const original = fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8");
    expect(original).toContain("lp-db:databaseVersion: POSTGRES_18");
    fs.writeFileSync(file, original.replace("lp-db:databaseVersion: POSTGRES_18", `lp-db:databaseVersion: ${version}`));
    return file;
  };

  test("every supported major is POSTGRES_14 to POSTGRES_18", () => {
    expect(supportedVersionIds()).toEqual(["POSTGRES_14", "POSTGRES_15", "POSTGRES_16", "POSTGRES_17", "POSTGRES_18"]);
  });

  // Once a major leaves Cloud SQL's standard support the policy pack fails its plan (exit 3), not config.
  test.each(supportedVersionIds())("a stack file with %s plans, its instances on that version", async (version) => {
    const { code, stdout, stderr } = await plan(["--stack", "staging", "--stack-file", withVersion(version), "--json"]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: inStandardSupport(version) ? 0 : 3, stderr: code === 0 ? "" : expect.stringMatching(/extended support/) });
    const instances = (JSON.parse(stdout) as { type: string; inputs: { databaseVersion?: string } }[]).filter((r) => r.type === "gcp:sql/databaseInstance:DatabaseInstance");
    expect(instances.length).toBeGreaterThan(0);
    for (const i of instances) expect(i.inputs.databaseVersion).toBe(version);
  });

  test.each(["POSTGRES_13", "POSTGRES_12", "POSTGRES_9_6"])("a stack file with %s exits 1 with the reason", async (version) => {
    const { code, stderr } = await plan(["--stack", "staging", "--stack-file", withVersion(version)]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`lp-db:databaseVersion = "${version}": PostgreSQL \\d+ is not supported: the migrations are tested on PostgreSQL 14–18 only`));
  });

  test("an unknown stack exits 1 and lists the stacks", async () => {
    const { code, stderr } = await plan(["--stack", "qa"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no stack file Pulumi\.qa\.yaml; stacks here: prod, staging/);
  });
});
