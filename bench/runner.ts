/**
 * Closed-loop load generator: N dedicated connections each run one operation
 * after another for a fixed time; latencies go into an HdrHistogram.
 */
import { build } from "hdr-histogram-js";
import type { ClientBase } from "pg";
import { round, type LatencySummary } from "./report";

/** One operation against the database; the runner times it end to end (client round trip included). */
export type Operation = (client: ClientBase) => Promise<unknown>;

/** How long one (query, concurrency) cell runs. */
export interface CellOptions {
  /** Recording time; each client stops starting new operations after it. */
  readonly durationMs: number;
  /** Called about every PROGRESS_TICK_MS with the operations completed so far and the elapsed fraction. */
  readonly onTick?: (completed: number, fraction: number) => void;
}

/** A measured cell: the summary plus the raw counts behind it. */
export interface CellResult extends LatencySummary {
  /** Calls that completed (they make the throughput). */
  readonly operations: number;
  /** Calls the server cancelled at statement_timeout; recorded at their elapsed time, a lower bound. */
  readonly timeouts: number;
  readonly wallMs: number;
}

/** SQLSTATE query_canceled: statement_timeout fired. */
const QUERY_CANCELED = "57014";

/** How often the progress callback fires. */
const PROGRESS_TICK_MS = 500;
/** HdrHistogram precision: 3 significant digits (0.1 % value resolution), values in microseconds. */
const SIGNIFICANT_DIGITS = 3;

/**
 * Runs `op` on `concurrency` of the given clients at once for `durationMs`.
 * Every client completes at least one recorded operation, so a query slower
 * than the window (the baseline's full scans at 64 clients) still yields one
 * sample per client instead of none; throughput is operations over the wall
 * time until the last one finished. A call the server cancels at the
 * session's statement_timeout is recorded at its elapsed time (so the
 * percentiles are lower bounds, never flattered) and counted, not thrown; any
 * other error aborts the cell: a benchmark that silently drops failures would
 * flatter the numbers.
 */
export async function runCell(clients: readonly ClientBase[], concurrency: number, op: Operation, opts: CellOptions): Promise<CellResult> {
  if (clients.length < concurrency) throw new Error(`runCell: ${concurrency} clients requested but only ${clients.length} connections are open`);
  const hist = build({ numberOfSignificantValueDigits: SIGNIFICANT_DIGITS });
  let completed = 0;
  let timeouts = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(opts.durationMs) * 1_000_000n;
  const ticker = opts.onTick
    ? setInterval(() => opts.onTick?.(completed, Math.min(Number(process.hrtime.bigint() - start) / 1e6 / opts.durationMs, 1)), PROGRESS_TICK_MS)
    : undefined;
  let failure: Error | undefined;
  const worker = async (client: ClientBase) => {
    let mine = 0;
    while (!failure && (mine === 0 || process.hrtime.bigint() < deadline)) {
      const t0 = process.hrtime.bigint();
      let ok = true;
      try {
        await op(client);
      } catch (err) {
        if ((err as { code?: string }).code !== QUERY_CANCELED) {
          failure ??= err as Error;
          return;
        }
        ok = false;
        timeouts++;
      }
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      hist.recordValue(Math.max(1, Math.round(us)));
      mine++;
      if (ok) completed++;
    }
  };
  try {
    await Promise.all(clients.slice(0, concurrency).map(worker));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  if (failure) throw failure;
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const ms = (p: number) => round(hist.getValueAtPercentile(p) / 1000, 3);
  const result: CellResult = { p50: ms(50), p95: ms(95), p99: ms(99), tps: round((completed / wallMs) * 1000, 1), operations: completed, timeouts, wallMs };
  hist.destroy();
  return result;
}
