import * as path from "path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The client package is tested from source; its dist/ is built only when it is packed.
  resolve: { alias: { "@lp/db-client": path.resolve(__dirname, "client/src/index.ts") } },
  test: {
    include: ["test/**/*.test.ts", "policy/**/*.test.ts", "client/test/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    // Each file runs in its own worker, so Pulumi's global runtime state never leaks between files.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
