/** Runs `npm run plan` as a reviewer would, in a child process; a non-zero exit is returned, not thrown. */
import { execFile } from "child_process";
import { promisify } from "util";
import { ROOT } from "../../lib/mock-runtime";

const run = promisify(execFile);

/** What one `npm run plan` printed and its exit code. */
export interface PlanRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A --json plan with the migrations' SQL runs to megabytes; the default 1 MiB buffer would cut it off. */
const PLAN_OUTPUT_BUFFER_BYTES = 64 * 1024 * 1024;

/** Runs scripts/plan.ts with `args` from the project root. */
export async function plan(args: string[]): Promise<PlanRun> {
  try {
    const { stdout, stderr } = await run("node", ["-r", "ts-node/register/transpile-only", "scripts/plan.ts", ...args], {
      cwd: ROOT,
      maxBuffer: PLAN_OUTPUT_BUFFER_BYTES,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
