/**
 * Which Pulumi stack a database belongs to.
 *
 * Stack settings (partition retention above all) are written into the database
 * and acted on by maintenance and pg_cron, so applying one stack's settings to
 * another stack's database drops that stack's data. The first apply that names
 * a stack records it in {@link STACK_BINDING_TABLE}; every later apply that names
 * a different one is refused before it writes anything, naming both.
 *
 * Stable API:
 *   - {@link checkStackBinding}(client, stack): read-only; throws {@link stackMismatchError} on a mismatch.
 *   - {@link bindStack}(client, stack): records the stack on first use (run under the migration lock), or checks it.
 *   - {@link validStackName}(name): Pulumi's rule for stack names.
 *
 * Plain functions and a factory instead of an Error subclass: the migrations
 * provider is serialized with Pulumi's closure serializer (see lib/pg-connect.ts).
 */
import type * as pg from "pg";

export const STACK_BINDING_TABLE = "lp_meta.stack_binding";

/**
 * Pulumi stack names: letters, digits, hyphens, underscores and periods, at most
 * 100 characters (Pulumi docs, "Stacks": "stack names may only contain alphanumeric
 * characters, hyphens, underscores, or periods"; https://www.pulumi.com/docs/iac/concepts/stacks/).
 */
export function validStackName(name: unknown): name is string {
  return typeof name === "string" && /^[A-Za-z0-9._-]{1,100}$/.test(name);
}

/** The error for a database bound to another stack; `name` is "StackMismatchError". */
export function stackMismatchError(database: string, bound: { stack: string; boundAt: Date; boundBy: string }, stack: string): Error {
  const when = bound.boundAt instanceof Date ? bound.boundAt.toISOString() : String(bound.boundAt);
  return Object.assign(
    new Error(
      `database ${database} is bound to stack "${bound.stack}" (recorded ${when} by ${bound.boundBy}); refusing to apply stack "${stack}"'s ` +
        `migrations and settings to it, which would write "${stack}"'s partition retention where maintenance drops "${bound.stack}"'s partitions. ` +
        `Point the run at "${stack}"'s own database, or run it with stack "${bound.stack}". Nothing was written`,
    ),
    { name: "StackMismatchError" },
  );
}

async function bindingOf(client: pg.ClientBase): Promise<{ stack: string; boundAt: Date; boundBy: string } | undefined> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [STACK_BINDING_TABLE]);
  if (!exists.rows[0].t) return undefined;
  const { rows } = await client.query<{ stack: string; bound_at: Date; bound_by: string }>(`SELECT stack, bound_at, bound_by FROM ${STACK_BINDING_TABLE}`);
  return rows[0] ? { stack: rows[0].stack, boundAt: rows[0].bound_at, boundBy: rows[0].bound_by } : undefined;
}

/** Throws when the database is bound to a stack other than `stack`; writes nothing. */
export async function checkStackBinding(client: pg.ClientBase, stack: string): Promise<void> {
  const bound = await bindingOf(client);
  if (bound && bound.stack !== stack) {
    const db = await client.query<{ d: string }>("SELECT current_database() AS d");
    throw stackMismatchError(db.rows[0].d, bound, stack);
  }
}

/** Records `stack` as the database's stack if none is recorded, else checks it. Run it holding the migration lock. */
export async function bindStack(client: pg.ClientBase, stack: string): Promise<void> {
  if (!validStackName(stack)) throw new Error(`"${stack}" is not a Pulumi stack name (letters, digits, "-", "_", "."; at most 100)`);
  await checkStackBinding(client, stack);
  await client.query("CREATE SCHEMA IF NOT EXISTS lp_meta");
  await client.query(`CREATE TABLE IF NOT EXISTS ${STACK_BINDING_TABLE} (
      one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
      stack text NOT NULL,
      bound_at timestamptz NOT NULL DEFAULT now(),
      bound_by name NOT NULL DEFAULT session_user)`);
  await client.query(`INSERT INTO ${STACK_BINDING_TABLE} (stack) VALUES ($1) ON CONFLICT (one_row) DO NOTHING`, [stack]);
  await checkStackBinding(client, stack);
}
