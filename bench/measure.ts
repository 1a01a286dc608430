/**
 * Measuring the hot queries on one schema: every query at every concurrency,
 * with the server's cost per call from pg_stat_statements, the repeats of the
 * target cells, the machine's load around a phase, and the baseline/optimised
 * comparison rows.
 */
import * as os from "os";
import type { Client } from "pg";
import type { Options } from "./options";
import type { Progress } from "./progress";
import { TARGETS, median, summariseRepeats, type LatencySummary, type OptimizedOnlyResult, type QueryResult } from "./report";
import { runCell, type CellResult } from "./runner";
import { APP_STATEMENT_TIMEOUT_MS } from "./server";
import { resetStatementStats, statementCost, statementIds, type ServerCost } from "./stats";
import { HOT_QUERIES, loadParams, operation, readSchemaFacts, type HotQuery } from "./workload";

/** What else ran on the machine during a phase: the benchmark shares 2 cores with other work, and its own client costs CPU too. */
export interface PhaseContext {
  /** 1-minute load average at the start and the end. */
  readonly load: [number, number];
  /** CPU this Node process (the load generator) used, in cores, averaged over the phase. */
  readonly clientCores: number;
}

/** Runs `fn` and reports the machine's load around it. */
export async function withContext<T>(fn: () => Promise<T>): Promise<[T, PhaseContext]> {
  const load0 = os.loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return [value, { load: [load0, os.loadavg()[0]], clientCores: (cpu.user + cpu.system) / 1000 / (performance.now() - t0) }];
}

export function describeContext(phase: string, c: PhaseContext): string {
  return `${phase}: load average ${c.load[0].toFixed(1)} → ${c.load[1].toFixed(1)} on ${os.cpus().length} cores, load generator ${(c.clientCores * 100).toFixed(0)} % of a core`;
}

/** A measured cell with the server's cost per call over it. */
export type MeasuredCell = CellResult & { readonly server?: ServerCost };

/**
 * Measures every query of `queries` (the hot queries unless given) at every
 * concurrency on the current schema, with pg_stat_statements reset before
 * each cell (on `stats`, a session allowed to reset and read it) and read
 * after it. With `repeats` > 1, the
 * TARGETS.concurrency cells run that many times in all: further passes over
 * every query after the first, so the repeats of one query are minutes apart
 * and see different background load.
 */
export async function measurePhase(
  phase: string,
  clients: readonly Client[],
  opts: Options,
  progress: Progress,
  stats: Client,
  repeats = 1,
  queries: readonly HotQuery[] = HOT_QUERIES,
): Promise<Map<string, MeasuredCell[]>> {
  const params = await loadParams(clients[0]);
  const facts = await readSchemaFacts(clients[0]);
  const out = new Map<string, MeasuredCell[]>();
  const extra = opts.concurrencies.includes(TARGETS.concurrency) ? repeats - 1 : 0;
  const cells = queries.length * (opts.concurrencies.length + extra);
  let cell = 0;
  const measure = async (q: HotQuery, c: number, label: string) => {
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
  for (const q of queries) {
    progress.update(`${phase}: ${q.name} warm-up`, cell / cells);
    await runCell(clients, 1, operation(q, facts, params), { durationMs: opts.warmupMs });
    idsByQuery.set(q.name, await statementIds(stats, q.sql(facts)));
    for (const c of opts.concurrencies) await measure(q, c, extra > 0 && c === TARGETS.concurrency ? ` (repeat 1/${repeats})` : "");
  }
  for (let i = 0; i < extra; i++) {
    for (const q of queries) await measure(q, TARGETS.concurrency, ` (repeat ${i + 2}/${repeats})`);
  }
  return out;
}

/** Of a cell's repeats, the one with the median p95 (a measured cell, never an average). */
export function medianCell(cells: readonly MeasuredCell[]): MeasuredCell {
  const m = median(cells.map((c) => c.p95));
  return cells.find((c) => c.p95 === m) ?? cells[0];
}

/** A cell's latency summary. */
function latency(r: CellResult): LatencySummary {
  return { p50: r.p50, p95: r.p95, p99: r.p99, tps: r.tps };
}

/** A cell's cancelled calls, as the markdown lists them. */
function cancelledCalls(name: string, concurrency: number, phase: string, r: CellResult): string {
  return `${name} at ${concurrency} clients (${phase}): ${r.timeouts} of ${r.timeouts + r.operations} calls`;
}

/** One query's optimised cells at one concurrency: the median repeat, and the repeats when there are several. */
function optimisedSummary(as: readonly MeasuredCell[]): Pick<OptimizedOnlyResult, "optimized" | "optimizedRepeats"> & { readonly cell: MeasuredCell } {
  const cell = medianCell(as);
  return {
    cell,
    optimized: latency(cell),
    ...(as.length > 1 ? { optimizedRepeats: summariseRepeats(as.map((x) => ({ p95: x.p95, meanExecMs: x.server?.meanExecMs }))) } : {}),
  };
}

/** The optimised-only queries' rows (bench/optimised-only.ts) in query and concurrency order, and their cancelled calls. */
export function optimizedOnlyResults(opts: Options, queries: readonly HotQuery[], cells: Map<string, MeasuredCell[]>): { rows: OptimizedOnlyResult[]; cut: string[] } {
  const rows: OptimizedOnlyResult[] = [];
  const cut: string[] = [];
  for (const q of queries) {
    for (const c of opts.concurrencies) {
      const as = cells.get(`${q.name}@${c}`);
      if (!as) continue;
      const { cell, ...summary } = optimisedSummary(as);
      rows.push({ name: q.name, concurrency: c, ...summary, ...(cell.server ? { server: cell.server } : {}) });
      cut.push(...as.filter((r) => r.timeouts > 0).map((r) => cancelledCalls(q.name, c, "optimised only", r)));
    }
  }
  return { rows, cut };
}

/** The per-query comparison rows, the cancelled calls, and which chart points are lower bounds. */
export function compare(opts: Options, before: Map<string, MeasuredCell[]>, after: Map<string, MeasuredCell[]>) {
  const queries: QueryResult[] = [];
  const cut: string[] = [];
  const lowerBounds = new Set<string>();
  for (const q of HOT_QUERIES) {
    for (const c of opts.concurrencies) {
      const bs = before.get(`${q.name}@${c}`);
      const as = after.get(`${q.name}@${c}`);
      if (!bs || !as) continue;
      const b = medianCell(bs);
      const { cell: a, ...optimised } = optimisedSummary(as);
      queries.push({
        name: q.name,
        concurrency: c,
        baseline: latency(b),
        optimized: optimised.optimized,
        server: { baseline: b.server, optimized: a.server },
        ...(optimised.optimizedRepeats ? { optimizedRepeats: optimised.optimizedRepeats } : {}),
      });
      for (const [phase, r] of [["baseline", b], ...as.map((x) => ["optimized", x] as const)] as const) {
        if (r.timeouts === 0) continue;
        cut.push(cancelledCalls(q.name, c, phase, r));
        // Only a percentile at or above the cancelled calls' time is a lower bound.
        if (r.p95 >= APP_STATEMENT_TIMEOUT_MS * 0.99) lowerBounds.add(`${q.name}@${c}@${phase}`);
      }
    }
  }
  return { queries, cut, lowerBounds };
}

