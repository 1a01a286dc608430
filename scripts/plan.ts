/**
 * `npm run plan -- --stack <name> [--json]`: the offline plan. Runs index.ts
 * under Pulumi mocks with the stack's config files and prints every resource
 * `pulumi up` would register, as a tree (or, with --json, as an array of
 * { type, name, parent, inputs } with secrets shown as "[secret]").
 * Exits 1 on a configuration error. Then runs the policy pack (policy/) over the
 * same resources, prints each finding with its resource and remediation (to
 * stderr with --json), and exits 3 on any mandatory violation.
 */
import * as path from "path";
import { ConfigError } from "../config";
import { ROOT, listStacks, loadStackValues, runProgram, type RecordedResource } from "../lib/mock-runtime";
import { evaluate, formatFindings } from "../policy/offline";

interface PlanArgs {
  readonly stack: string;
  readonly json: boolean;
  /** Reads this file instead of Pulumi.<stack>.yaml. */
  readonly stackFile?: string;
}

function parseArgs(argv: readonly string[]): PlanArgs {
  let stack: string | undefined;
  let json = false;
  let stackFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--stack" || arg === "-s") stack = argv[++i];
    else if (arg.startsWith("--stack=")) stack = arg.slice("--stack=".length);
    else if (arg === "--stack-file") stackFile = path.resolve(argv[++i] ?? "");
    else throw new UsageError(`unknown argument "${arg}"`);
  }
  if (!stack) throw new UsageError("--stack <name> is required");
  return { stack, json, stackFile };
}

class UsageError extends Error {}

/** Short, readable summary of a resource's inputs for the tree view. */
function summarize(inputs: Record<string, unknown>): string {
  const text = JSON.stringify(inputs, (_k, v) => v, 0);
  return text.length > 400 ? `${text.slice(0, 397)}...` : text;
}

function printTree(resources: readonly RecordedResource[]): void {
  const children = new Map<string | undefined, RecordedResource[]>();
  const names = new Set(resources.map((r) => r.name));
  for (const r of resources) {
    const parent = r.parent && names.has(r.parent) ? r.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const walk = (parent: string | undefined, indent: string) => {
    for (const r of children.get(parent) ?? []) {
      console.log(`${indent}${r.type}  ${r.name}`);
      if (r.custom && Object.keys(r.inputs).length > 0) console.log(`${indent}    ${summarize(r.inputs)}`);
      walk(r.name, `${indent}  `);
    }
  };
  walk(undefined, "");
}

async function main(): Promise<number> {
  let args: PlanArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`plan: ${(err as Error).message}\nusage: npm run plan -- --stack <${listStacks().join("|")}> [--json] [--stack-file <Pulumi.x.yaml>]`);
    return 2;
  }
  try {
    const { recorder, outputs } = await runProgram({
      stack: args.stack,
      stackFile: args.stackFile,
      load: () => require(path.join(ROOT, "index.ts")) as Record<string, unknown>,
    });
    const resources = recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    if (args.json) {
      const rows = resources.map((r) => ({ type: r.type, name: r.name, parent: r.parent ?? null, inputs: r.inputs }));
      console.log(JSON.stringify(rows, null, 2));
    } else {
      console.log(`Plan for stack "${args.stack}": ${resources.length} resources\n`);
      printTree(resources);
      console.log(`\nOutputs:\n${JSON.stringify(outputs, null, 2)}`);
    }
    const environment = loadStackValues(args.stack, {}, ROOT, args.stackFile).values.environment;
    const { findings, mandatory } = await evaluate(recorder.resources, { environment: typeof environment === "string" ? environment : undefined });
    const say = args.json ? console.error : console.log;
    say(`\nPolicy pack: ${findings.length} finding(s), ${mandatory.length} mandatory${findings.length > 0 ? `\n${formatFindings(findings)}` : ""}`);
    if (mandatory.length > 0) {
      console.error(`plan: ${mandatory.length} mandatory policy violation(s); see the remediation above each`);
      return 3;
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || (err as Error).message?.startsWith("no stack file")) {
      console.error(`plan: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

main().then(
  // Exit only once stdout is flushed: process.exit() drops what a pipe has not taken yet (a large --json plan).
  (code) => process.stdout.write("", () => process.exit(code)),
  (err: unknown) => {
    console.error(`plan: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
