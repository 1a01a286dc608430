/**
 * `npm run migrate -- --database-url URL [--dry-run] [--lock-timeout-ms N]`
 *
 * Applies the pending migrations in migrations/ with the same engine the
 * migrations provider uses (lib/migrate). For local work and emergencies; the
 * normal path is `pulumi up`. `--dry-run` lists what would be applied and
 * changes nothing. The URL may also come from DATABASE_URL. Passwords never
 * appear in the output.
 */
import { Client } from "pg";
import { applyMigrations, DEFAULT_LOCK_TIMEOUT_MS } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";

const USAGE = "usage: npm run migrate -- --database-url postgresql://USER:PASSWORD@HOST:PORT/DATABASE [--dry-run] [--lock-timeout-ms N]";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

/** Replaces the password of any postgres URL, and the given secrets, in `text`. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@");
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out;
}

interface Args {
  url?: string;
  dryRun: boolean;
  lockTimeoutMs: number;
}

function parseArgs(argv: readonly string[], env: CliIo["env"]): Args | string {
  const args: Args = { url: env.DATABASE_URL, dryRun: false, lockTimeoutMs: DEFAULT_LOCK_TIMEOUT_MS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dry-run") args.dryRun = true;
    else if (a === "--database-url") args.url = argv[++i];
    else if (a.startsWith("--database-url=")) args.url = a.slice("--database-url=".length);
    else if (a === "--lock-timeout-ms") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) return `--lock-timeout-ms must be a whole number of milliseconds, got "${argv[i]}"`;
      args.lockTimeoutMs = n;
    } else return `unknown argument "${scrub(a)}"`;
  }
  if (!args.url) return "--database-url is required (or set DATABASE_URL)";
  try {
    const u = new URL(args.url);
    if (!/^postgres(ql)?:$/.test(u.protocol)) return `--database-url must be a postgresql:// URL, got ${u.protocol}//…`;
  } catch {
    return "--database-url is not a valid URL";
  }
  return args;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, io.env);
  if (typeof args === "string") {
    io.err(`migrate: ${args}\n${USAGE}`);
    return 2;
  }
  const url = args.url!;
  const password = decodeURIComponent(new URL(url).password);
  let migrations;
  try {
    migrations = loadMigrations();
  } catch (err) {
    io.err(`migrate: ${(err as Error).message}`);
    return 1;
  }
  const client = new Client({ connectionString: url, application_name: "lp-migrate-cli" });
  try {
    await client.connect();
  } catch (err) {
    const where = new URL(url);
    io.err(scrub(`migrate: cannot connect to ${where.hostname}:${where.port || 5432}/${where.pathname.slice(1)} as ${decodeURIComponent(where.username)}: ${(err as Error).message}`, [password]));
    return 1;
  }
  try {
    const result = await applyMigrations(client, migrations, {
      dryRun: args.dryRun,
      lockTimeoutMs: args.lockTimeoutMs,
      log: (l) => io.out(scrub(l, [password])),
    });
    if (args.dryRun) {
      io.out(result.pending.length ? `would apply ${result.pending.length}:` : "nothing to apply");
      for (const p of result.pending) io.out(`  ${p}`);
    } else {
      io.out(`applied ${result.applied.length}${result.applied.length ? ": " + result.applied.join(", ") : ""}`);
      io.out(`pending ${result.pending.length}`);
    }
    io.out(`schema version ${result.schemaVersion || "(empty)"}, ledger head ${result.ledgerHead || "(empty)"}`);
    return 0;
  } catch (err) {
    io.err(scrub(`migrate: ${(err as Error).message}`, [password]));
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(scrub(`migrate: ${(err as Error).message}`));
      process.exit(1);
    },
  );
}
