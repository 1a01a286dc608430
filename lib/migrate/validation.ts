/**
 * The one set of rules for login → group-role memberships and login connection
 * limits. Stack config (config/access.ts), the migrations provider's `check` (what
 * `pulumi preview` runs) and the reconcile at apply time (lib/migrate/maintenance)
 * all call {@link membershipProblems}, so a preview that passes never meets a
 * refusal in `pulumi up` after the migrations have committed.
 *
 * What only the database can say (the login exists, it can log in) is left to
 * the reconcile; everything decidable from the values is here.
 *
 * Plain functions, arrays and strings only: the provider that imports this is
 * serialized with Pulumi's closure serializer (see lib/pg-connect.ts).
 */

/** Group roles the reconcile grants and revokes (migration 0002 creates them). */
export const MANAGED_GROUP_ROLES = ["lp_app_rw", "lp_analytics_ro", "lp_backup_ro"] as const;
/** Group roles of the schema that are never logins: the managed ones and the owner role, whose membership is structural. */
export const GROUP_ROLES = ["lp_owner", ...MANAGED_GROUP_ROLES] as const;
/** PostgreSQL truncates names beyond NAMEDATALEN - 1 = 63 bytes (PostgreSQL docs, "Identifiers and Key Words"). */
export const MAX_NAME_BYTES = 63;

/** One problem, naming the input property (`memberships.<login>`, `loginConnectionLimits.<login>`). */
export interface ValidationProblem {
  readonly property: string;
  readonly reason: string;
}

/**
 * The database login Cloud SQL creates for an IAM service account: its e-mail
 * without `.gserviceaccount.com` (Cloud SQL docs, "Add an IAM user or service
 * account to a database": https://cloud.google.com/sql/docs/postgres/add-manage-iam-users).
 */
export function iamLoginName(serviceAccount: string): string {
  return serviceAccount.replace(/\.gserviceaccount\.com$/, "");
}

/** Why `login` cannot be a login the reconcile manages, or undefined. Built-in (`app_user`) and IAM (`sa@project.iam`) names. */
export function loginNameProblem(login: string): string | undefined {
  if ((GROUP_ROLES as readonly string[]).includes(login)) return `"${login}" is a group role, not a login; list the login users that should be members of it`;
  if (!/^[a-z_][a-z0-9_.@-]*$/.test(login)) {
    return `"${login}" is not a database login name: lowercase letters, digits, "_", ".", "@" and "-", starting with a letter or "_" (a built-in user or an IAM user such as sa@project.iam)`;
  }
  // ASCII from here on, so characters are bytes.
  if (login.length > MAX_NAME_BYTES) {
    return `login "${login}" is ${login.length} characters; PostgreSQL names hold at most ${MAX_NAME_BYTES} (longer ones are truncated), so use a shorter service account or project id`;
  }
  return undefined;
}

/** Why `role` cannot be granted by the reconcile, or undefined. */
export function groupRoleProblem(role: string): string | undefined {
  if ((MANAGED_GROUP_ROLES as readonly string[]).includes(role)) return undefined;
  const why = role === "lp_owner" ? " (lp_owner owns the schema; only the migration user is a member)" : "";
  return `group role "${role}" is not one the reconcile manages${why}; allowed: ${MANAGED_GROUP_ROLES.join(", ")}`;
}

/** Every problem with `memberships` (login → group roles) and `connectionLimits` (login → CONNECTION LIMIT). */
export function membershipProblems(
  memberships: Readonly<Record<string, readonly string[]>>,
  connectionLimits: Readonly<Record<string, number>> = {},
): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const [login, roles] of Object.entries(memberships)) {
    const property = `memberships.${login}`;
    const bad = loginNameProblem(login);
    if (bad) problems.push({ property, reason: bad });
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string")) {
      problems.push({ property, reason: "expected a list of group role names" });
      continue;
    }
    for (const role of roles) {
      const wrong = groupRoleProblem(role);
      if (wrong) problems.push({ property, reason: wrong });
    }
  }
  for (const [login, limit] of Object.entries(connectionLimits)) {
    const property = `loginConnectionLimits.${login}`;
    if (!Number.isInteger(limit) || limit < 1) problems.push({ property, reason: `${String(limit)} is not a whole number of connections ≥ 1` });
    if (!(login in memberships)) problems.push({ property, reason: "the login must also be listed in memberships" });
  }
  return problems;
}
