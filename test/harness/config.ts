/**
 * Config test helpers: parse a committed stack file with some values replaced,
 * and a table runner for refusals (each rule's key, value and message).
 */
import { expect, test } from "vitest";
import { ConfigError, parseStackConfig, type StackConfig } from "../../config";
import { loadStackValues } from "../../lib/mock-runtime";

/** Parses `Pulumi.<stack>.yaml` with `overrides` (bare `lp-db:*` keys) and optional gcp settings. */
export function parseStack(
  stack: string,
  overrides: Record<string, unknown> = {},
  extra: { project?: string; region?: string } = {},
): StackConfig {
  const v = loadStackValues(stack, overrides);
  return parseStackConfig({ project: extra.project ?? v.project, region: extra.region ?? v.region, values: v.values });
}

/** One refusal: a label, the stack, the values that break a rule, and the message that must name key, value and rule. */
export type Refusal = [label: string, stack: string, overrides: Record<string, unknown>, message: RegExp];

/** One test per row: the config is refused with a ConfigError whose message matches. */
export function testRefusals(rows: readonly Refusal[]): void {
  test.each(rows)("%s", (_label, stack, overrides, message) => {
    expect(() => parseStack(stack, overrides)).toThrow(ConfigError);
    expect(() => parseStack(stack, overrides)).toThrow(message);
  });
}
