import * as path from "path";
import { defineConfig } from "vitest/config";

/**
 * The PostgreSQL version matrix: every test on the stacks' major, and the
 * migrations, the serialized provider's replay and the schema checks on each
 * other supported major (each project starts its own embedded server in
 * globalSetup). `LP_PG_MAJORS=14,18 npm run test:unit` narrows the matrix.
 */
/** The stacks' major (full suite) and the others (subset); test/schema-majors.test.ts checks these equal lib/cloudsql-catalog.ts's. */
export const STACK_MAJOR = 18;
export const MATRIX_MAJORS = [14, 15, 16, 17, 18] as const;
const MATRIX_FILES = ["test/migrations.test.ts", "test/migrations-engine.test.ts", "test/provider.test.ts", "test/schema-majors.test.ts"];

const wanted = (process.env.LP_PG_MAJORS ?? "").split(",").filter(Boolean).map(Number);
const majors = MATRIX_MAJORS.filter((m) => wanted.length === 0 || wanted.includes(m));

export default defineConfig({
  // The client package is tested from source; its dist/ is built only when it is packed.
  resolve: { alias: { "@lp/db-client": path.resolve(__dirname, "client/src/index.ts") } },
  test: {
    globalSetup: ["test/harness/global-setup.ts"],
    // Each file runs in its own worker, so Pulumi's global runtime state never leaks between files.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: majors.map((major) => ({
      extends: true,
      test: {
        name: `pg${major}`,
        include: major === STACK_MAJOR ? ["test/**/*.test.ts", "policy/**/*.test.ts", "client/test/**/*.test.ts"] : MATRIX_FILES,
        provide: { pgMajor: major },
      },
    })),
  },
});
