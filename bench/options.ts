/**
 * The benchmark's command line: options, their defaults and the usage text,
 * and which migrations are the baseline schema.
 */
import * as path from "path";
import { DEFAULT_MIGRATIONS_DIR, type MigrationFile } from "../lib/migrate/files";
import { DEFAULT_RECORD_MS, DEFAULT_WARMUP_MAX_MS } from "./cache";

export const REPO = path.resolve(__dirname, "..");

/** Command-line options. */
export interface Options {
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
  /** Cache phase: recording time through the cache (bench/cache.ts). */
  readonly cacheRecordMs: number;
  /** Cache phase: bound on the warm-up that waits for a steady hit ratio. */
  readonly cacheWarmupMaxMs: number;
}

/** Each hot query alone, at the concurrencies the platform sizes for (bench/README.md). */
const DEFAULT_CONCURRENCIES = [1, 16, 64];
/** Per-cell recording time: 24 cells per phase × 4 s keeps the whole run inside the 15-minute budget at scale 1. */
const DEFAULT_CELL_MS = 4_000;
/** Warm-up per query and phase: fills the caches and the plan cache before recording. */
const DEFAULT_WARMUP_MS = 1_000;
/** Migrations up to and including this one are the baseline schema; the rest are the optimisations. */
const BASELINE_MIGRATION = /baseline/;

const USAGE = `usage: npm run bench -- [--scale <factor>] [--duration <seconds per cell>] [--warmup <seconds>]
                      [--concurrency 1,16,64] [--out bench/results/latest.json] [--chart docs/bench-p95.svg]
                      [--migrations <dir>] [--cache-duration <seconds>] [--cache-warmup-max <seconds>]`;

/** Options given in seconds, kept in milliseconds, with their minimum. */
const SECONDS_FLAGS: Readonly<Record<string, { field: "cellMs" | "warmupMs" | "cacheRecordMs" | "cacheWarmupMaxMs"; min: number }>> = {
  "--duration": { field: "cellMs", min: 0.1 },
  "--warmup": { field: "warmupMs", min: 0 },
  "--cache-duration": { field: "cacheRecordMs", min: 1 },
  "--cache-warmup-max": { field: "cacheWarmupMaxMs", min: 1 },
};

export function parseArgs(argv: readonly string[]): Options {
  const o = {
    scale: 1,
    cellMs: DEFAULT_CELL_MS,
    warmupMs: DEFAULT_WARMUP_MS,
    concurrencies: DEFAULT_CONCURRENCIES,
    out: path.join(REPO, "bench", "results", "latest.json"),
    chart: path.join(REPO, "docs", "bench-p95.svg"),
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    cacheRecordMs: DEFAULT_RECORD_MS,
    cacheWarmupMaxMs: DEFAULT_WARMUP_MAX_MS,
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number ≥ ${min}, got ${JSON.stringify(v)}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const seconds = Object.hasOwn(SECONDS_FLAGS, a) ? SECONDS_FLAGS[a] : undefined;
    if (seconds) {
      o[seconds.field] = num(a, v, seconds.min) * 1000;
      i++;
      continue;
    }
    switch (a) {
      case "--scale":
        o.scale = num(a, v, 0.001);
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
export function splitBaseline(migrations: readonly MigrationFile[]): { baseline: MigrationFile[]; optimisations: MigrationFile[] } {
  const last = migrations.findIndex((m) => BASELINE_MIGRATION.test(m.name));
  if (last < 0) throw new Error(`no baseline migration (a file whose name matches ${BASELINE_MIGRATION}) among ${migrations.map((m) => m.name).join(", ") || "none"}`);
  return { baseline: migrations.slice(0, last + 1), optimisations: migrations.slice(last + 1) };
}

