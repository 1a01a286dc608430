/**
 * Steps the provider runs on every `up` after the migrations (and the CLI can run).
 *
 * Stable API:
 *   - {@link runPartitionMaintenance}(client, settings) → { created, dropped, held, removedBounds }: writes the
 *     per-table settings into `lp_ops.partition_settings` and calls the one SQL
 *     partition-management function `lp_ops.maintain_partitions(as_of)` (which pg_cron
 *     also runs, reading the same settings).
 *   - {@link reconcileMemberships}(client, memberships, { connectionLimits }) → { granted, revoked, warnings }:
 *     grants group roles to login users (built-in or IAM) per stack config and revokes the
 *     managed group roles ({@link MANAGED_GROUP_ROLES}) not listed. `revoked` lists only
 *     memberships that are gone afterwards: from PostgreSQL 16 a REVOKE removes only the
 *     caller's own grant, so a membership another role granted stays and comes back as a
 *     warning naming its grantor and the statement that grantor can run. It also copies each
 *     group's statement_timeout / idle_in_transaction_session_timeout to its logins, and
 *     sets each login's CONNECTION LIMIT, because PostgreSQL applies role settings and
 *     limits only to the role a session logs in as, never through membership.
 *
 * Connection limits: a login listed in `connectionLimits` gets exactly that limit (the
 * provider passes the application login's from the connection budget, lib/connection-budget
 * `loginConnectionLimits`: a group's fixed limit, e.g. lp_app_rw's 500, would cap a managed
 * pooler's server connections below what the budget plans). Other logins get the sum of their
 * groups' limits. A role is altered only when its value differs.
 *
 * Permission: from PostgreSQL 16 altering a role needs ADMIN OPTION on it, which a CREATEROLE
 * user has only for roles it created. Cloud SQL creates IAM users itself, so ALTER ROLE on an
 * IAM login can fail with 42501. That never fails the run (grants still apply); it comes back
 * as a warning naming the login, the statement to run and who can run it (docs/connectivity.md).
 *
 * Both must run as the migration user (a member of lp_owner, with ADMIN on the group roles).
 */
import type * as pg from "pg";
import { addBlockerDetails } from "./blockers";
import { MANAGED_GROUP_ROLES, membershipProblems } from "./validation";

export { MANAGED_GROUP_ROLES };

/** Settings copied from a group role to its logins. */
export const COPIED_ROLE_SETTINGS = ["statement_timeout", "idle_in_transaction_session_timeout"] as const;
/** Most months ahead the maintenance will create (bounds a config typo). */
export const MAX_MONTHS_AHEAD = 24;
/** SQLSTATE of lp_ops.with_lock_retries giving up (lock_not_available). */
const LOCK_NOT_AVAILABLE = "55P03";

export interface PartitionSettings {
  readonly monthsAhead: number;
  /** Months of data kept, by partitioned table name (e.g. analytics_events: 13). */
  readonly retentionMonths: Readonly<Record<string, number>>;
  /** Date the maintenance acts for. @default the database server's now(), never the runner's clock */
  readonly asOf?: Date;
}

export interface MaintenanceResult {
  readonly created: string[];
  readonly dropped: string[];
  /** Partitions past retention kept by a hold (lp_ops.partition_holds), as "<partition>: <reason>". */
  readonly held: string[];
  /** Cutover bounds left by a partition conversion that stopped, removed before their cutover, as "<constraint>: <detail>". */
  readonly removedBounds: string[];
}

export async function runPartitionMaintenance(client: pg.ClientBase, settings: PartitionSettings): Promise<MaintenanceResult> {
  if (!Number.isInteger(settings.monthsAhead) || settings.monthsAhead < 1 || settings.monthsAhead > MAX_MONTHS_AHEAD) {
    throw new Error(`partition maintenance: monthsAhead = ${settings.monthsAhead}; use a whole number from 1 to ${MAX_MONTHS_AHEAD}`);
  }
  const known = (await client.query<{ t: string }>("SELECT parent_table AS t FROM lp_ops.partition_settings ORDER BY 1")).rows.map((r) => r.t);
  for (const [table, months] of Object.entries(settings.retentionMonths)) {
    if (!known.includes(table)) {
      throw new Error(`partition maintenance: "${table}" is not a partitioned table; known tables: ${known.join(", ")}`);
    }
    if (!Number.isInteger(months) || months < 1) {
      throw new Error(`partition maintenance: retention for ${table} = ${months}; use a whole number of months ≥ 1`);
    }
  }
  await client.query("BEGIN");
  try {
    await client.query("UPDATE lp_ops.partition_settings SET months_ahead = $1", [settings.monthsAhead]);
    for (const [table, months] of Object.entries(settings.retentionMonths)) {
      await client.query("UPDATE lp_ops.partition_settings SET retention_months = $2 WHERE parent_table = $1", [table, months]);
    }
    // NULL: the function uses the server's now(), so retention never follows a wrong runner clock.
    const { rows } = await client.query<{ action: string; partition_name: string; detail: string | null }>(
      "SELECT action, partition_name, detail FROM lp_ops.maintain_partitions($1::timestamptz)",
      [settings.asOf ?? null],
    );
    await client.query("COMMIT");
    return {
      created: rows.filter((r) => r.action === "created").map((r) => r.partition_name),
      dropped: rows.filter((r) => r.action === "dropped").map((r) => r.partition_name),
      held: rows.filter((r) => r.action === "held").map((r) => `${r.partition_name}: ${r.detail ?? ""}`),
      removedBounds: rows.filter((r) => r.action === "bound removed").map((r) => `${r.partition_name}: ${r.detail ?? ""}`),
    };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    await addBlockerDetails(client, err);
    if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) (err as Error).message += " (docs/runbook.md#blocked-partition-maintenance)";
    throw err;
  }
}

/** Options of {@link reconcileMemberships}. */
export interface ReconcileOptions {
  /** CONNECTION LIMIT per login, overriding the sum of its groups' limits. @default {} (every login gets its groups' sum) */
  readonly connectionLimits?: Readonly<Record<string, number>>;
}

export interface ReconcileResult {
  readonly granted: string[];
  readonly revoked: string[];
  readonly warnings: string[];
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** The login roles `logins` name; refuses a name that does not exist or cannot log in. */
async function loginRoles(client: pg.ClientBase, logins: readonly string[]) {
  const roles = await client.query<{ rolname: string; rolcanlogin: boolean; rolconnlimit: number }>("SELECT rolname, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = ANY($1)", [
    logins,
  ]);
  const missing = logins.filter((l) => !roles.rows.some((r) => r.rolname === l));
  if (missing.length) throw new Error(`role reconcile: login user(s) ${missing.join(", ")} do not exist; create them (Cloud SQL built-in or IAM users) first`);
  const notLogin = roles.rows.filter((r) => !r.rolcanlogin).map((r) => r.rolname);
  if (notLogin.length) throw new Error(`role reconcile: ${notLogin.join(", ")} cannot log in; list login users only`);
  return roles.rows;
}

/** Memberships of login roles in `groups` (of `members` only, when given). One row per grant: from PostgreSQL 16 a membership may be granted several times, by different grantors. */
function grantsOf(client: pg.ClientBase, groups: readonly string[], members?: readonly string[]) {
  return client.query<{ member: string; grp: string; grantor: string }>(
    `SELECT m.rolname AS member, g.rolname AS grp, coalesce(gr.rolname, am.grantor::text) AS grantor
       FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid
       LEFT JOIN pg_roles gr ON gr.oid = am.grantor
      WHERE g.rolname = ANY($1) AND m.rolcanlogin AND ($2::text[] IS NULL OR m.rolname = ANY($2))
        -- the migration user's ADMIN grant from creating the group is how it manages the group: keep it
        AND NOT am.admin_option AND m.rolname <> current_user
      ORDER BY 1, 2, 3`,
    [groups, members ?? null],
  );
}

/**
 * Revokes each unwanted membership; one another role granted stays and becomes a warning
 * naming its grantor and the statement that grantor can run.
 */
async function revokeMemberships(
  client: pg.ClientBase,
  unwanted: readonly { readonly member: string; readonly grp: string }[],
  revoked: string[],
  warnings: string[],
): Promise<void> {
  for (const r of unwanted) {
    // From PostgreSQL 16 this removes only the grant the migration user made (pg_auth_members.grantor);
    // a grant by another role stays (the server says so with a WARNING, not an error), so look again.
    await client.query(`REVOKE ${q(r.grp)} FROM ${q(r.member)}`);
    const left = (await grantsOf(client, [r.grp], [r.member])).rows;
    if (left.length === 0) {
      revoked.push(`${r.grp} ✕ ${r.member}`);
      continue;
    }
    const grantors = [...new Set(left.map((l) => l.grantor))];
    warnings.push(
      `cannot remove ${r.grp} from ${r.member}: granted by ${grantors.join(", ")}, and from PostgreSQL 16 a REVOKE removes only the ` +
        `caller's own grant (pg_auth_members.grantor), so ${r.member} keeps ${r.grp}. Run as ${grantors.length > 1 ? "each grantor" : grantors[0]} ` +
        `(or a role with its privileges): ${grantors.map((g) => `REVOKE ${q(r.grp)} FROM ${q(r.member)} GRANTED BY ${q(g)};`).join(" ")}`,
    );
  }
}

/**
 * Copies the groups' {@link COPIED_ROLE_SETTINGS} to `login` and sets its CONNECTION LIMIT
 * (`limit`, else the sum of its groups' limits); a change the migrator may not make is a warning.
 */
async function alignLoginSettings(
  client: pg.ClientBase,
  login: string,
  groups: readonly string[],
  limit: number | undefined,
  currentLimit: number | undefined,
  warnings: string[],
): Promise<void> {
  const s = await client.query<{ setting: string; value: string }>(
    `SELECT split_part(cfg, '=', 1) AS setting, substr(cfg, strpos(cfg, '=') + 1) AS value
       FROM pg_db_role_setting d JOIN pg_roles g ON g.oid = d.setrole, unnest(d.setconfig) AS cfg
      WHERE d.setdatabase = 0 AND g.rolname = ANY($1) AND split_part(cfg, '=', 1) = ANY($2)
      ORDER BY g.rolname`,
    [groups, [...COPIED_ROLE_SETTINGS]],
  );
  const have = await client.query<{ setting: string; value: string }>(
    `SELECT split_part(cfg, '=', 1) AS setting, substr(cfg, strpos(cfg, '=') + 1) AS value
       FROM pg_db_role_setting d JOIN pg_roles r ON r.oid = d.setrole, unnest(d.setconfig) AS cfg
      WHERE d.setdatabase = 0 AND r.rolname = $1`,
    [login],
  );
  const groupLimit = await client.query<{ lim: number | null }>(
    "SELECT sum(rolconnlimit)::int AS lim FROM pg_roles WHERE rolname = ANY($1) AND rolconnlimit >= 0",
    [groups],
  );
  const wantLimit = limit ?? groupLimit.rows[0].lim;
  const statements: string[] = [];
  // With several groups the first group (by name) wins for each setting; the limits add up.
  const seen = new Set<string>();
  for (const row of s.rows) {
    if (seen.has(row.setting)) continue;
    seen.add(row.setting);
    if (have.rows.some((h) => h.setting === row.setting && h.value === row.value)) continue;
    statements.push(`ALTER ROLE ${q(login)} SET ${row.setting} = '${row.value.replace(/'/g, "''")}'`);
  }
  if (wantLimit !== null && wantLimit !== currentLimit) statements.push(`ALTER ROLE ${q(login)} CONNECTION LIMIT ${wantLimit}`);
  for (const sql of statements) {
    try {
      await client.query(sql);
    } catch (err) {
      if ((err as { code?: string }).code !== "42501") throw err;
      warnings.push(
        `cannot set ${login}'s role settings: ${(err as Error).message} (42501). From PostgreSQL 16 only a role with ADMIN OPTION on ` +
          `${login} may alter it, and Cloud SQL creates IAM users itself; run as such a role: ${sql}; (docs/connectivity.md, "Login connection limits")`,
      );
    }
  }
}

/**
 * Grants each login exactly its listed group roles among {@link MANAGED_GROUP_ROLES};
 * revokes managed group roles from logins (listed or not) that should not have them.
 */
export async function reconcileMemberships(
  client: pg.ClientBase,
  memberships: Readonly<Record<string, readonly string[]>>,
  options: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const managed = new Set<string>(MANAGED_GROUP_ROLES);
  const limits = options.connectionLimits ?? {};
  // The rules the provider's check (preview) and the stack config apply too: lib/migrate/validation.
  const problems = membershipProblems(memberships, limits);
  if (problems.length) throw new Error(`role reconcile: ${problems.map((p) => `${p.property}: ${p.reason}`).join("; ")}`);
  const roles = await loginRoles(client, Object.keys(memberships));

  const current = await grantsOf(client, [...managed]);
  const granted: string[] = [];
  const revoked: string[] = [];
  const warnings: string[] = [];
  const has = (login: string, grp: string) => current.rows.some((r) => r.member === login && r.grp === grp);
  for (const [login, groups] of Object.entries(memberships)) {
    for (const g of groups) {
      if (!has(login, g)) {
        await client.query(`GRANT ${q(g)} TO ${q(login)}`);
        granted.push(`${g} → ${login}`);
      }
    }
  }
  const unwanted = current.rows.filter(
    (r, i, all) => !(memberships[r.member] ?? []).includes(r.grp) && all.findIndex((o) => o.member === r.member && o.grp === r.grp) === i,
  );
  await revokeMemberships(client, unwanted, revoked, warnings);
  // Role settings and connection limits only apply to the login role itself.
  for (const [login, groups] of Object.entries(memberships)) {
    if (groups.length === 0 && limits[login] === undefined) continue;
    const currentLimit = roles.find((r) => r.rolname === login)?.rolconnlimit;
    await alignLoginSettings(client, login, groups, limits[login], currentLimit, warnings);
  }
  return { granted, revoked, warnings };
}
