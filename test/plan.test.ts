import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, test } from "vitest";
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

  test("an unknown stack exits 1 and lists the stacks", async () => {
    const { code, stderr } = await plan(["--stack", "qa"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no stack file Pulumi\.qa\.yaml; stacks here: prod, staging/);
  });
});
