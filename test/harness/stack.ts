/**
 * Runs the whole program (index.ts) for a stack under Pulumi mocks and returns
 * the recorded resource graph, for tests that assert on it.
 */
import { vi } from "vitest";
import { runProgram, type RunResult } from "../../lib/mock-runtime";

export { promiseOf, SECRET, UNKNOWN, type RecordedResource, MockRecorder } from "../../lib/mock-runtime";

/** Options for {@link runStack}. */
export interface RunStackOptions {
  /** `lp-db:*` values, by bare key, that replace the stack file's. */
  readonly overrides?: Record<string, unknown>;
  /** Secret `lp-db:*` values, by bare key. */
  readonly secrets?: Record<string, string>;
  /** Run as `pulumi preview`. */
  readonly preview?: boolean;
}

/** Runs index.ts for `stack` (fresh module graph each time) and waits for every registration. */
export async function runStack(stack: string, options: RunStackOptions = {}): Promise<RunResult> {
  vi.resetModules();
  return runProgram({
    stack,
    ...options,
    load: async () => (await import("../../index")) as Record<string, unknown>,
  });
}
