import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { ManifestError, parseManifest, readManifestFile } from "../src/manifest";
import { manifestFixture } from "./fixture";

type Mutate = (m: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("parseManifest", () => {
  test("accepts the stack's shape and freezes it", () => {
    const m = parseManifest(manifestFixture());
    expect(m.replicas.dr.readWeight).toBe(0);
    expect(m.cache?.ttlSeconds).toEqual({ l1: 60, l2: 300, l3: 1800 });
    expect(Object.isFrozen(m.primary)).toBe(true);
  });

  test("a stack without a cache tier has cache null", () => {
    expect(parseManifest(manifestFixture({ cache: undefined })).cache).toBeNull();
  });

  test.each<[string, Mutate, RegExp]>([
    ["root not an object", () => undefined, /connectionManifest\.\(root\): expected an object, got an array/],
    ["missing databaseName", (m) => delete m.databaseName, /connectionManifest\.databaseName: expected a non-empty string, got nothing/],
    ["primary ip", (m) => (m.primary.privateIp = 7), /connectionManifest\.primary\.privateIp: expected a non-empty string, got number 7/],
    ["negative weight", (m) => (m.replicas["read-a"].readWeight = -1), /replicas\.read-a\.readWeight: expected a number ≥ 0/],
    ["DR replica with reads", (m) => (m.replicas.dr.readWeight = 1), /replicas\.dr\.readWeight: a disaster-recovery replica takes no regular reads/],
    ["read pool budget", (m) => (m.pools.appReadPoolPerInstance = 0), /pools\.appReadPoolPerInstance: expected an integer from 1/],
    ["cache port", (m) => (m.cache.port = 70000), /cache\.port: expected an integer from 1 to 65535, got number 70000/],
    ["cache read endpoint", (m) => (m.cache.readEndpoint = "10.0.0.9"), /cache\.readEndpoint: expected an object, got the string "10\.0\.0\.9"/],
    ["AUTH string instead of a secret id", (m) => (m.cache.authSecretId = "hunter2"), /cache\.authSecretId: expected a Secret Manager id .*AUTH string itself never belongs/],
    ["CA not PEM", (m) => (m.cache.caCert = "abc"), /cache\.caCert: expected a PEM certificate/],
    ["TTL tiers out of order", (m) => (m.cache.ttlSeconds.l1 = 600), /cache\.ttlSeconds: expected l1 ≤ l2 ≤ l3, got 600\/300\/1800/],
    ["TTL not whole seconds", (m) => (m.cache.ttlSeconds.l3 = 1.5), /cache\.ttlSeconds\.l3: expected an integer/],
  ])("%s", (_, mutate, message) => {
    const m = manifestFixture();
    mutate(m);
    const value = _ === "root not an object" ? [] : m;
    expect(() => parseManifest(value)).toThrow(ManifestError);
    expect(() => parseManifest(value)).toThrow(message);
  });

  test("the AUTH secret id is rejected without echoing a secret-looking value in full", () => {
    const m = manifestFixture();
    (m.cache as Record<string, unknown>).authSecretId = "x".repeat(100);
    expect(() => parseManifest(m)).toThrow(/^(?!.*x{50})/);
  });
});

describe("readManifestFile", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lp-manifest-"));
  test("reads `pulumi stack output --json` files", () => {
    const f = path.join(dir, "ok.json");
    fs.writeFileSync(f, JSON.stringify(manifestFixture()));
    expect(readManifestFile(f).primary.instanceName).toBe("lp-primary");
  });
  test.each([
    ["missing file", "nope.json", undefined, /cannot read .*nope\.json/],
    ["not JSON", "bad.json", "{", /bad\.json is not JSON .*pulumi stack output connectionManifest --json/],
  ])("%s", (_, name, content, message) => {
    const f = path.join(dir, name);
    if (content !== undefined) fs.writeFileSync(f, content);
    expect(() => readManifestFile(f)).toThrow(message);
  });
});
