/**
 * `npm run bench [-- --scale 0.05]`: seeds the baseline schema, measures the
 * hot queries, applies the optimisation migrations under write load, measures
 * again on the same data, times the provider's no-op apply, measures the hot
 * reads through the client's cache (bench/cache.ts), and writes
 * bench/results/latest.json, docs/bench-p95.svg and a markdown table on stdout.
 * See bench/README.md.
 */
import * as path from "path";
import type { Client } from "pg";
import { applyMigrations } from "../lib/migrate/engine";
import { loadMigrations, type MigrationFile } from "../lib/migrate/files";
import { writeP95Chart } from "./chart";
import { measureNoopApply } from "./noop";
import { Progress } from "./progress";
import { measureCachePhase, type CacheDatabase } from "./cache";
import { TARGETS, cacheMarkdown, markdown, writeResults, type BenchResults, type CachePhase, type OptimizedOnlyResult } from "./report";
import { countsFor, seed } from "./seed";
import { LockWaitSampler, summariseWaits, type LongestLockWait } from "./lock-waits";
import { PauseMeter, describeHostWriteback, readHostWriteback, type HostWriteback } from "./host";
import { migrationWindows, stallsByMigration, type MigrationStall } from "./stalls";
import { APP_STATEMENT_TIMEOUT_MS, connectMany, startBenchServer, type BenchServer } from "./server";
import { OPTIMISED_ONLY, PRECOMPUTED_ANALYTICS, precomputeAnalytics } from "./optimised-only";
import { loadParams, readSchemaFacts } from "./workload";
import { measureWritePath, type WritePathResult } from "./write-path";
import { Writers, type WriterReport } from "./writer";
import { REPO, parseArgs, splitBaseline, type Options } from "./options";
import { compare, describeContext, measurePhase, optimizedOnlyResults, withContext } from "./measure";

/** What every phase needs: the options, the progress display, the server and its administrative session. */
interface Run {
  readonly opts: Options;
  readonly progress: Progress;
  readonly srv: BenchServer;
  readonly admin: Client;
  /** Every open session, ended when the run stops. */
  readonly clients: Client[];
  readonly log: (line: string) => void;
}

/** Applies the baseline schema and seeds it; the loaders' sessions end with the phase. */
async function seedPhase(run: Run, baseline: readonly MigrationFile[]): Promise<void> {
  const { progress, srv, admin, clients, log } = run;
  progress.phase(`baseline schema (${baseline.map((m) => m.name).join(", ")})`);
  await applyMigrations(admin, baseline, { log });
  progress.phase("seeding");
  const loaders = await connectMany(srv.superuserConfig, 2);
  clients.push(...loaders);
  await seed([loaders[0], loaders[1]], run.opts.scale, (d, f) => progress.update(d, f));
  await Promise.all(loaders.map((c) => c.end()));
  for (const c of loaders) clients.splice(clients.indexOf(c), 1);
}

/** The workload's sessions and the statistics session, then the baseline measurement. */
async function baselinePhase(run: Run) {
  run.progress.phase("measuring the baseline schema");
  // The extras and the write path run at TARGETS.concurrency whatever the cells ask for.
  const pool = await connectMany(run.srv.config, Math.max(...run.opts.concurrencies, TARGETS.concurrency), APP_STATEMENT_TIMEOUT_MS);
  run.clients.push(...pool);
  // pg_stat_statements_reset is the superuser's unless granted; the workload itself runs as the migrator.
  const [stats] = await connectMany(run.srv.superuserConfig, 1);
  run.clients.push(stats);
  const [before, beforeContext] = await withContext(() => measurePhase("baseline", pool, run.opts, run.progress, stats));
  return { pool, stats, before, beforeContext };
}

/** The migration under write load: what the writers saw, and where the longest stall fell. */
interface MigrationOutcome {
  readonly report: WriterReport;
  readonly perFile: (MigrationStall & { readonly maxLockWaitMs: number; readonly maxWriteStallMachineRunningMs?: number })[];
  readonly longestLockWait?: LongestLockWait;
  readonly durationS: number;
  readonly rowsLost: number;
  readonly stallWhere: string;
  /** The kernel writeback the stalls were measured under (bench/host.ts). */
  readonly hostWriteback?: HostWriteback;
  /** Time the machine was paused during the apply, and the longest stall net of it; absent without /proc/stat. */
  readonly pauses?: { readonly machinePausedMs: number; readonly maxWriteStallMachineRunningMs: number };
}

/** Applies the optimisations while two writers run, then checks that no committed row was lost. */
async function migrationPhase(run: Run, migrations: readonly MigrationFile[], optimisationCount: number): Promise<MigrationOutcome> {
  const { progress, admin, log } = run;
  progress.phase(`applying ${optimisationCount} optimisation migrations under write load`);
  const hostWriteback = readHostWriteback();
  progress.note(describeHostWriteback(hostWriteback));
  const [eventWriter, progressWriter] = await connectMany(run.srv.config, 2);
  // A superuser's session sees every backend's query, so it can name what blocked a writer.
  const [sampling] = await connectMany(run.srv.superuserConfig, 1);
  run.clients.push(eventWriter, progressWriter, sampling);
  const backendPid = async (c: Client) => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  const sampler = new LockWaitSampler(sampling, { events: await backendPid(eventWriter), progress: await backendPid(progressWriter) });
  const sample = (
    await admin.query<{ user_id: string; course_id: string; lesson_id: string }>("SELECT user_id, course_id, lesson_id FROM lesson_progress ORDER BY id LIMIT 1")
  ).rows[0];
  const writers = new Writers(eventWriter, progressWriter, { userId: sample.user_id, courseId: sample.course_id, lessonId: sample.lesson_id });
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
  let waits;
  let applyEnded = performance.now();
  try {
    const result = await applyMigrations(admin, migrations, { log: migrationLog });
    applyEnded = performance.now();
    progress.note(`applied ${result.applied.length}: schema version ${result.schemaVersion}`);
  } finally {
    report = await writers.stop();
    waits = await sampler.stop();
  }
  const windows = migrationWindows(started, applyEnded);
  // A stall counted net of the time nothing in the machine ran (bench/host.ts): what the migrations and the server account for.
  const meter = sampler.cpu.length > 1 ? new PauseMeter(sampler.cpu) : undefined;
  const summary = summariseWaits(waits, windows, report, { otherIo: sampler.otherIo, pageCache: sampler.pageCache, pauses: meter });
  const running = meter && stallsByMigration(report.gaps, windows, (start, end) => end - start - meter.pausedMs(start, end));
  const perFile = stallsByMigration(report.gaps, windows).map((s, i) => ({
    ...s,
    maxLockWaitMs: summary.lockWaitByFile.get(s.migration) ?? 0,
    ...(running ? { maxWriteStallMachineRunningMs: running[i].maxWriteStallMs } : {}),
  }));
  for (const s of perFile) {
    progress.note(
      `  ${s.migration.padEnd(40)} longest write stall ${s.maxWriteStallMs.toFixed(1)} ms${s.writer ? ` (${s.writer} writer)` : ""}` +
        `${s.maxWriteStallMachineRunningMs === undefined ? "" : `, ${s.maxWriteStallMachineRunningMs.toFixed(1)} ms while the machine ran`}, longest lock wait ${s.maxLockWaitMs.toFixed(1)} ms`,
    );
  }
  const pauses = meter && {
    machinePausedMs: meter.totalPausedMs(t0, applyEnded),
    maxWriteStallMachineRunningMs: report.gaps.reduce((m, g) => Math.max(m, g.end - g.start - meter.pausedMs(g.start, g.end)), 0),
  };
  if (pauses) progress.note(`the machine was paused for ${pauses.machinePausedMs.toFixed(0)} ms of the apply; longest write stall while it ran ${pauses.maxWriteStallMachineRunningMs.toFixed(1)} ms`);
  const lw = summary.longestLockWait;
  progress.note(lw ? `longest lock wait: ${lw.ms.toFixed(1)} ms (${lw.writer} writer on a ${lw.lock} lock during ${lw.migration}, blocked by ${lw.blockedBy})` : "no writer waited on a lock");
  const durationS = (performance.now() - t0) / 1000;
  const { rowsLost, eventsPresent } = await writers.verify(admin);
  const stallWhere = `${describeLongestStall(report, started, t0)}; waiting on ${summary.longestStallWaits}; meanwhile ${summary.longestStallMeanwhile}`;
  progress.note(stallWhere);
  progress.note(
    `migration took ${durationS.toFixed(1)} s; writers committed ${report.eventsCommitted} events (${eventsPresent} present) and ` +
      `${report.progressUpdatesCommitted} progress updates; ${report.errors} write errors${report.firstError ? ` (first: ${report.firstError})` : ""}; ` +
      `longest stall ${report.maxWriteStallMs.toFixed(1)} ms; rows lost ${rowsLost}`,
  );
  return { report, perFile, durationS, rowsLost, stallWhere, hostWriteback, ...(pauses ? { pauses } : {}), ...(lw ? { longestLockWait: lw } : {}) };
}

/** Which writer stalled longest, when, and which migration was running then. */
function describeLongestStall(report: WriterReport, started: readonly [number, string][], t0: number): string {
  const stallStart = report.maxWriteStallEndedAt - report.maxWriteStallMs;
  const running = started.filter(([t]) => t <= stallStart).pop()?.[1] ?? "none yet";
  const startedDuring = started.filter(([t]) => t > stallStart && t <= report.maxWriteStallEndedAt).map(([, n]) => n);
  return (
    `longest stall: ${report.maxWriteStallWriter} writer, +${((stallStart - t0) / 1000).toFixed(1)}s to +${((report.maxWriteStallEndedAt - t0) / 1000).toFixed(1)}s, ` +
    `during ${running}${startedDuring.length > 0 ? ` (then ${startedDuring.join(", ")})` : ""}`
  );
}

/** ANALYZE and the rollup fold production runs after a migration, then the optimised measurement with repeats. */
async function optimisedPhase(run: Run, pool: readonly Client[], stats: Client) {
  // Fresh statistics for the new partitioned tables and indexes (autovacuum never
  // analyzes a partitioned parent); production runs the same after a migration.
  run.progress.update("ANALYZE");
  await run.admin.query("ANALYZE");
  // What pg_cron does every minute in production (0017): the events the writers queued go into the rollup.
  if ((await stats.query("SELECT to_regprocedure('lp_ops.fold_analytics_rollup()') IS NOT NULL AS ok")).rows[0].ok) {
    await stats.query("SELECT lp_ops.fold_analytics_rollup()");
  }
  run.progress.phase("measuring the optimised schema");
  return withContext(() => measurePhase("optimised", pool, run.opts, run.progress, stats, TARGETS.repeats));
}

/**
 * Measurements outside the before/after comparison: the optimised-only queries (the floors, with the analytics answers
 * precomputed for them, and the view read) like the hot queries, and the write path.
 */
async function extrasPhase(
  run: Run,
  pool: readonly Client[],
  stats: Client,
): Promise<{ extras: string[]; optimizedOnly: OptimizedOnlyResult[]; cut: string[]; writePath?: WritePathResult }> {
  const { opts, progress } = run;
  const extras: string[] = [];
  progress.phase("optimised schema only: the floors and the view read");
  const params = await loadParams(pool[0]);
  let cells;
  try {
    const stored = await precomputeAnalytics(stats, params.instructorIds, await readSchemaFacts(pool[0]));
    progress.note(`precomputed ${stored} rows of instructor analytics answers for ${params.instructorIds.length} instructors`);
    cells = await measurePhase("floors", pool, opts, progress, stats, TARGETS.repeats, OPTIMISED_ONLY);
  } finally {
    await stats.query(PRECOMPUTED_ANALYTICS.drop);
  }
  const { rows: optimizedOnly, cut } = optimizedOnlyResults(opts, OPTIMISED_ONLY, cells);
  progress.phase("write path: event insert with and without the rollup trigger");
  const writePath = await measureWritePath(pool, stats, params, opts.cellMs);
  if (writePath) {
    const f = (c: typeof writePath.withTrigger) => `p95 ${c.p95} ms, ${c.tps} tps, server ${c.server?.meanExecMs ?? "?"} ms/call`;
    const line = `event insert at ${TARGETS.concurrency} clients: with the rollup trigger ${f(writePath.withTrigger)}; without it ${f(writePath.withoutTrigger)}`;
    progress.note(line);
    extras.push(line);
  }
  return { extras, optimizedOnly, cut, writePath };
}

/** The hot reads through the client's cache on the same seeded, optimised database (bench/cache.ts). */
async function cachePhase(run: Run): Promise<CachePhase> {
  run.progress.phase("cache: hot reads through @lp/db-client with L1 + Redis, and without");
  const c = run.srv.config as CacheDatabase;
  const cache = await measureCachePhase(run.admin, c, { recordMs: run.opts.cacheRecordMs, warmupMaxMs: run.opts.cacheWarmupMaxMs, log: (l) => run.progress.update(l) });
  for (const line of cacheMarkdown(cache)) if (line && !line.startsWith("|")) run.progress.note(line);
  return cache;
}

/** Writes latest.json and the chart, and prints the markdown. */
function publish(opts: Options, results: BenchResults, lowerBounds: ReadonlySet<string>, notes: { cut: string[]; extras: string[]; contexts: string; migration: MigrationOutcome }): void {
  writeResults(opts.out, results);
  writeP95Chart(opts.chart, results, lowerBounds);
  const { cut, extras, migration } = notes;
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
      `Machine during the measurements — ${notes.contexts}.`,
      "",
      `Writers during the migration: ${migration.report.eventsCommitted} events and ${migration.report.progressUpdatesCommitted} progress updates committed, ` +
        `${migration.report.errors} failed writes; ${migration.stallWhere}.`,
      "",
      `Results: ${path.relative(REPO, opts.out)}; chart: ${path.relative(REPO, opts.chart)}.`,
    ]),
  );
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
  const clients: Client[] = [];
  try {
    const [admin] = await connectMany(srv.config, 1);
    clients.push(admin);
    const run: Run = { opts, progress, srv, admin, clients, log: (line) => progress.note(line) };
    await seedPhase(run, baseline);
    const { pool, stats, before, beforeContext } = await baselinePhase(run);
    const migration = await migrationPhase(run, [...baseline, ...optimisations], optimisations.length);
    const [after, afterContext] = await optimisedPhase(run, pool, stats);
    const { extras, optimizedOnly, cut: cutOptimisedOnly, writePath } = await extrasPhase(run, pool, stats);
    progress.phase("no-op apply (provider diff + update against the up-to-date database)");
    const noopApplyMs = await measureNoopApply(srv, [...baseline, ...optimisations], run.log);
    const cache = await cachePhase(run);

    const { queries, cut, lowerBounds } = compare(opts, before, after);
    const { report: w, rowsLost, durationS, perFile } = migration;
    const results: BenchResults = {
      scale: opts.scale,
      pgVersion: srv.pgVersion,
      queries,
      migrationUnderLoad: {
        maxWriteStallMs: w.maxWriteStallMs,
        rowsLost,
        durationS,
        stallsByMigration: perFile,
        ...(migration.longestLockWait ? { longestLockWait: migration.longestLockWait } : {}),
        longestStall: migration.stallWhere,
        ...(migration.hostWriteback ? { hostWriteback: migration.hostWriteback } : {}),
        ...(migration.pauses ?? {}),
      },
      noopApplyMs,
      optimizedOnly,
      writePath,
      cache,
    };
    progress.done();
    const contexts = `${describeContext("baseline", beforeContext)}; ${describeContext("optimised", afterContext)}`;
    publish(opts, results, lowerBounds, { cut: [...cut, ...cutOptimisedOnly], extras, contexts, migration });
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    clients.length = 0;
    await stopServer();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
