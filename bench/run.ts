/**
 * `npm run bench [-- --scale 0.05]`: seeds the baseline schema, measures the
 * hot queries, applies the optimisation migrations under write load, measures
 * again on the same data, times the provider's no-op apply, and writes
 * bench/results/latest.json, docs/bench-p95.svg and a markdown table on stdout.
 * See bench/README.md.
 */
import * as os from "os";
import * as path from "path";
import type { Client } from "pg";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations, DEFAULT_MIGRATIONS_DIR, type MigrationFile } from "../lib/migrate/files";
import { writeP95Chart } from "./chart";
import { measureNoopApply } from "./noop";
import { Progress } from "./progress";
import { TARGETS, markdown, median, summariseRepeats, writeResults, type BenchResults, type QueryResult } from "./report";
import { runCell, type CellResult } from "./runner";
import { resetStatementStats, statementCost, statementIds, type ServerCost } from "./stats";
import { countsFor, seed } from "./seed";
import { LockWaitSampler, lockWaitsOnly, longestLockWait, waitsDuring, type LockWait } from "./lock-waits";
import { migrationWindows, stallsByMigration } from "./stalls";
import { APP_STATEMENT_TIMEOUT_MS, connectMany, startBenchServer, type BenchServer } from "./server";
import { HOT_QUERIES, OPTIMISED_ONLY, loadParams, operation, readSchemaFacts } from "./workload";
import { measureWritePath } from "./write-path";
import { Writers } from "./writer";

const REPO = path.resolve(__dirname, "..");

/** Command-line options. */
interface Options {
  /** Data-set scale factor; 1 = 100 k users, 10 M events. */
  readonly scale: number;
  /** Recording time per (query, concurrency) cell. */
  readonly cellMs: number;
  /** Unrecorded warm-up per query and phase (at least one call). */
  readonly warmupMs: number;
  readonly concurrencies: readonly number[];
  readonly out: string;
  readonly chart: string;
  /** Development only: another migrations directory. The committed results always use migrations/. */
  readonly migrationsDir: string;
}

/** Issue 9: each hot query at 1, 16 and 64 clients. */
const DEFAULT_CONCURRENCIES = [1, 16, 64];
/** Per-cell recording time: 24 cells per phase × 4 s keeps the whole run inside the 15-minute budget at scale 1. */
const DEFAULT_CELL_MS = 4_000;
/** Warm-up per query and phase: fills the caches and the plan cache before recording. */
const DEFAULT_WARMUP_MS = 1_000;
/** Migrations up to and including this one are the baseline schema; the rest are the optimisations. */
const BASELINE_MIGRATION = /baseline/;

const USAGE = `usage: npm run bench -- [--scale <factor>] [--duration <seconds per cell>] [--warmup <seconds>]
                      [--concurrency 1,16,64] [--out bench/results/latest.json] [--chart docs/bench-p95.svg]
                      [--migrations <dir>]`;

function parseArgs(argv: readonly string[]): Options {
  const o = {
    scale: 1,
    cellMs: DEFAULT_CELL_MS,
    warmupMs: DEFAULT_WARMUP_MS,
    concurrencies: DEFAULT_CONCURRENCIES,
    out: path.join(REPO, "bench", "results", "latest.json"),
    chart: path.join(REPO, "docs", "bench-p95.svg"),
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}, got ${JSON.stringify(v)}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case "--scale":
        o.scale = num(a, v, 0.001);
        break;
      case "--duration":
        o.cellMs = num(a, v, 0.1) * 1000;
        break;
      case "--warmup":
        o.warmupMs = num(a, v, 0) * 1000;
        break;
      case "--concurrency":
        o.concurrencies = (v ?? "").split(",").map((x) => num(a, x, 1));
        break;
      case "--out":
        o.out = path.resolve(v ?? "");
        break;
      case "--chart":
        o.chart = path.resolve(v ?? "");
        break;
      case "--migrations":
        o.migrationsDir = path.resolve(v ?? "");
        break;
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
    i++;
  }
  return o;
}

/** Splits the migrations into the baseline schema and the optimisations applied on top of it. */
function splitBaseline(migrations: readonly MigrationFile[]): { baseline: MigrationFile[]; optimisations: MigrationFile[] } {
  const last = migrations.findIndex((m) => BASELINE_MIGRATION.test(m.name));
  if (last < 0) throw new Error(`no baseline migration (a file whose name matches ${BASELINE_MIGRATION}) among ${migrations.map((m) => m.name).join(", ") || "none"}`);
  return { baseline: migrations.slice(0, last + 1), optimisations: migrations.slice(last + 1) };
}

/** What else ran on the machine during a phase: the benchmark shares 2 cores with other work, and its own client costs CPU too. */
interface PhaseContext {
  /** 1-minute load average at the start and the end. */
  readonly load: [number, number];
  /** CPU this Node process (the load generator) used, in cores, averaged over the phase. */
  readonly clientCores: number;
}

/** Runs `fn` and reports the machine's load around it. */
async function withContext<T>(fn: () => Promise<T>): Promise<[T, PhaseContext]> {
  const load0 = os.loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return [value, { load: [load0, os.loadavg()[0]], clientCores: (cpu.user + cpu.system) / 1000 / (performance.now() - t0) }];
}

function describeContext(phase: string, c: PhaseContext): string {
  return `${phase}: load average ${c.load[0].toFixed(1)} → ${c.load[1].toFixed(1)} on ${os.cpus().length} cores, load generator ${(c.clientCores * 100).toFixed(0)} % of a core`;
}

/** A measured cell with the server's cost per call over it. */
type MeasuredCell = CellResult & { readonly server?: ServerCost };

/**
 * Measures every hot query at every concurrency on the current schema, with
 * pg_stat_statements reset before each cell (on `stats`, a session allowed to
 * reset and read it) and read after it. With `repeats` > 1, the
 * TARGETS.concurrency cells run that many times in all: further passes over
 * every query after the first, so the repeats of one query are minutes apart
 * and see different background load.
 */
async function measurePhase(
  phase: string,
  clients: readonly Client[],
  opts: Options,
  progress: Progress,
  stats: Client,
  repeats = 1,
): Promise<Map<string, MeasuredCell[]>> {
  const params = await loadParams(clients[0]);
  const facts = await readSchemaFacts(clients[0]);
  const out = new Map<string, MeasuredCell[]>();
  const extra = opts.concurrencies.includes(TARGETS.concurrency) ? repeats - 1 : 0;
  const cells = HOT_QUERIES.length * (opts.concurrencies.length + extra);
  let cell = 0;
  const measure = async (q: (typeof HOT_QUERIES)[number], c: number, label: string) => {
    const op = operation(q, facts, params);
    const ids = idsByQuery.get(q.name) ?? [];
    await resetStatementStats(stats);
    const r = await runCell(clients, c, op, {
      durationMs: opts.cellMs,
      onTick: (n, f) => progress.update(`${phase}: ${q.name} × ${c} clients${label}, ${n} calls`, (cell + f) / cells),
    });
    const server = await statementCost(stats, ids);
    cell++;
    const key = `${q.name}@${c}`;
    out.set(key, [...(out.get(key) ?? []), { ...r, server }]);
    progress.note(
      `${phase.padEnd(9)} ${q.name.padEnd(26)} ${String(c).padStart(2)} clients${label}  p50 ${r.p50.toFixed(2)}  p95 ${r.p95.toFixed(2)}  p99 ${r.p99.toFixed(2)} ms  ${r.tps.toFixed(1)} tps  (${r.operations} calls` +
        `${r.timeouts ? `, ${r.timeouts} cancelled at statement_timeout` : ""})` +
        (server ? `  server ${server.meanExecMs.toFixed(3)} ms/call + plan ${server.meanPlanMs.toFixed(3)}, ${server.sharedHitPerCall} hit + ${server.sharedReadPerCall} read blocks/call` : ""),
    );
  };
  // Query ids per statement, looked up after its warm-up (one client, so its entry has its text).
  const idsByQuery = new Map<string, string[]>();
  for (const q of HOT_QUERIES) {
    progress.update(`${phase}: ${q.name} warm-up`, cell / cells);
    await runCell(clients, 1, operation(q, facts, params), { durationMs: opts.warmupMs });
    idsByQuery.set(q.name, await statementIds(stats, q.sql(facts)));
    for (const c of opts.concurrencies) await measure(q, c, extra > 0 && c === TARGETS.concurrency ? ` (repeat 1/${repeats})` : "");
  }
  for (let i = 0; i < extra; i++) {
    for (const q of HOT_QUERIES) await measure(q, TARGETS.concurrency, ` (repeat ${i + 2}/${repeats})`);
  }
  return out;
}

/** Of a cell's repeats, the one with the median p95 (a measured cell, never an average). */
function medianCell(cells: readonly MeasuredCell[]): MeasuredCell {
  const m = median(cells.map((c) => c.p95));
  return cells.find((c) => c.p95 === m) ?? cells[0];
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const progress = new Progress();
  const counts = countsFor(opts.scale);
  process.stderr.write(
    `lp-db benchmark, scale ${opts.scale}: ${counts.users} users, ${counts.courses} courses, ${counts.enrollments} enrollments, ` +
      `${counts.lessonProgress} lesson-progress rows, ${counts.analyticsEvents} analytics events\n`,
  );
  const { baseline, optimisations } = splitBaseline(loadMigrations(opts.migrationsDir));
  if (optimisations.length === 0) throw new Error(`only baseline migrations in ${opts.migrationsDir}; there is nothing to compare against`);

  progress.phase("starting embedded PostgreSQL");
  let srv: BenchServer | undefined = await startBenchServer();
  const stopServer = async () => {
    const s = srv;
    srv = undefined;
    await s?.stop();
  };
  const onSignal = () => {
    void stopServer().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // The extras and the write path run at TARGETS.concurrency whatever the cells ask for.
  const maxClients = Math.max(...opts.concurrencies, TARGETS.concurrency);
  let clients: Client[] = [];
  try {
    const [admin] = await connectMany(srv.config, 1);
    clients.push(admin);
    const log = (line: string) => progress.note(line);

    progress.phase(`baseline schema (${baseline.map((m) => m.name).join(", ")})`);
    await applyMigrations(admin, baseline, { log });

    progress.phase("seeding");
    const loaders = await connectMany(srv.superuserConfig, 2);
    clients.push(...loaders);
    await seed([loaders[0], loaders[1]], opts.scale, (d, f) => progress.update(d, f));
    await Promise.all(loaders.map((c) => c.end()));
    clients = clients.filter((c) => !loaders.includes(c));

    progress.phase("measuring the baseline schema");
    const pool = await connectMany(srv.config, maxClients, APP_STATEMENT_TIMEOUT_MS);
    clients.push(...pool);
    // pg_stat_statements_reset is the superuser's unless granted; the workload itself runs as the migrator.
    const [stats] = await connectMany(srv.superuserConfig, 1);
    clients.push(stats);
    const [before, beforeContext] = await withContext(() => measurePhase("baseline", pool, opts, progress, stats));

    progress.phase(`applying ${optimisations.length} optimisation migrations under write load`);
    const [eventWriter, progressWriter] = await connectMany(srv.config, 2);
    clients.push(eventWriter, progressWriter);
    const sample = (
      await admin.query<{ user_id: string; course_id: string; lesson_id: string }>("SELECT user_id, course_id, lesson_id FROM lesson_progress ORDER BY id LIMIT 1")
    ).rows[0];
    const writers = new Writers(eventWriter, progressWriter, { userId: sample.user_id, courseId: sample.course_id, lessonId: sample.lesson_id });
    const backendPid = async (c: Client) => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    // The superuser's session sees every backend's query, so it can name what blocked a writer.
    const sampler = new LockWaitSampler(stats, { events: await backendPid(eventWriter), progress: await backendPid(progressWriter) });
    await writers.start();
    sampler.start();
    const t0 = performance.now();
    // When each migration started, to say which one the longest stall fell in.
    const started: [number, string][] = [];
    const migrationLog = (line: string) => {
      const m = /^applying (\S+)/.exec(line);
      if (m) started.push([performance.now(), m[1]]);
      log(`+${((performance.now() - t0) / 1000).toFixed(1)}s ${line}`);
    };
    let report;
    let waits: LockWait[] = [];
    let applyEnded = performance.now();
    try {
      const result = await applyMigrations(admin, [...baseline, ...optimisations], { log: migrationLog });
      applyEnded = performance.now();
      progress.note(`applied ${result.applied.length}: schema version ${result.schemaVersion}`);
    } finally {
      report = await writers.stop();
      waits = await sampler.stop();
    }
    const windows = migrationWindows(started, applyEnded);
    const lockWaits = lockWaitsOnly(waits);
    const waitsByFile = new Map(stallsByMigration(lockWaits, windows).map((w) => [w.migration, w.maxWriteStallMs]));
    const perFile = stallsByMigration(report.gaps, windows).map((s) => ({ ...s, maxLockWaitMs: waitsByFile.get(s.migration) ?? 0 }));
    for (const s of perFile) {
      progress.note(
        `  ${s.migration.padEnd(40)} longest write stall ${s.maxWriteStallMs.toFixed(1)} ms${s.writer ? ` (${s.writer} writer)` : ""}, longest lock wait ${s.maxLockWaitMs.toFixed(1)} ms`,
      );
    }
    const lw = longestLockWait(lockWaits);
    const longestWait = lw && {
      ms: Math.round((lw.end - lw.start) * 10) / 10,
      writer: lw.writer,
      lock: lw.lock,
      blockedBy: lw.blockedBy,
      migration: stallsByMigration([lw], windows).find((w) => w.writer !== null)?.migration ?? "none",
    };
    progress.note(longestWait ? `longest lock wait: ${longestWait.ms} ms (${longestWait.writer} writer on a ${longestWait.lock} lock during ${longestWait.migration}, blocked by ${longestWait.blockedBy})` : "no writer waited on a lock");
    const durationS = (performance.now() - t0) / 1000;
    const { rowsLost, eventsPresent } = await writers.verify(admin);
    const stallStart = report.maxWriteStallEndedAt - report.maxWriteStallMs;
    const running = started.filter(([t]) => t <= stallStart).pop()?.[1] ?? "none yet";
    const startedDuring = started.filter(([t]) => t > stallStart && t <= report.maxWriteStallEndedAt).map(([, n]) => n);
    const stallWhere =
      `longest stall: ${report.maxWriteStallWriter} writer, +${((stallStart - t0) / 1000).toFixed(1)}s to +${((report.maxWriteStallEndedAt - t0) / 1000).toFixed(1)}s, ` +
      `during ${running}${startedDuring.length > 0 ? ` (then ${startedDuring.join(", ")})` : ""}`;
    const spent = waitsDuring(waits, report.maxWriteStallWriter, stallStart, report.maxWriteStallEndedAt);
    progress.note(`${stallWhere}; waiting on ${spent.length ? spent.map(([e, ms]) => `${e} ${ms.toFixed(0)} ms`).join(", ") : "nothing sampled (running on CPU)"}`);
    progress.note(
      `migration took ${durationS.toFixed(1)} s; writers committed ${report.eventsCommitted} events (${eventsPresent} present) and ` +
        `${report.progressUpdatesCommitted} progress updates; ${report.errors} write errors${report.firstError ? ` (first: ${report.firstError})` : ""}; ` +
        `longest stall ${report.maxWriteStallMs.toFixed(1)} ms; rows lost ${rowsLost}`,
    );
    // Fresh statistics for the new partitioned tables and indexes (autovacuum never
    // analyzes a partitioned parent); production runs the same after a migration.
    progress.update("ANALYZE");
    await admin.query("ANALYZE");
    // What pg_cron does every minute in production (0017): the events the writers queued go into the rollup.
    if ((await stats.query("SELECT to_regprocedure('lp_ops.fold_analytics_rollup()') IS NOT NULL AS ok")).rows[0].ok) {
      await stats.query("SELECT lp_ops.fold_analytics_rollup()");
    }

    progress.phase("measuring the optimised schema");
    const [after, afterContext] = await withContext(() => measurePhase("optimised", pool, opts, progress, stats, TARGETS.repeats));

    const extras: string[] = [];
    for (const q of OPTIMISED_ONLY) {
      const params = await loadParams(pool[0]);
      const op = operation(q, await readSchemaFacts(pool[0]), params);
      await runCell(pool, 1, op, { durationMs: opts.warmupMs });
      const r = await runCell(pool, TARGETS.concurrency, op, { durationMs: opts.cellMs });
      const line = `${q.name} (optimised schema only, ${TARGETS.concurrency} clients): p50 ${r.p50} / p95 ${r.p95} / p99 ${r.p99} ms, ${r.tps} tps`;
      progress.note(line);
      extras.push(line);
    }

    progress.phase("write path: event insert with and without the rollup trigger");
    const writePath = await measureWritePath(pool, stats, await loadParams(pool[0]), opts.cellMs);
    if (writePath) {
      const f = (c: typeof writePath.withTrigger) => `p95 ${c.p95} ms, ${c.tps} tps, server ${c.server?.meanExecMs ?? "?"} ms/call`;
      const line = `event insert at ${TARGETS.concurrency} clients: with the rollup trigger ${f(writePath.withTrigger)}; without it ${f(writePath.withoutTrigger)}`;
      progress.note(line);
      extras.push(line);
    }

    progress.phase("no-op apply (provider diff + update against the up-to-date database)");
    const noopApplyMs = await measureNoopApply(srv, [...baseline, ...optimisations], log);

    const queries: QueryResult[] = [];
    const cut: string[] = [];
    const lowerBounds = new Set<string>();
    for (const q of HOT_QUERIES) {
      for (const c of opts.concurrencies) {
        const bs = before.get(`${q.name}@${c}`);
        const as = after.get(`${q.name}@${c}`);
        if (!bs || !as) continue;
        const b = medianCell(bs);
        const a = medianCell(as);
        const pick = (r: CellResult) => ({ p50: r.p50, p95: r.p95, p99: r.p99, tps: r.tps });
        queries.push({
          name: q.name,
          concurrency: c,
          baseline: pick(b),
          optimized: pick(a),
          server: { baseline: b.server, optimized: a.server },
          ...(as.length > 1 ? { optimizedRepeats: summariseRepeats(as.map((x) => ({ p95: x.p95, meanExecMs: x.server?.meanExecMs }))) } : {}),
        });
        for (const [phase, r] of [["baseline", b], ...as.map((x) => ["optimized", x] as const)] as const) {
          if (r.timeouts === 0) continue;
          cut.push(`${q.name} at ${c} clients (${phase}): ${r.timeouts} of ${r.timeouts + r.operations} calls`);
          // Only a percentile at or above the cancelled calls' time is a lower bound.
          if (r.p95 >= APP_STATEMENT_TIMEOUT_MS * 0.99) lowerBounds.add(`${q.name}@${c}@${phase}`);
        }
      }
    }
    const results: BenchResults = {
      scale: opts.scale,
      pgVersion: srv.pgVersion,
      queries,
      migrationUnderLoad: { maxWriteStallMs: report.maxWriteStallMs, rowsLost, durationS, stallsByMigration: perFile, ...(longestWait ? { longestLockWait: longestWait } : {}) },
      noopApplyMs,
      writePath,
    };
    writeResults(opts.out, results);
    writeP95Chart(opts.chart, results, lowerBounds);
    progress.done();
    process.stdout.write(
      markdown(results, [
        ...(cut.length > 0
          ? [
              `Calls cancelled at the application role's statement_timeout (${APP_STATEMENT_TIMEOUT_MS / 1000} s), recorded at that time, so these ` +
                `percentiles and the speed-ups computed from them are lower bounds: ${cut.join("; ")}.`,
              "",
            ]
          : []),
        ...(extras.length > 0 ? [`Not in the comparison: ${extras.join("; ")}.`, ""] : []),
        `Machine during the measurements — ${describeContext("baseline", beforeContext)}; ${describeContext("optimised", afterContext)}.`,
        "",
        `Writers during the migration: ${report.eventsCommitted} events and ${report.progressUpdatesCommitted} progress updates committed, ${report.errors} failed writes; ${stallWhere}.`,
        "",
        `Results: ${path.relative(REPO, opts.out)}; chart: ${path.relative(REPO, opts.chart)}.`,
      ]),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    clients = [];
    await stopServer();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
