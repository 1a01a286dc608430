/** /proc/stat CPU-time samples of a machine that pauses, for the pause measurement's tests (bench/host.ts). */
import type { CpuSample } from "../../bench/host";

/** Two CPUs at 100 ticks per second each: 0.2 ticks per ms while the machine runs. */
export const RUNNING_TICKS_PER_MS = 0.2;

/**
 * A poll every `step` ms over [0, until), accounting nothing inside one of
 * `pauses` ([start, end) pairs), where the poller, paused with the machine,
 * takes no sample either.
 */
export function cpuSamples(until: number, pauses: readonly [number, number][] = [], step = 5): CpuSample[] {
  const out: CpuSample[] = [];
  let ticks = 0;
  for (let at = 0; at < until; at += step) {
    if (pauses.some(([a, b]) => at >= a && at < b)) continue;
    out.push({ at, ticks: Math.floor(ticks) });
    ticks += RUNNING_TICKS_PER_MS * step;
  }
  return out;
}
