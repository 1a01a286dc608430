import { describe, expect, test } from "vitest";
import { parseStackConfig } from "../../config";
import { loadStackValues } from "../../lib/mock-runtime";
import { parseStack, testRefusals } from "../harness/config";

describe("config area platform (where the stack lives): every rule names the key, the value and what is allowed", () => {
  testRefusals([
    ["unknown environment", "staging", { environment: "qa" }, /lp-db:environment = "qa".*"prod"/],
    ["bad name prefix", "staging", { namePrefix: "LP" }, /lp-db:namePrefix = "LP": must be 3–31 lowercase/],
    ["bad label", "staging", { labels: ["Team=x"] }, /lp-db:labels\[0\] = "Team=x": expected "<label>=<value>"/],
    ["duplicate label", "staging", { labels: ["a=1", "a=2"] }, /lp-db:labels\[1\].*listed twice/],
    ["PSA prefix out of range", "staging", { pscRangePrefixLength: 28 }, /lp-db:pscRangePrefixLength = 28: .*24/],
    ["bad existing key", "staging", { kmsExistingKeys: ["nowhere"] }, /lp-db:kmsExistingKeys\[0\] = "nowhere"/],
    ["rotation over 90 days", "staging", { kmsRotationDays: 365 }, /lp-db:kmsRotationDays = 365: .*90/],
  ]);
});

describe("gcp settings", () => {
  test.each([
    ["a missing project", { project: "" }, /gcp:project = "": set the GCP project id with "pulumi config set gcp:project <id>"/],
    ["an unknown region", { region: "moon-1" }, /gcp:region = "moon-1": must be one of/],
  ])("%s", (_label, extra, message) => {
    expect(() => parseStack("staging", {}, extra)).toThrow(message);
  });

  test("a missing environment is named", () => {
    const v = loadStackValues("staging");
    const { environment: _dropped, ...values } = v.values;
    expect(() => parseStackConfig({ project: v.project, region: v.region, values })).toThrow(/lp-db:environment = \(not set\)/);
  });
});
