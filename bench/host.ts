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
