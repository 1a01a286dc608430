/**
 * `npm run migrate` never echoes a URL's password, wherever the URL lands on the
 * command line and whatever characters the password has, and refuses a URL that
 * is not validly percent-encoded with a clear error instead of crashing.
 */
import { describe, expect, test } from "vitest";
import { main as migrateCli } from "../scripts/migrate";
import { scrub } from "../lib/pg-connect";

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await migrateCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, text: [...out, ...err].join("\n") };
}

const URLS = [
  ["a password with a slash", "postgresql://lp:pa/ss-Wd9@127.0.0.1:1/db", ["pa/ss-Wd9", "ss-Wd9"]],
  ["a password with a raw @", "postgresql://lp:s3cr@tPass@127.0.0.1:1/db", ["s3cr@tPass", "tPass"]],
  ["a password with a colon and a hash", "postgres://lp:a:b#cZ9q@127.0.0.1:1/db", ["a:b#cZ9q", "b#cZ9q"]],
] as const;

describe("scrub", () => {
  test.each(URLS)("removes the whole password of a URL with %s", (_what, url, leaks) => {
    const text = scrub(`unknown argument "${url}" near ${url}`);
    for (const leak of leaks) expect(text).not.toContain(leak);
    expect(text).toContain("[secret]");
  });
});

describe("a misplaced URL is never echoed with its password", () => {
  const placements: [string, (url: string) => string[]][] = [
    ["as a positional argument", (url) => [url]],
    ["as the value of --lock-timeout-ms", (url) => ["--database-url", "postgresql://lp:ok@127.0.0.1:1/db", "--lock-timeout-ms", url]],
    ["as the value of --stack", (url) => ["--database-url", "postgresql://lp:ok@127.0.0.1:1/db", "--allow-plaintext", "--stack", url]],
    ["as the value of --server-ca", (url) => ["--database-url", "postgresql://lp:ok@127.0.0.1:1/db", "--server-ca", url]],
  ];
  test.each(placements.flatMap(([where, argv]) => URLS.map(([what, url, leaks]) => [`${what}, ${where}`, argv(url), leaks] as const)))(
    "%s",
    async (_what, argv, leaks) => {
      const r = await cli([...argv]);
      expect(r.code).not.toBe(0);
      for (const leak of leaks) expect(r.text).not.toContain(leak);
    },
  );
});

describe("a URL that is not validly percent-encoded", () => {
  test.each([
    ["in the password", "postgresql://lp:50%off-Qz@127.0.0.1:1/db", "50%off-Qz"],
    ["in the user", "postgresql://l%zz:pw-Qz7@127.0.0.1:1/db", "pw-Qz7"],
    ["in the database", "postgresql://lp:pw-Qz7@127.0.0.1:1/d%b", "pw-Qz7"],
  ])("%s is refused clearly, without the password", async (_where, url, secret) => {
    const r = await cli(["--database-url", url, "--allow-plaintext"]);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/--database-url is not validly percent-encoded .*%25/);
    expect(r.text).not.toContain(secret);
  });
});
