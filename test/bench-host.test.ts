/**
 * The benchmark's report of the host's kernel writeback (bench/host.ts): the
 * threshold the kernel applies, read from /proc, and the advice given when it
 * lets more dirty data pile up than a WAL fsync should queue behind.
 */
import { describe, expect, test } from "vitest";
import { RECOMMENDED_DIRTY_BACKGROUND_BYTES, describeHostWriteback, readHostWriteback, writebackThreshold } from "../bench/host";

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
