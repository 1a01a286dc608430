/**
 * `npm run plan` evaluates the pack: a stack file that breaks a mandatory policy
 * makes it print the violation with its resource and remediation and exit 3.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ROOT } from "../lib/mock-runtime";
import { plan } from "../test/harness/plan";
import { cloudsqlBackups } from "./cloudsql-backups";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lp-policy-plan-"));
const noPitr = path.join(tmp, "Pulumi.staging-no-pitr.yaml");

beforeAll(() => {
  const staging = fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8");
  expect(staging).not.toContain("pointInTimeRecovery");
  fs.writeFileSync(noPitr, `${staging.trimEnd()}\n  lp-db:pointInTimeRecovery: false\n`);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("a stack without point-in-time recovery exits 3, naming the resource, the violation and the remediation", async () => {
  const { code, stdout, stderr } = await plan(["--stack", "staging", "--stack-file", noPitr]);
  expect(code).toBe(3);
  expect(stdout).toMatch(/Policy pack: \d+ finding\(s\), 1 mandatory/);
  expect(stdout).toMatch(
    /\[mandatory\] cloudsql-backups: gcp:sql\/databaseInstance:DatabaseInstance {2}\S+\n {4}settings\.backupConfiguration\.pointInTimeRecoveryEnabled is not true/,
  );
  expect(stdout).toContain(`remediation: ${cloudsqlBackups.remediationSteps}`);
  expect(stderr).toMatch(/plan: 1 mandatory policy violation\(s\)/);
});

test("with --json the findings go to stderr and stdout stays JSON", async () => {
  const { code, stdout, stderr } = await plan(["--stack", "staging", "--stack-file", noPitr, "--json"]);
  expect(code).toBe(3);
  expect(Array.isArray(JSON.parse(stdout))).toBe(true);
  expect(stderr).toMatch(/\[mandatory\] cloudsql-backups:/);
});

test("prod without a Slack channel plans (exit 0) and prints the advisory that critical alerts reach e-mail only", async () => {
  const { code, stdout } = await plan(["--stack", "prod"]);
  expect(code).toBe(0);
  expect(stdout).toMatch(/\[advisory\] critical-alerts-slack: \(stack\)\n {4}\d+ critical alert policies notify e-mail only: no Slack notification channel/);
  expect(stdout).toContain("lp-db:slackChannel");
});
