/** The README's usage example is examples/usage.ts verbatim, and it runs against real PostgreSQL and Redis. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { INSTALL_HINT, redisServerMissing, startRedis, type RedisServer } from "../../test/harness/redis";
import { courseOutline } from "../examples/usage";
import { manifestFixture } from "./fixture";

const CLIENT = path.join(__dirname, "..");

test("README carries examples/usage.ts verbatim", () => {
  const example = fs.readFileSync(path.join(CLIENT, "examples", "usage.ts"), "utf8");
  expect(fs.readFileSync(path.join(CLIENT, "README.md"), "utf8")).toContain("```ts\n" + example + "```");
});

const missing = redisServerMissing();
if (missing) console.warn(`\n*** README example SKIPPED: ${missing} ***\n`);

describe.skipIf(missing !== undefined)(`README example (needs redis-server: ${INSTALL_HINT})`, () => {
  const pg = inject("pg");
  let redis: RedisServer;
  const db = `readme_${process.pid}`;
  beforeAll(async () => {
    redis = await startRedis({ tls: true });
    const admin = new Client({ ...pg, database: "postgres" });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
  });
  afterAll(async () => redis?.stop());

  test("reads through the cache, writes, invalidates by tag and reads the new row", async () => {
    const m = manifestFixture({ databaseName: db });
    Object.assign(m.cache as object, { host: "127.0.0.1", caCert: redis.caPem });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lp-readme-")), "manifest.json");
    fs.writeFileSync(file, JSON.stringify(m));
    const [before, after] = await courseOutline({
      manifestFile: file,
      cacheAuth: redis.password,
      user: pg.user,
      password: pg.password,
      // Every endpoint is the one local server; the cache's name is the certificate's.
      resolve: () => ({ host: pg.host, port: pg.port }),
      resolveCache: (e) => ({ host: e.host, port: redis.port }),
    });
    expect(before).toEqual([]);
    expect(after).toEqual([{ title: "Intro" }]);
    // The second read went through Redis over TLS (not only L1): its entry is there.
    const check = new Redis({ host: "127.0.0.1", port: redis.port, password: redis.password, tls: { ca: redis.caPem } });
    try {
      expect(await check.keys("lp:v:q:SELECT title FROM lessons*")).toHaveLength(1);
    } finally {
      check.disconnect();
    }
  });
});
