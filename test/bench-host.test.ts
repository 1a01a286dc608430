/**
 * The benchmark's report of the host's kernel writeback (bench/host.ts): the
 * threshold the kernel applies, read from /proc, and the advice given when it
 * lets more dirty data pile up than a WAL fsync should queue behind; and the
 * time the machine itself was paused, from the CPU time /proc/stat accounts.
 */
import { describe, expect, test } from "vitest";
import { MIN_PAUSE_MS, PauseMeter, RECOMMENDED_DIRTY_BACKGROUND_BYTES, describeHostWriteback, parseCpuTicks, readHostWriteback, runningTickRate, writebackThreshold } from "../bench/host";
import { RUNNING_TICKS_PER_MS, cpuSamples } from "./harness/cpu-samples";

const GIB = 2 ** 30;

/** A /proc with the given files; any other path throws as a missing file does. */
function fakeProc(files: Record<string, string>): (p: string) => string {
  return (p) => {
    if (!(p in files)) throw new Error(`ENOENT: ${p}`);
    return files[p];
  };
}

const linuxDefaults = {
  "/proc/meminfo": "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20971520 kB\n",
  "/proc/sys/vm/dirty_background_bytes": "0\n",
  "/proc/sys/vm/dirty_background_ratio": "10\n",
  "/proc/sys/vm/dirty_expire_centisecs": "3000\n",
};

describe("host writeback", () => {
  test.each([
    { bytes: 0, ratio: 10, mem: 20 * GIB, expected: 2 * GIB },
    { bytes: 64 * 2 ** 20, ratio: 10, mem: 20 * GIB, expected: 64 * 2 ** 20 },
    { bytes: 0, ratio: 0, mem: 20 * GIB, expected: 0 },
  ])("the byte setting wins when non-zero, else the ratio of available memory: $bytes B, $ratio %", ({ bytes, ratio, mem, expected }) => {
    expect(writebackThreshold(bytes, ratio, mem)).toBe(expected);
  });

  test("reads the kernel's settings and derives the threshold from the ratio when no byte value is set", () => {
    expect(readHostWriteback(fakeProc(linuxDefaults))).toEqual({
      dirtyBackgroundBytes: 0,
      dirtyBackgroundRatio: 10,
      dirtyExpireCentisecs: 3000,
      memAvailableBytes: 20 * GIB,
      thresholdBytes: 2 * GIB,
    });
  });

  test.each([
    ["no /proc", {}],
    ["a meminfo without MemAvailable", { ...linuxDefaults, "/proc/meminfo": "MemTotal: 1 kB\n" }],
    ["no writeback settings", { "/proc/meminfo": linuxDefaults["/proc/meminfo"] }],
  ])("is undefined with %s, and says the settings are unknown", (_name, files) => {
    const w = readHostWriteback(fakeProc(files));
    expect(w).toBeUndefined();
    expect(describeHostWriteback(w)).toMatch(/unknown/);
  });

  test("a threshold above the recommended one is named with the sysctl that lowers it", () => {
    const line = describeHostWriteback(readHostWriteback(fakeProc(linuxDefaults)));
    expect(line).toMatch(/starts at 2048 MB of dirty data \(vm\.dirty_background_ratio = 10 % of 20480 MB available\)/);
    expect(line).toContain(`sysctl -w vm.dirty_background_bytes=${RECOMMENDED_DIRTY_BACKGROUND_BYTES}`);
  });

  test("a threshold at the recommended one gives no advice", () => {
    const line = describeHostWriteback(
      readHostWriteback(fakeProc({ ...linuxDefaults, "/proc/sys/vm/dirty_background_bytes": `${RECOMMENDED_DIRTY_BACKGROUND_BYTES}\n` })),
    );
    expect(line).toBe(`host writeback starts at 64 MB of dirty data (vm.dirty_background_bytes = ${RECOMMENDED_DIRTY_BACKGROUND_BYTES})`);
  });
});

describe("machine pauses", () => {
  test("parseCpuTicks sums every state of the aggregate cpu line, idle included, and finds nothing in a text without it", () => {
    expect(parseCpuTicks("cpu  2683509 266045 837889 2182628 49761 0 54561 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n")).toBe(6074393);
    expect(parseCpuTicks("cpu0 1 2 3\n")).toBeUndefined();
    // guest and guest_nice (the last two) are already inside user and nice.
    expect(parseCpuTicks("cpu  10 0 5 80 0 0 0 0 7 3\n")).toBe(95);
    expect(parseCpuTicks("")).toBeUndefined();
  });

  test("the running rate is the median over one-second chunks, so a pause inside the run does not lower it", () => {
    const s = cpuSamples(10_000, [[4000, 4900]]);
    expect(runningTickRate(s)).toBeCloseTo(RUNNING_TICKS_PER_MS, 2);
    // Over the whole span the same samples give a lower rate.
    expect((s[s.length - 1].ticks - s[0].ticks) / (s[s.length - 1].at - s[0].at)).toBeLessThan(0.19);
    expect(runningTickRate([])).toBe(0);
    expect(runningTickRate(cpuSamples(500))).toBeCloseTo(RUNNING_TICKS_PER_MS, 1);
  });

  test.each([
    { what: "a window that holds the whole pause", start: 3900, end: 5100, paused: 400 },
    { what: "the pause exactly", start: 4000, end: 4400, paused: 400 },
    { what: "a window inside the pause (at most its own length)", start: 4100, end: 4200, paused: 100 },
    { what: "a window before it", start: 1000, end: 2000, paused: 0 },
    { what: "a window after it", start: 6000, end: 9000, paused: 0 },
    { what: "an empty window", start: 4200, end: 4200, paused: 0 },
  ])("pausedMs: $what", ({ start, end, paused }) => {
    const meter = new PauseMeter(cpuSamples(10_000, [[4000, 4400]]));
    expect(meter.pausedMs(start, end)).toBeGreaterThanOrEqual(paused - 10);
    expect(meter.pausedMs(start, end)).toBeLessThanOrEqual(paused + 10);
  });

  test("a machine that ran throughout was never paused, and without samples nothing is known to be", () => {
    const meter = new PauseMeter(cpuSamples(10_000));
    expect(meter.pausedMs(0, 9_000)).toBeLessThan(10);
    expect(meter.totalPausedMs(0, 10_000)).toBe(0);
    // A poll that came late while the machine ran is not a pause.
    const late = cpuSamples(10_000).filter((x) => x.at < 5000 || x.at >= 5000 + MIN_PAUSE_MS * 2);
    expect(new PauseMeter(late).totalPausedMs(0, 10_000)).toBe(0);
    // A pause shorter than a tick's accuracy is not added up.
    expect(new PauseMeter(cpuSamples(10_000, [[5000, 5000 + MIN_PAUSE_MS - 5]])).totalPausedMs(0, 10_000)).toBe(0);
    expect(new PauseMeter([]).pausedMs(0, 1000)).toBe(0);
  });

  test("one vCPU of two paused counts as half its time: the machine ran at half speed", () => {
    // Polls go on (the other CPU runs the poller), with half the ticks from 4000 to 4400.
    const s = cpuSamples(10_000).map((x) => ({ at: x.at, ticks: x.ticks - Math.round(Math.min(Math.max(x.at - 4000, 0), 400) * (RUNNING_TICKS_PER_MS / 2)) }));
    expect(new PauseMeter(s).pausedMs(3900, 4500)).toBeCloseTo(200, -1);
  });

  test.each([
    { what: "both pauses", start: 0, end: 10_000, total: 500 },
    { what: "the part of a pause inside the window", start: 4200, end: 7000, total: 200 },
    { what: "no pause", start: 5000, end: 7000, total: 0 },
  ])("totalPausedMs adds up the pauses of a long window without the ticks' rounding: $what", ({ start, end, total }) => {
    const meter = new PauseMeter(cpuSamples(10_000, [[4000, 4400], [8000, 8100]]));
    expect(meter.totalPausedMs(start, end)).toBeGreaterThanOrEqual(total - 10);
    expect(meter.totalPausedMs(start, end)).toBeLessThanOrEqual(total + 10);
  });
});
