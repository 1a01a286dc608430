/**
 * Runs the pack without the Pulumi engine, the way the policy analyzer would:
 * over the resources the mock runtime recorded (lib/mock-runtime.ts), each
 * policy gets the same `ResourceValidationArgs` / `StackValidationArgs` shape,
 * props wrapped in `unknownCheckingProxy`, config defaults from its schema, and
 * an unknown value during preview turns into "cannot verify during preview"
 * instead of a violation, as in `pulumi preview`. One addition the engine cannot
 * make: which inputs are secrets (`secretInputPaths`).
 */
import {
  UnknownValueError,
  unknownCheckingProxy,
  type EnforcementLevel,
  type PolicyResource,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationArgs,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { SECRET, UNKNOWN, type RecordedResource } from "../lib/mock-runtime";
import type { SecretAwareArgs } from "./common";
import { policies as packPolicies, type PackPolicy } from "./policies";

// The analyzer's sentinels for unknown values. Exported by @pulumi/policy's proxy
// module but marked internal, so not in its typings.
const proxyModule = require("@pulumi/policy/proxy") as { unknownStringValue: string };

/** The value the policy analyzer receives for an input preview cannot know. */
export const UNKNOWN_VALUE: string = proxyModule.unknownStringValue;

/** One violation (or, for `level: "unverifiable"`, one check preview could not run). */
export interface Finding {
  readonly policy: string;
  /** The policy's enforcement level, or "unverifiable" when an unknown value stopped the check. */
  readonly level: EnforcementLevel | "unverifiable";
  /** The resource at fault; undefined for a stack-wide violation. */
  readonly resource?: { readonly type: string; readonly name: string; readonly urn: string };
  readonly message: string;
  readonly remediation: string;
}

/** Options for {@link evaluate}. */
export interface EvaluateOptions {
  /** Policy config by policy name, as in a `--policy-pack-config` file: an enforcement level or an object, merged over schema defaults. */
  readonly config?: Readonly<Record<string, EnforcementLevel | Readonly<Record<string, unknown>>>>;
  /** Sets the `environment` config of every policy that has one. */
  readonly environment?: string;
  /** The policies to run; the whole pack by default. */
  readonly policies?: readonly PackPolicy[];
  /**
   * Tell policies which inputs are secrets (default true). False reproduces the
   * engine, which hands policies secrets decrypted and unmarked.
   */
  readonly showSecretness?: boolean;
}

/** What the pack found. */
export interface Evaluation {
  readonly findings: readonly Finding[];
  /** Findings from mandatory policies: any of these fails the plan. */
  readonly mandatory: readonly Finding[];
}

class NotApplicable extends Error {}

function isResourcePolicy(p: PackPolicy): p is ResourceValidationPolicy {
  return (p as ResourceValidationPolicy).validateResource !== undefined;
}

/** Schema defaults, then the environment, then explicit config. */
function configFor(policy: PackPolicy, options: EvaluateOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (schema.default !== undefined) out[key] = schema.default;
  }
  if (options.environment !== undefined && policy.configSchema?.properties.environment) out.environment = options.environment;
  const given = options.config?.[policy.name];
  return { ...out, ...(typeof given === "string" ? { enforcementLevel: given } : (given ?? {})) };
}

/** Recorded values use {@link UNKNOWN}; the analyzer uses its own sentinel. */
function toAnalyzerValue(value: unknown): unknown {
  if (value === UNKNOWN) return UNKNOWN_VALUE;
  if (Array.isArray(value)) return value.map(toAnalyzerValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toAnalyzerValue(v)]));
  }
  return value;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  return (resourceClass as { __pulumiType?: string }).__pulumiType === type;
}

/**
 * Turns recorded resources into the analyzer's `PolicyResource` graph. Inputs
 * are the revealed ones: the analyzer, too, hands policies secrets decrypted.
 */
export function toPolicyResources(recorded: readonly RecordedResource[]): PolicyResource[] {
  const byName = new Map<string, PolicyResource[]>();
  const converted = recorded.map((r) => {
    const resource: PolicyResource = {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: unknownCheckingProxy(toAnalyzerValue(r.plainInputs) as Record<string, unknown>),
      opts: {
        protect: r.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [...r.additionalSecretOutputs],
      },
      dependencies: [],
      propertyDependencies: {},
      isType: (resourceClass) => isTypeOf(r.type, resourceClass),
      asType: () => undefined,
    };
    byName.set(r.name, [...(byName.get(r.name) ?? []), resource]);
    return resource;
  });
  // Names are unique per type, not globally: a name that several resources share resolves to all of them.
  const resolve = (names: readonly string[], self: PolicyResource) =>
    names.flatMap((n) => byName.get(n) ?? []).filter((d) => d !== self);
  recorded.forEach((r, i) => {
    const resource = converted[i];
    const parent = r.parent ? resolve([r.parent], resource)[0] : undefined;
    resource.parent = parent;
    resource.opts.parent = parent?.urn;
    resource.dependencies = resolve(r.dependsOn, resource);
    resource.propertyDependencies = Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([key, names]) => [key, resolve(names, resource)]),
    );
  });
  return converted;
}

/** Dotted paths of the recorded inputs that are secrets (what the engine cannot tell policies). */
export function secretPaths(inputs: unknown, path: string[] = [], out = new Set<string>()): Set<string> {
  if (inputs === SECRET) out.add(path.join("."));
  else if (inputs !== null && typeof inputs === "object") {
    for (const [key, value] of Object.entries(inputs)) secretPaths(value, [...path, key], out);
  }
  return out;
}

function validationArgs(resource: PolicyResource, config: Record<string, unknown>, secrets?: ReadonlySet<string>): ResourceValidationArgs & SecretAwareArgs {
  return {
    ...(secrets ? { secretInputPaths: secrets } : {}),
    type: resource.type,
    props: resource.props,
    urn: resource.urn,
    name: resource.name,
    opts: resource.opts,
    stackTags: new Map(),
    isType: resource.isType,
    asType: (resourceClass) => (isTypeOf(resource.type, resourceClass) ? resource.props : undefined) as never,
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
}

function stackArgs(resources: PolicyResource[], config: Record<string, unknown>): StackValidationArgs {
  return {
    resources,
    stackTags: new Map(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
}

/** Runs the pack over a recorded resource graph. */
export async function evaluate(recorded: readonly RecordedResource[], options: EvaluateOptions = {}): Promise<Evaluation> {
  const resources = toPolicyResources(recorded);
  const secrets = new Map(options.showSecretness === false ? [] : resources.map((r, i) => [r, secretPaths(recorded[i].inputs)]));
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const findings: Finding[] = [];
  for (const policy of options.policies ?? packPolicies) {
    const config = configFor(policy, options);
    const level = (config.enforcementLevel as EnforcementLevel | undefined) ?? policy.enforcementLevel ?? "advisory";
    if (level === "disabled") continue;
    const finding = (resource: PolicyResource | undefined, message: string, findingLevel: Finding["level"] = level): Finding => ({
      policy: policy.name,
      level: findingLevel,
      resource: resource && { type: resource.type, name: resource.name, urn: resource.urn },
      message,
      remediation: policy.remediationSteps ?? "",
    });
    const run = async (resource: PolicyResource | undefined, body: (report: (message: string, urn?: string) => void) => Promise<void> | void) => {
      try {
        await body((message, urn) => findings.push(finding((urn && byUrn.get(urn)) || resource, message)));
      } catch (err) {
        if (err instanceof UnknownValueError) {
          findings.push(finding(resource, `cannot be checked during preview: ${(err as Error).message}`, "unverifiable"));
        } else if (!(err instanceof NotApplicable)) {
          throw err;
        }
      }
    };
    if (isResourcePolicy(policy)) {
      const validations = [policy.validateResource ?? []].flat();
      for (const resource of resources) {
        for (const validate of validations) await run(resource, (report) => validate(validationArgs(resource, config, secrets.get(resource)), report));
      }
    } else {
      const stackPolicy = policy as StackValidationPolicy;
      await run(undefined, (report) => stackPolicy.validateStack(stackArgs(resources, config), report));
    }
  }
  return { findings, mandatory: findings.filter((f) => f.level === "mandatory") };
}

/** Human-readable report, one block per finding; empty when there is none. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings
    .map((f) => {
      const where = f.resource ? `${f.resource.type}  ${f.resource.name}` : "(stack)";
      return `[${f.level}] ${f.policy}: ${where}\n    ${f.message}\n    remediation: ${f.remediation}`;
    })
    .join("\n");
}
