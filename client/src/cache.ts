/**
 * Cache-aside in two levels: L1 an in-process LRU, L2 Redis (TLS + AUTH in
 * production). A miss in both runs the loader once per key however many
 * callers wait (single flight), then fills both levels.
 *
 * L1 keeps an entry at most the l1 tier (60 s) even when its TTL is longer:
 * an invalidation in another process reaches L2 at once but this process's
 * L1 only when the entry expires, so the l1 tier bounds that staleness.
 */
import { EventEmitter } from "events";
import { promisify } from "util";
import { deflate, inflate } from "zlib";
import type Redis from "ioredis";
import { LRUCache } from "lru-cache";
import type { DbClientEvents } from "./events";
import { DEFAULT_TTL_TIERS, type CacheTtlTiers } from "./manifest";

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** Values whose JSON is larger than this are deflated before they go to Redis (smaller payloads gain too little to pay the CPU). */
export const COMPRESSION_THRESHOLD_BYTES = 1024;
/** In-process entries kept at most. */
export const DEFAULT_L1_MAX_ENTRIES = 10_000;
/** Key prefixes in Redis. */
export const VALUE_PREFIX = "lp:v:";
export const TAG_PREFIX = "lp:t:";

/** First byte of a stored value: how the rest is encoded. */
const RAW = 0x00;
const DEFLATED = 0x01;

export type TtlTier = keyof CacheTtlTiers;

export interface CacheSetOptions {
  /** A tier name or seconds. */
  readonly ttl: TtlTier | number;
  /** Tags for invalidateTag (e.g. `course:42`). */
  readonly tags?: readonly string[];
}

export interface LevelCounters {
  hits: number;
  misses: number;
}

export interface CacheStats {
  readonly l1: LevelCounters;
  readonly l2: LevelCounters;
  /** Loader runs (misses in both levels after single flight). */
  readonly loads: number;
  /** Callers that joined a load already in flight. */
  readonly coalesced: number;
}

export interface CacheOptions {
  /** A connected ioredis client (see connectRedis); absent means L1 only. */
  readonly redis?: Redis;
  /** @default { l1: 60, l2: 300, l3: 1800 } */
  readonly ttlSeconds?: CacheTtlTiers;
  /** @default 10000 */
  readonly l1MaxEntries?: number;
  /** Receives `cacheError` when Redis fails; a failing L2 never fails the read. */
  readonly events?: EventEmitter<DbClientEvents>;
}

interface L1Entry {
  readonly value: unknown;
  readonly tags: readonly string[];
}

export class QueryCache {
  private readonly l1: LRUCache<string, L1Entry>;
  private readonly redis?: Redis;
  private readonly tiers: CacheTtlTiers;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly l1Tags = new Map<string, Set<string>>();
  private readonly events?: EventEmitter<DbClientEvents>;
  private readonly counters = { l1: { hits: 0, misses: 0 }, l2: { hits: 0, misses: 0 }, loads: 0, coalesced: 0 };

  constructor(opts: CacheOptions = {}) {
    this.redis = opts.redis;
    this.tiers = opts.ttlSeconds ?? DEFAULT_TTL_TIERS;
    this.events = opts.events;
    this.l1 = new LRUCache<string, L1Entry>({
      max: opts.l1MaxEntries ?? DEFAULT_L1_MAX_ENTRIES,
      ttlAutopurge: false,
      dispose: (entry, key) => this.untagL1(key, entry.tags),
    });
  }

  /** The value under `key`, from L1, then L2, else from `load` (run once however many callers wait). */
  async getOrLoad<T>(key: string, opts: CacheSetOptions, load: () => Promise<T>): Promise<T> {
    const hit = this.l1.get(key);
    if (hit) {
      this.counters.l1.hits++;
      return hit.value as T;
    }
    this.counters.l1.misses++;
    const pending = this.inflight.get(key);
    if (pending) {
      this.counters.coalesced++;
      return pending as Promise<T>;
    }
    const p = this.fill(key, opts, load);
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Stores a value in both levels. */
  async set(key: string, value: unknown, opts: CacheSetOptions): Promise<void> {
    const ttl = this.seconds(opts.ttl);
    const tags = opts.tags ?? [];
    this.setL1(key, value, tags, ttl);
    if (!this.redis) return;
    const payload = await encode(value);
    await this.l2(`set ${key}`, async () => {
      const multi = this.redis!.multi().set(VALUE_PREFIX + key, payload, "EX", ttl);
      // A tag set lives as long as its longest member, so it never outlives what it indexes by much.
      for (const tag of tags) multi.sadd(TAG_PREFIX + tag, key).expire(TAG_PREFIX + tag, ttl, "GT").expire(TAG_PREFIX + tag, ttl, "NX");
      await multi.exec();
    });
  }

  /** Drops one key from both levels. */
  async invalidate(key: string): Promise<void> {
    this.l1.delete(key);
    await this.l2(`del ${key}`, async () => void (await this.redis?.del(VALUE_PREFIX + key)));
  }

  /** Drops every key tagged `tag` from both levels. */
  async invalidateTag(tag: string): Promise<number> {
    const local = [...(this.l1Tags.get(tag) ?? [])];
    for (const k of local) this.l1.delete(k);
    let remote: string[] = [];
    await this.l2(`invalidateTag ${tag}`, async () => {
      if (!this.redis) return;
      remote = await this.redis.smembers(TAG_PREFIX + tag);
      const multi = this.redis.multi();
      for (const k of remote) multi.del(VALUE_PREFIX + k);
      await multi.del(TAG_PREFIX + tag).exec();
    });
    return new Set([...local, ...remote]).size;
  }

  stats(): CacheStats {
    return { l1: { ...this.counters.l1 }, l2: { ...this.counters.l2 }, loads: this.counters.loads, coalesced: this.counters.coalesced };
  }

  resetStats(): void {
    Object.assign(this.counters, { l1: { hits: 0, misses: 0 }, l2: { hits: 0, misses: 0 }, loads: 0, coalesced: 0 });
  }

  /** Empties L1 only (L2 is shared with other processes). */
  clearLocal(): void {
    this.l1.clear();
  }

  private async fill<T>(key: string, opts: CacheSetOptions, load: () => Promise<T>): Promise<T> {
    if (this.redis) {
      const raw = await this.l2(`get ${key}`, () => this.redis!.getBuffer(VALUE_PREFIX + key));
      if (raw) {
        this.counters.l2.hits++;
        const value = (await decode(raw)) as T;
        const remaining = await this.l2(`ttl ${key}`, () => this.redis!.ttl(VALUE_PREFIX + key));
        this.setL1(key, value, opts.tags ?? [], remaining && remaining > 0 ? remaining : this.seconds(opts.ttl));
        return value;
      }
      this.counters.l2.misses++;
    }
    this.counters.loads++;
    const value = await load();
    await this.set(key, value, opts);
    return value;
  }

  private setL1(key: string, value: unknown, tags: readonly string[], ttlSeconds: number): void {
    this.l1.set(key, { value, tags }, { ttl: Math.min(ttlSeconds, this.tiers.l1) * 1000 });
    for (const t of tags) {
      let keys = this.l1Tags.get(t);
      if (!keys) this.l1Tags.set(t, (keys = new Set()));
      keys.add(key);
    }
  }

  private untagL1(key: string, tags: readonly string[]): void {
    for (const t of tags) {
      const keys = this.l1Tags.get(t);
      keys?.delete(key);
      if (keys?.size === 0) this.l1Tags.delete(t);
    }
  }

  private seconds(ttl: TtlTier | number): number {
    const s = typeof ttl === "number" ? ttl : this.tiers[ttl];
    if (!Number.isInteger(s) || s <= 0) throw new Error(`cache ttl: expected a tier (l1, l2, l3) or whole seconds > 0, got ${String(ttl)}`);
    return s;
  }

  /** Runs a Redis call; on failure reports `cacheError` and carries on without L2. */
  private async l2<T>(operation: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.events?.emit("cacheError", { level: "l2", operation, error: (err as Error).message });
      return undefined;
    }
  }
}

/** JSON, deflated above COMPRESSION_THRESHOLD_BYTES, behind a one-byte encoding marker. */
export async function encode(value: unknown): Promise<Buffer> {
  const json = Buffer.from(JSON.stringify(value) ?? "null", "utf8");
  if (json.length <= COMPRESSION_THRESHOLD_BYTES) return Buffer.concat([Buffer.from([RAW]), json]);
  return Buffer.concat([Buffer.from([DEFLATED]), await deflateAsync(json)]);
}

export async function decode(buf: Buffer): Promise<unknown> {
  const body = buf.subarray(1);
  if (buf[0] === RAW) return JSON.parse(body.toString("utf8"));
  if (buf[0] === DEFLATED) return JSON.parse((await inflateAsync(body)).toString("utf8"));
  throw new Error(`cache: unknown value encoding ${buf[0]} (written by another client version?)`);
}
