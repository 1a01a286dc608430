/**
 * `npm run migrate -- --database-url URL (--server-ca FILE [--server-name NAME] | --allow-plaintext)
 *                     [--stack NAME] [--dry-run] [--lock-timeout-ms N]`
 *
 * Applies the pending migrations in migrations/ with the code the migrations
 * provider's create/update runs (components/schema-migrations applySchema):
 * the session opens through lib/pg-connect (TLS verified against the server CA,
 * connect timeout, the explained errors), lost connections are retried with
 * backoff, and with `--stack` partition maintenance and the membership/limit
 * reconcile run with that stack's settings, as `pulumi up` would. Without
 * `--stack` only the migrations are applied. For local work and emergencies;
 * the normal path is `pulumi up`.
 *
 * TLS: `--server-ca` (the instance's server CA, PEM) is required; plain text
 * only with `--allow-plaintext` to a loopback host (an embedded or local server).
 * `--dry-run` lists what would be applied and changes nothing. The URL may
 * also come from DATABASE_URL. Passwords (raw or URL-encoded) never appear in
 * the output.
 */
import * as fs from "fs";
import { parseStackConfig } from "../config";
import { iamLoginName } from "../components/database-users";
import { applySchema } from "../lib/migrate/apply";
import type { SchemaMigrationsInputs } from "../lib/migrate/inputs";
import { planCapacity } from "../lib/capacity-plan";
import { loginConnectionLimits } from "../lib/connection-budget";
import { applyMigrations, DEFAULT_LOCK_TIMEOUT_MS } from "../lib/migrate/engine";
import { loadMigrations } from "../lib/migrate/files";
import { loadStackValues } from "../lib/mock-runtime";
import { isLoopback, scrub, withConnection, type PgTarget } from "../lib/pg-connect";

const USAGE =
  "usage: npm run migrate -- --database-url postgresql://USER:PASSWORD@HOST:PORT/DATABASE " +
  "(--server-ca FILE [--server-name NAME] | --allow-plaintext) [--stack NAME] [--dry-run] [--lock-timeout-ms N]";

/** Group role whose logins are the application's: they get the connection budget's limit (docs/connectivity.md). */
const APP_GROUP_ROLE = "lp_app_rw";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

interface Args {
  url?: string;
  serverCaFile?: string;
  serverName?: string;
  allowPlaintext: boolean;
  stack?: string;
  dryRun: boolean;
  lockTimeoutMs: number;
}

const VALUE_FLAGS = ["--database-url", "--server-ca", "--server-name", "--stack", "--lock-timeout-ms"] as const;

function parseArgs(argv: readonly string[], env: CliIo["env"]): Args | string {
  const args: Args = { url: env.DATABASE_URL, allowPlaintext: false, dryRun: false, lockTimeoutMs: DEFAULT_LOCK_TIMEOUT_MS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const flag = eq > 0 && a.startsWith("--") ? a.slice(0, eq) : a;
    if (a === "--dry-run") {
      args.dryRun = true;
      continue;
    }
    if (a === "--allow-plaintext") {
      args.allowPlaintext = true;
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(flag)) return `unknown argument "${scrub(a)}"`;
    const value = eq > 0 && flag !== a ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) return `${flag} needs a value`;
    if (flag === "--database-url") args.url = value;
    else if (flag === "--server-ca") args.serverCaFile = value;
    else if (flag === "--server-name") args.serverName = value;
    else if (flag === "--stack") args.stack = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) return `--lock-timeout-ms must be a whole number of milliseconds, got "${value}"`;
      args.lockTimeoutMs = n;
    }
  }
  if (!args.url) return "--database-url is required (or set DATABASE_URL)";
  return args;
}

/** The URL as lib/pg-connect's target (TLS settings come from the flags, never from URL parameters). */
function targetOf(url: string, tls: Pick<PgTarget, "serverCa" | "serverName" | "allowPlaintext">): PgTarget | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "--database-url is not a valid URL";
  }
  if (!/^postgres(ql)?:$/.test(u.protocol)) return `--database-url must be a postgresql:// URL, got ${u.protocol}//…`;
  if (u.search) return "--database-url: give TLS settings with --server-ca / --allow-plaintext, not as URL parameters";
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return undefined;
    }
  };
  const database = decode(u.pathname.replace(/^\//, ""));
  const user = decode(u.username);
  const password = u.password ? decode(u.password) : "";
  if (database === undefined || user === undefined || password === undefined) {
    return "--database-url is not validly percent-encoded (a \"%\" not followed by two hex digits); encode a literal % in the user, password or database as %25";
  }
  if (!u.hostname || !database || !user) return "--database-url must name the user, host and database: postgresql://USER:PASSWORD@HOST:PORT/DATABASE";
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : undefined,
    database,
    user,
    password: password || undefined,
    ...tls,
    applicationName: "lp-migrate-cli",
  };
}

/** Memberships, login limits and maintenance settings of a stack, as index.ts gives them to the provider. */
function stackSettings(stack: string): Pick<SchemaMigrationsInputs, "memberships" | "loginConnectionLimits" | "maintenance"> {
  const config = parseStackConfig(loadStackValues(stack));
  const logins = Object.values(config.iamUsers).map((u) => ({ login: iamLoginName(u.serviceAccount), groupRoles: [...u.groupRoles] }));
  const budget = planCapacity(config).budget;
  return {
    memberships: Object.fromEntries(logins.map((l) => [l.login, l.groupRoles])),
    loginConnectionLimits: loginConnectionLimits(
      budget,
      logins.filter((l) => l.groupRoles.includes(APP_GROUP_ROLE)).map((l) => l.login),
    ),
    maintenance: {
      monthsAhead: config.migrations.partitionMonthsAhead,
      retentionMonths: { analytics_events: config.migrations.analyticsRetentionMonths, audit_log: config.migrations.auditRetentionMonths },
    },
  };
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = (message: string) => {
    io.err(`migrate: ${scrub(message)}\n${USAGE}`);
    return 2;
  };
  const args = parseArgs(argv, io.env);
  if (typeof args === "string") return usage(args);
  const plain = targetOf(args.url!, {});
  if (typeof plain === "string") return usage(plain);
  const secrets = [plain.password];
  const say = (line: string) => io.out(scrub(line, secrets));
  const fail = (message: string) => {
    io.err(scrub(`migrate: ${message}`, secrets));
    return 1;
  };
  if (args.allowPlaintext && args.serverCaFile) return usage("give either --server-ca or --allow-plaintext, not both");
  if (args.allowPlaintext && !isLoopback(plain.host)) {
    return usage(`--allow-plaintext is accepted only for a loopback host (127.0.0.1, ::1, localhost), not ${plain.host}; give --server-ca FILE`);
  }
  if (!args.allowPlaintext && !args.serverCaFile) {
    return usage("give --server-ca FILE (the instance's server CA, PEM: gcloud sql instances describe INSTANCE --format='value(serverCaCert.cert)'), or --allow-plaintext for a loopback server");
  }
  let serverCa: string | undefined;
  if (args.serverCaFile) {
    try {
      serverCa = fs.readFileSync(args.serverCaFile, "utf8");
    } catch (err) {
      return fail(`cannot read --server-ca ${args.serverCaFile}: ${(err as Error).message}`);
    }
    if (!serverCa.includes("-----BEGIN CERTIFICATE-----")) return fail(`--server-ca ${args.serverCaFile} holds no PEM certificate`);
  }
  const target: PgTarget = { ...plain, serverCa, serverName: args.serverName, allowPlaintext: args.allowPlaintext };

  let migrations;
  let settings;
  try {
    migrations = loadMigrations();
    settings = args.stack ? stackSettings(args.stack) : undefined;
  } catch (err) {
    return fail((err as Error).message);
  }

  try {
    if (args.dryRun) {
      const result = await withConnection(target, (client) =>
        applyMigrations(client, migrations, { dryRun: true, lockTimeoutMs: args.lockTimeoutMs, log: say, stack: args.stack }),
      );
      say(result.pending.length ? `would apply ${result.pending.length}:` : "nothing to apply");
      for (const p of result.pending) say(`  ${p}`);
      say(`schema version ${result.schemaVersion || "(empty)"}, ledger head ${result.ledgerHead || "(empty)"}`);
      return 0;
    }
    const inputs: SchemaMigrationsInputs = {
      stack: args.stack,
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password,
      serverCa: target.serverCa,
      serverName: target.serverName,
      allowPlaintext: target.allowPlaintext,
      migrations: migrations.map((m) => ({ name: m.name, sha256: m.sha256, sql: m.sql })),
      memberships: settings?.memberships ?? {},
      loginConnectionLimits: settings?.loginConnectionLimits,
      maintenance: settings?.maintenance ?? { monthsAhead: 1, retentionMonths: {} },
      tuning: { lockTimeoutMs: args.lockTimeoutMs },
    };
    const outs = await applySchema(inputs, say, { migrationsOnly: !settings });
    say(`applied ${outs.appliedThisRun.length}${outs.appliedThisRun.length ? ": " + outs.appliedThisRun.join(", ") : ""}`);
    say(`pending ${outs.pending.length}`);
    if (!settings) say("partition maintenance and membership reconcile skipped; give --stack NAME to run them with that stack's settings");
    for (const w of outs.warnings) say(`warning: ${w}`);
    say(`schema version ${outs.schemaVersion || "(empty)"}, ledger head ${outs.ledgerHead || "(empty)"}`);
    return 0;
  } catch (err) {
    return fail((err as Error).message);
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
