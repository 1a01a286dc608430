/**
 * How much written data this host's kernel lets pile up before it starts
 * writing it back, read from /proc. The online index builds of the
 * optimisation migrations write their index files straight into the page
 * cache (hundreds of MB each, outside shared_buffers). With Linux's default
 * (writeback from 10 % of RAM, or after 30 s), the kernel later writes a whole
 * file back in one burst, and every commit's WAL fsync queues behind it: the
 * writers stall although no lock is held. PostgreSQL's documentation describes
 * the same effect for checkpoints ("these pages may be kept in the OS's page
 * cache, inducing a stall when fsync is issued",
 * https://www.postgresql.org/docs/current/runtime-config-wal.html#GUC-CHECKPOINT-FLUSH-AFTER),
 * and the kernel's knobs are documented in
 * https://docs.kernel.org/admin-guide/sysctl/vm.html (dirty_background_bytes,
 * dirty_background_ratio, dirty_expire_centisecs).
 */
import * as fs from "fs";

/** Background writeback threshold the benchmark host should have: small enough that a WAL fsync never queues behind hundreds of MB. */
export const RECOMMENDED_DIRTY_BACKGROUND_BYTES = 64 * 1024 * 1024;

/** The host's writeback settings, as the kernel applies them. */
export interface HostWriteback {
  /** vm.dirty_background_bytes; 0 when the ratio applies instead. */
  readonly dirtyBackgroundBytes: number;
  /** vm.dirty_background_ratio (% of available memory). */
  readonly dirtyBackgroundRatio: number;
  /** vm.dirty_expire_centisecs: age at which dirty data is written back whatever the amount. */
  readonly dirtyExpireCentisecs: number;
  /** MemAvailable from /proc/meminfo, the base of the ratio. */
  readonly memAvailableBytes: number;
  /** Dirty data the kernel lets accumulate before background writeback starts. */
  readonly thresholdBytes: number;
}

/** One `<field>: <n> kB` line of /proc/meminfo text, in kB; undefined when the field is missing. */
export function meminfoKb(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The effective background threshold: the byte setting when non-zero, else the ratio of available memory (the kernel's rule). */
export function writebackThreshold(bytes: number, ratio: number, memAvailableBytes: number): number {
  return bytes > 0 ? bytes : Math.floor((memAvailableBytes * ratio) / 100);
}

/** Reads the settings; undefined off Linux or when /proc is not readable. */
export function readHostWriteback(read: (p: string) => string = (p) => fs.readFileSync(p, "utf8")): HostWriteback | undefined {
  try {
    const num = (p: string) => Number(read(p).trim());
    const memKb = meminfoKb(read("/proc/meminfo"), "MemAvailable");
    if (memKb === undefined) return undefined;
    const dirtyBackgroundBytes = num("/proc/sys/vm/dirty_background_bytes");
    const dirtyBackgroundRatio = num("/proc/sys/vm/dirty_background_ratio");
    const memAvailableBytes = memKb * 1024;
    return {
      dirtyBackgroundBytes,
      dirtyBackgroundRatio,
      dirtyExpireCentisecs: num("/proc/sys/vm/dirty_expire_centisecs"),
      memAvailableBytes,
      thresholdBytes: writebackThreshold(dirtyBackgroundBytes, dirtyBackgroundRatio, memAvailableBytes),
    };
  } catch {
    return undefined;
  }
}

const mb = (n: number) => `${Math.round(n / 2 ** 20)} MB`;

/** One line for the results: the threshold, and how to lower it when it lets more than the recommended amount pile up. */
export function describeHostWriteback(w: HostWriteback | undefined): string {
  if (!w) return "host writeback settings unknown (no /proc)";
  const setting = w.dirtyBackgroundBytes > 0 ? `vm.dirty_background_bytes = ${w.dirtyBackgroundBytes}` : `vm.dirty_background_ratio = ${w.dirtyBackgroundRatio} % of ${mb(w.memAvailableBytes)} available`;
  const base = `host writeback starts at ${mb(w.thresholdBytes)} of dirty data (${setting})`;
  return w.thresholdBytes <= RECOMMENDED_DIRTY_BACKGROUND_BYTES
    ? base
    : `${base}: above ${mb(RECOMMENDED_DIRTY_BACKGROUND_BYTES)}, the index builds' data is written back in bursts that commits' WAL fsyncs queue behind, ` +
        `so the write stalls measure this host's page cache rather than the migrations; run \`sysctl -w vm.dirty_background_bytes=${RECOMMENDED_DIRTY_BACKGROUND_BYTES}\` as root first (bench/README.md, "Write stalls and the host")`;
}

/**
 * The CPU time the kernel has accounted to this machine by one moment: the sum
 * of every state of /proc/stat's aggregate `cpu` line (user, system, idle,
 * iowait, …), in USER_HZ ticks (proc(5), https://man7.org/linux/man-pages/man5/proc_stat.5.html).
 * Idle time counts, so on a running machine the sum grows at CPUs × USER_HZ
 * per second whatever the load. A busy virtual CPU that is not running at all
 * (held by the hypervisor; this host's kernel reports no steal time) or runs
 * with interrupts off gets no ticks, so the sum falls behind the wall clock:
 * time the machine was paused, which no query, lock or disk wait inside it
 * explains. An idle vCPU held the same way may still be credited idle time,
 * so what this measures is a lower bound. Two CPU burners for 40 s leave no
 * such gap on this host (bench/README.md).
 */
export interface CpuSample {
  /** performance.now() of the read. */
  readonly at: number;
  readonly ticks: number;
}

/** States of the `cpu` line that add up to the time: user … steal; guest and guest_nice are already inside user and nice (proc_stat(5)). */
const CPU_TIME_FIELDS = 8;

/** The sum of the aggregate `cpu` line of /proc/stat text; undefined when there is none. */
export function parseCpuTicks(text: string): number | undefined {
  const m = /^cpu\s+(\d[\d\s]*)$/m.exec(text);
  return m
    ? m[1]
        .trim()
        .split(/\s+/)
        .slice(0, CPU_TIME_FIELDS)
        .reduce((sum, n) => sum + Number(n), 0)
    : undefined;
}

/** Span of samples one rate estimate is taken over: long enough that a tick's granularity does not matter. */
const RATE_CHUNK_MS = 1000;

/**
 * Ticks per millisecond of a running machine: the median over chunks of at
 * least RATE_CHUNK_MS, so a pause inside one chunk does not lower it; the
 * whole span's rate when the samples cover less than two chunks.
 */
export function runningTickRate(samples: readonly CpuSample[]): number {
  if (samples.length < 2) return 0;
  const rates: number[] = [];
  let from = samples[0];
  for (const s of samples) {
    if (s.at - from.at >= RATE_CHUNK_MS) {
      rates.push((s.ticks - from.ticks) / (s.at - from.at));
      from = s;
    }
  }
  const last = samples[samples.length - 1];
  if (rates.length < 2) return last.at > samples[0].at ? (last.ticks - samples[0].ticks) / (last.at - samples[0].at) : 0;
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

/**
 * A pause shorter than this is not counted: /proc/stat counts in ticks of
 * 10 ms per CPU (USER_HZ 100), and a poll is a few milliseconds off the edges
 * of what it measures.
 */
export const MIN_PAUSE_MS = 20;

/**
 * How much of a window the machine was paused, from the samples of one run
 * (in time order): the wall time between the samples around the window minus
 * the time their accounted ticks cover at the running rate, at most the
 * window's length, so known to within the samples' spacing. One vCPU of two
 * paused for 100 ms counts as 50 ms: the machine ran at half speed.
 */
export class PauseMeter {
  private readonly rate: number;

  constructor(private readonly samples: readonly CpuSample[]) {
    this.rate = runningTickRate(samples);
  }

  /** Paused milliseconds inside [start, end]; 0 without samples. */
  pausedMs(start: number, end: number): number {
    if (this.rate <= 0 || end <= start) return 0;
    const before = this.samples[Math.max(0, this.firstIndex((s) => s.at > start) - 1)];
    const after = this.samples[Math.min(this.samples.length - 1, this.firstIndex((s) => s.at >= end))];
    return Math.min(end - start, Math.max(0, this.shortfallMs(before, after)));
  }

  /**
   * The pauses inside [start, end] added up: each interval between two polls
   * whose ticks fall at least MIN_PAUSE_MS short of it (the sampler is paused
   * with the machine, so a pause lengthens the interval it falls in). Summing
   * only those keeps a long window free of the ticks' rounding.
   */
  totalPausedMs(start: number, end: number): number {
    if (this.rate <= 0 || end <= start) return 0;
    let total = 0;
    for (let i = Math.max(1, this.firstIndex((s) => s.at > start)); i < this.samples.length && this.samples[i - 1].at < end; i++) {
      const [a, b] = [this.samples[i - 1], this.samples[i]];
      const paused = this.shortfallMs(a, b);
      if (paused >= MIN_PAUSE_MS) total += Math.min(paused, Math.min(b.at, end) - Math.max(a.at, start));
    }
    return total;
  }

  /** Wall time between two samples minus the time their accounted ticks cover at the running rate. */
  private shortfallMs(a: CpuSample, b: CpuSample): number {
    return b.at - a.at - (b.ticks - a.ticks) / this.rate;
  }

  /** Index of the first sample for which `isPast` holds (binary search: it holds for every later one); the length when none. */
  private firstIndex(isPast: (s: CpuSample) => boolean): number {
    let lo = 0;
    let hi = this.samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (isPast(this.samples[mid])) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
