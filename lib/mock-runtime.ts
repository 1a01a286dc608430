/**
 * Runs this Pulumi program without an engine or a cloud: Pulumi mocks stand in
 * for the providers, and a recorder keeps every resource the program
 * registers (type, name, parent and inputs, with secrets still marked). The
 * offline plan and the tests both use it, so they see the same graph.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { parse as parseYaml } from "yaml";
import { PROJECT, SECRET_KEYS } from "../config";

/** Stands in for a secret input in recorded resources and in the plan. */
export const SECRET = "[secret]";
/** Stands in for a value that is not known until the resource exists. */
export const UNKNOWN = "[unknown]";

/** One resource as the program registered it. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Name of the parent resource; undefined for children of the stack. */
  readonly parent?: string;
  /** True for provider resources, false for components. */
  readonly custom: boolean;
  /** Inputs, with secrets as {@link SECRET}. */
  readonly inputs: Record<string, unknown>;
  /** Inputs with secret values revealed, for assertions that need them. */
  readonly plainInputs: Record<string, unknown>;
  /** Names of the resources this one explicitly depends on (`dependsOn`). */
  readonly dependsOn: readonly string[];
  /** Per input property, names of the resources its value came from (what policies see as `propertyDependencies`). */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  /** The `protect` resource option. */
  readonly protect: boolean;
  /** Top-level properties kept secret in state (`additionalSecretOutputs`, including those the provider SDK adds). */
  readonly additionalSecretOutputs: readonly string[];
}

type Outputs = Record<string, unknown>;
type OutputFactory = (args: pulumi.runtime.MockResourceArgs, ctx: { project: string; region: string }) => Outputs;

/**
 * What each mocked resource type returns besides its inputs: the attributes the
 * cloud computes and the program reads back. One table, by type token.
 */
const COMPUTED: Record<string, OutputFactory> = {
  "gcp:sql/databaseInstance:DatabaseInstance": (a, c) => {
    const region = (a.inputs.region as string | undefined) ?? c.region;
    return {
      name: a.inputs.name ?? a.name,
      connectionName: `${c.project}:${region}:${a.inputs.name ?? a.name}`,
      privateIpAddress: mockIp(a.name),
      ipAddresses: [{ type: "PRIVATE", ipAddress: mockIp(a.name) }],
      selfLink: `https://sqladmin.googleapis.com/sql/v1beta4/projects/${c.project}/instances/${a.inputs.name ?? a.name}`,
      serviceAccountEmailAddress: `p123456789-abcd@gcp-sa-cloud-sql.iam.gserviceaccount.com`,
      // Two CAs, as Cloud SQL lists them in the middle of a server CA rotation.
      serverCaCerts: ["current", "next"].map((ca, i) => ({
        cert: `-----BEGIN CERTIFICATE-----\nMOCK-${a.name}-${ca}\n-----END CERTIFICATE-----\n`,
        sha1Fingerprint: `0${i}`,
      })),
      dnsName: `${a.name}.mock.sql.goog.`,
      pscServiceAttachmentLink: "",
    };
  },
  "gcp:redis/instance:Instance": (a, c) => {
    const hasReadReplicas = a.inputs.readReplicasMode === "READ_REPLICAS_ENABLED";
    return {
      name: a.inputs.name ?? a.name,
      host: mockIp(a.name),
      port: 6378,
      readEndpoint: hasReadReplicas ? mockIp(`${a.name}-read`) : "",
      readEndpointPort: hasReadReplicas ? 6378 : 0,
      authString: "mock-auth-string",
      serverCaCerts: [{ cert: `-----BEGIN CERTIFICATE-----\nMOCK-${a.name}-redis-ca\n-----END CERTIFICATE-----\n`, sha1Fingerprint: "00" }],
      currentLocationId: `${(a.inputs.region as string | undefined) ?? c.region}-a`,
    };
  },
  "gcp:projects/serviceIdentity:ServiceIdentity": (a) => ({
    email: `service-123456789@gcp-sa-${String(a.inputs.service).split(".")[0]}.iam.gserviceaccount.com`,
    member: `serviceAccount:service-123456789@gcp-sa-${String(a.inputs.service).split(".")[0]}.iam.gserviceaccount.com`,
  }),
  "gcp:compute/network:Network": (a, c) => ({
    selfLink: `https://www.googleapis.com/compute/v1/projects/${c.project}/global/networks/${a.inputs.name ?? a.name}`,
  }),
  "gcp:kms/keyRing:KeyRing": (a, c) => ({ id: `projects/${c.project}/locations/${a.inputs.location}/keyRings/${a.inputs.name ?? a.name}` }),
  "gcp:kms/cryptoKey:CryptoKey": (a) => ({ id: `${a.inputs.keyRing}/cryptoKeys/${a.inputs.name ?? a.name}` }),
  "gcp:secretmanager/secret:Secret": (a, c) => ({
    name: `projects/123456789/secrets/${a.inputs.secretId}`,
    id: `projects/${c.project}/secrets/${a.inputs.secretId}`,
  }),
  "gcp:serviceaccount/account:Account": (a, c) => ({
    email: `${a.inputs.accountId}@${c.project}.iam.gserviceaccount.com`,
    member: `serviceAccount:${a.inputs.accountId}@${c.project}.iam.gserviceaccount.com`,
  }),
  "gcp:storage/bucket:Bucket": (a) => ({ url: `gs://${a.inputs.name ?? a.name}` }),
  "gcp:monitoring/notificationChannel:NotificationChannel": (a, c) => ({ name: `projects/${c.project}/notificationChannels/${a.name}` }),
  "gcp:monitoring/alertPolicy:AlertPolicy": (a, c) => ({ name: `projects/${c.project}/alertPolicies/${a.name}` }),
  "gcp:projects/iAMCustomRole:IAMCustomRole": (a, c) => ({ name: `projects/${c.project}/roles/${a.inputs.roleId}` }),
  "gcp:workflows/workflow:Workflow": (a, c) => ({
    id: `projects/${c.project}/locations/${a.inputs.region ?? c.region}/workflows/${a.inputs.name ?? a.name}`,
  }),
  "pulumi-nodejs:dynamic/backup:DrillClock": () => ({ startedAt: "2026-11-26T03:00:00.000Z" }),
  "random:index/randomPassword:RandomPassword": (a) => ({ result: `mock-password-${a.name}` }),
  // SchemaMigrations (components/schema-migrations.ts) on a fresh database: every migration pending, nothing applied yet.
  "pulumi-nodejs:dynamic/lp/database:SchemaMigrations": (a) => ({
    pending: ((a.inputs.migrations as { name: string }[] | undefined) ?? []).map((m) => m.name),
    applied: [],
    appliedThisRun: [],
    ledgerHead: "",
    schemaVersion: "",
    drift: { appliedOutsidePulumi: [], missing: [], checksumMismatch: [] },
  }),
};

/** Mocked data-source calls (`gcp.organizations.getProject` and friends). */
const CALLS: Record<string, (inputs: Outputs, ctx: { project: string; region: string }) => Outputs> = {
  "gcp:organizations/getProject:getProject": (_i, c) => ({ projectId: c.project, number: "123456789", name: c.project }),
  "gcp:compute/getNetwork:getNetwork": (i, c) => ({
    name: i.name,
    selfLink: `https://www.googleapis.com/compute/v1/projects/${c.project}/global/networks/${i.name}`,
    id: `projects/${c.project}/global/networks/${i.name}`,
  }),
  "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": (_i) => ({
    emailAddress: "service-123456789@gs-project-accounts.iam.gserviceaccount.com",
    member: "serviceAccount:service-123456789@gs-project-accounts.iam.gserviceaccount.com",
  }),
};

function mockIp(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 250;
  return `10.20.0.${h + 2}`;
}

/** Walks a raw (wire-format) property value, replacing secrets and unknowns. */
function render(value: unknown, reveal: boolean): unknown {
  if (value === rpc.unknownValue) return UNKNOWN;
  if (Array.isArray(value)) return value.map((v) => render(v, reveal));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[rpc.specialSigKey] === rpc.specialSecretSig) return reveal ? render(obj.value, reveal) : SECRET;
    if (obj[rpc.specialSigKey] !== undefined) return render(obj.value ?? obj.urn ?? obj, reveal);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, render(v, reveal)]));
  }
  return value;
}

/** The last segment of a URN is the resource's name. */
export function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Pulumi mocks that record every registration. */
export class MockRecorder implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];

  constructor(
    private readonly project: string,
    private readonly region: string,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Outputs } {
    const ctx = { project: this.project, region: this.region };
    const computed = COMPUTED[args.type]?.(args, ctx) ?? {};
    const id = (computed.id as string | undefined) ?? (args.custom ? `${args.name}-id` : undefined);
    return { id, state: { ...args.inputs, ...computed } };
  }

  call(args: pulumi.runtime.MockCallArgs): Outputs {
    const fn = CALLS[args.token];
    if (!fn) throw new Error(`mock-runtime: no mock for data source ${args.token}; add one to CALLS`);
    return fn(args.inputs, { project: this.project, region: this.region });
  }

  /** Hooks the mock monitor so each registration's parent, dependencies and raw inputs are kept. */
  attach(): void {
    const monitor = settings.getMonitor() as unknown as {
      registerResource(req: RegisterRequest, cb: (err: unknown, res?: { getUrn(): string }) => void): void;
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) =>
      original(req, (err, res) => {
        if (!err && res) {
          const raw = req.getObject().toJavaScript();
          this.resources.push({
            type: req.getType(),
            name: req.getName(),
            urn: res.getUrn(),
            parent: req.getParent() ? nameOfUrn(req.getParent()) : undefined,
            custom: req.getCustom(),
            inputs: render(raw, false) as Record<string, unknown>,
            plainInputs: render(raw, true) as Record<string, unknown>,
            dependsOn: req.getDependenciesList().map(nameOfUrn),
            propertyDependencies: propertyDependencyNames(req),
            protect: req.getProtect() === true,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          });
        }
        cb(err, res);
      });
  }

  /** Resources of one type token, in registration order. */
  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The one resource with this type and name; throws when absent. */
  get(type: string, name: string): RecordedResource {
    const found = this.resources.find((r) => r.type === type && r.name === name);
    if (!found) {
      const names = this.ofType(type).map((r) => r.name);
      throw new Error(`no ${type} named ${name}; have: ${names.join(", ") || "none"}`);
    }
    return found;
  }
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(fn: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getProtect(): boolean | undefined;
  getAdditionalsecretoutputsList(): string[];
  getObject(): { toJavaScript(): Record<string, unknown> };
}

function propertyDependencyNames(req: RegisterRequest): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    out[key] = deps.getUrnsList().map(nameOfUrn);
  });
  return out;
}

/** The repository root (where Pulumi.yaml is). */
export const ROOT = path.resolve(__dirname, "..");

/** Stack values as `pulumi up` would see them: Pulumi.yaml defaults, then the stack file, then overrides. */
export interface StackValues {
  readonly project: string | undefined;
  readonly region: string | undefined;
  /** `lp-db:*` values by bare key (typed: arrays, numbers and booleans stay so). */
  readonly values: Record<string, unknown>;
}

/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI merges them.
 * `stackFile` reads another file in place of Pulumi.<stack>.yaml (for reviewing a proposed change).
 */
export function loadStackValues(
  stack: string,
  overrides: Record<string, unknown> = {},
  root = ROOT,
  stackFile = path.join(root, `Pulumi.${stack}.yaml`),
): StackValues {
  if (!fs.existsSync(stackFile)) {
    throw new Error(`no stack file ${path.basename(stackFile)}; stacks here: ${listStacks(root).join(", ")}`);
  }
  const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    config?: Record<string, { default?: unknown }>;
  };
  const stackConfig = ((parseYaml(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {});
  const values: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    if (key.startsWith(`${PROJECT}:`) && decl.default !== undefined) values[key.slice(PROJECT.length + 1)] = decl.default;
  }
  for (const [key, value] of Object.entries(stackConfig)) {
    if (key.startsWith(`${PROJECT}:`)) values[key.slice(PROJECT.length + 1)] = value;
  }
  Object.assign(values, overrides);
  return {
    project: stackConfig["gcp:project"] as string | undefined,
    region: stackConfig["gcp:region"] as string | undefined,
    values,
  };
}

/** The stacks that have a Pulumi.<stack>.yaml. */
export function listStacks(root = ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** What a dynamic resource records as its `__provider` under mocks. */
export const MOCK_DYNAMIC_PROVIDER = "[dynamic provider: not serialized under mocks]";

/**
 * Mocks never run a dynamic provider, and vitest's module transform breaks
 * Pulumi's closure serializer (it captures vite's import wrappers instead of
 * modules), so under mocks a dynamic resource records a placeholder instead of
 * its serialized provider. test/harness/provider.ts serializes providers for real.
 */
function stubProviderSerialization(): void {
  const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure") as {
    serializeFunction: (...args: unknown[]) => Promise<{ text: string; containsSecrets: boolean }>;
  };
  closure.serializeFunction = async () => ({ text: MOCK_DYNAMIC_PROVIDER, containsSecrets: false });
}

/** Options for {@link runProgram}. */
export interface RunOptions {
  /** Stack name; its Pulumi.<stack>.yaml is read. */
  readonly stack: string;
  /** Replacement `lp-db:*` values, by bare key, applied after the stack file. */
  readonly overrides?: Record<string, unknown>;
  /** Secret `lp-db:*` values, by bare key. */
  readonly secrets?: Record<string, string>;
  /** Loads and runs the program (for example `() => import("../index")`). */
  readonly load: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Run as a preview (`pulumi preview`) rather than an update. */
  readonly preview?: boolean;
  /** A stack file to read instead of Pulumi.<stack>.yaml. */
  readonly stackFile?: string;
}

/** The recorded resource graph and the program's resolved stack outputs. */
export interface RunResult {
  readonly recorder: MockRecorder;
  readonly outputs: Record<string, unknown>;
}

/**
 * Runs the program for a stack under mocks and waits until every resource is
 * registered. Config errors propagate as thrown errors.
 */
export async function runProgram(options: RunOptions): Promise<RunResult> {
  const stackValues = loadStackValues(options.stack, options.overrides, ROOT, options.stackFile);
  const recorder = new MockRecorder(stackValues.project ?? "mock-project", stackValues.region ?? "us-central1");
  await pulumi.runtime.setMocks(recorder, PROJECT, options.stack, options.preview ?? false);
  recorder.attach();
  stubProviderSerialization();
  const config: Record<string, string> = {};
  if (stackValues.project !== undefined) config["gcp:project"] = stackValues.project;
  if (stackValues.region !== undefined) config["gcp:region"] = stackValues.region;
  for (const [key, value] of Object.entries(stackValues.values)) {
    config[`${PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  for (const [key, value] of Object.entries(options.secrets ?? {})) config[`${PROJECT}:${key}`] = value;
  pulumi.runtime.setAllConfig(
    config,
    SECRET_KEYS.map((k) => `${PROJECT}:${k}`),
  );
  const exported = await options.load();
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    if (key === "default" || typeof value === "function") continue;
    outputs[key] = await resolve(value);
  }
  // Internal to @pulumi/pulumi (no typings), but exported: resolves once every registration has settled.
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { recorder, outputs };
}

/** Resolves an Output (or a plain value) to its value; secrets become {@link SECRET}. */
export async function resolve(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const out = value as pulumi.Output<unknown> & { isKnown: Promise<boolean> };
    if (!(await out.isKnown)) return UNKNOWN;
    if (await pulumi.isSecret(out)) return SECRET;
    return resolve(await promiseOf(out));
  }
  if (Array.isArray(value)) return Promise.all(value.map(resolve));
  if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolve(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

/** The value of an Output, as a promise (unknown values resolve to undefined). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolvePromise) => output.apply((v) => resolvePromise(v)));
}
