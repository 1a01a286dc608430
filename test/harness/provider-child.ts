/**
 * Serializes the SchemaMigrations dynamic provider exactly as
 * `pulumi.dynamic.Resource` does for `pulumi up`
 * (`serializeFunction(() => provider, { allowSecrets: true })`), outside
 * vitest, whose module transform breaks Pulumi's closure serializer: run it
 * with plain `node -r ts-node/register/transpile-only`, the way the Pulumi
 * Node.js runtime loads this project. Writes the text to the file in argv[2].
 *
 * Usage: node -r ts-node/register/transpile-only test/harness/provider-child.ts <out-file>
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { schemaMigrationsProvider } from "../../components/schema-migrations";

async function main(out: string): Promise<void> {
  const provider = schemaMigrationsProvider;
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  fs.writeFileSync(out, serialized.text);
}

main(process.argv[2]).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exit(1);
  },
);
