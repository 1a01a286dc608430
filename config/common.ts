/**
 * What every config area shares: the config namespace, the parsers for the
 * `name=value` string arrays Pulumi's project config schema forces on named
 * collections, the error type, and the context an area's cross-field rules
 * report through.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "lp-db";

export const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
export const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
export const SA_EMAIL = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;
export const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
export const FLAG_NAME = /^[a-z_][a-z0-9_.]*$/;

/** Splits "k=v" (first '=' only). */
export function pair(entry: string): [string, string] | undefined {
  const at = entry.indexOf("=");
  return at > 0 ? [entry.slice(0, at).trim(), entry.slice(at + 1).trim()] : undefined;
}

function pairsToRecord(ctx: z.RefinementCtx, entries: readonly string[], keyPattern: RegExp, what: string) {
  const out: Record<string, string> = {};
  entries.forEach((entry, i) => {
    const kv = pair(entry);
    if (!kv || !keyPattern.test(kv[0]) || kv[1] === "") {
      ctx.addIssue({ code: "custom", path: [i], message: `expected "${what}"` });
    } else if (kv[0] in out) {
      ctx.addIssue({ code: "custom", path: [i], message: `"${kv[0]}" is listed twice` });
    } else {
      out[kv[0]] = kv[1];
    }
  });
  return out;
}

// `pulumi up` hands non-string values to the program as JSON text; the offline
// plan and tests hand them over typed. Accept both, and nothing else.
const fromText = (parse: (text: string) => unknown) => (v: unknown) => {
  if (typeof v !== "string") return v;
  try {
    return parse(v);
  } catch {
    return v;
  }
};
export const int = (min: number, max: number) =>
  z.preprocess(fromText((t) => (/^-?\d+$/.test(t) ? Number(t) : t)), z.number().int().min(min).max(max));
export const bool = () => z.preprocess(fromText((t) => (t === "true" ? true : t === "false" ? false : t)), z.boolean());
export const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(fromText((t) => (t.startsWith("[") ? JSON.parse(t) : t)), z.array(item));
export const emails = list(z.string().regex(EMAIL, "not a valid email address"));
export const pairList = (keyPattern: RegExp, what: string) =>
  list(z.string()).transform((entries, ctx) => pairsToRecord(ctx, entries, keyPattern, what));

/** Raised for any invalid stack configuration; the message names the key, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A value as an error message quotes it. */
export function describe(value: unknown): string {
  if (value === undefined) return "(not set)";
  return JSON.stringify(typeof value === "string" && value.startsWith("[") ? safeJson(value) : value);
}

/** The raw value at a zod issue path, looking into JSON text the CLI hands over. */
export function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => {
    const node = typeof v === "string" && v.startsWith("[") ? safeJson(v) : v;
    return node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[k] : undefined;
  }, raw);
}

/** `lp-db:key[0]` for a zod issue path. */
export function keyName(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${PROJECT}:${String(head)}${rest.map((p) => `[${String(p)}]`).join("")}`;
}

/** Freezes a parsed config all the way down, leaving Outputs alone. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Inputs to `parseStackConfig`. */
export interface ConfigSource {
  /** GCP project id (`gcp:project`). */
  readonly project: string | undefined;
  /** Default region (`gcp:region`). */
  readonly region: string | undefined;
  /** The `lp-db:*` values, already merged with Pulumi.yaml defaults. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The Slack token, if set (a secret). */
  readonly slackAuthToken?: pulumi.Output<string>;
}

/** What an area's cross-field rules read and report through. `Raw` is every key, parsed. */
export interface AreaContext<Raw> {
  /** Every `lp-db:*` value after the schema parsed it. */
  readonly raw: Raw;
  /** The stack's primary region (`gcp:region`). */
  readonly region: string;
  /** Where the values came from. */
  readonly source: ConfigSource;
  /** Reports a problem with `lp-db:<key>`, quoting its value. */
  fail(key: string, message: string): void;
  /** Reports a problem worded in full by the caller. */
  problem(message: string): void;
}
