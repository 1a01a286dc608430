import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "policy/**/*.test.ts", "client/test/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    // Each file runs in its own worker, so Pulumi's global runtime state never leaks between files.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
