/**
 * Serializes the recovery drill's dynamic providers (DrillClock,
 * DrillVerification) the way `pulumi up` does, outside vitest (whose module
 * transform breaks Pulumi's closure serializer): run with plain
 * `node -r ts-node/register/transpile-only`. It registers a RecoveryDrill under
 * Pulumi mocks and writes `{ "<type>": "<__provider text>" }` to argv[2]; replay
 * the texts with test/harness/provider-replay.cjs.
 *
 * Usage: node -r ts-node/register/transpile-only test/harness/drill-provider-child.ts <out-file>
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { RecoveryDrill } from "../../components/recovery-drill";
import { drillArgsWith } from "./drill-args";

async function main(out: string): Promise<void> {
  const providers: Record<string, string> = {};
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type.startsWith("pulumi-nodejs:dynamic/backup:")) providers[args.type] = args.inputs.__provider as string;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "lp-db",
    "drill-provider-child",
    false,
  );
  new RecoveryDrill("serialize", drillArgsWith({ rowBounds: { users: { min: 1 } }, partitionedTables: ["audit_log"] }));
  // Internal to @pulumi/pulumi but exported: resolves once every registration has settled.
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  fs.writeFileSync(out, JSON.stringify(providers));
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
