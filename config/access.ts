/**
 * Config area: who reaches the database — the application database and its
 * migration user, IAM database logins with their group roles, and the
 * application fleet whose pools the connection budget sizes.
 */
import { z } from "zod";
import { NAME, PG_IDENT, SA_EMAIL, int, list, pair, type AreaContext } from "./common";
import type { RawConfig } from "./schema";
import { iamLoginName, membershipProblems } from "../lib/migrate/validation";

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const accessKeys = {
  databaseName: z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier"),
  migrationUser: z.string().regex(PG_IDENT, "must be a lowercase PostgreSQL identifier"),
  iamUsers: list(z.string()),
  appInstances: int(1, 10_000),
  appPoolSize: int(1, 1_000),
  appReadPercent: int(0, 100),
};

/** An IAM database user for a service account, keyed by a short role name (application, analytics). */
export interface IamUserConfig {
  /** Service account email. */
  readonly serviceAccount: string;
  /** Database group roles the reconcile step grants this login. */
  readonly groupRoles: readonly string[];
}

/** This area's part of the stack config. */
export interface AccessConfig {
  readonly database: { readonly name: string; readonly migrationUser: string };
  readonly iamUsers: Readonly<Record<string, IamUserConfig>>;
  readonly capacity: {
    readonly appInstances: number;
    readonly poolSizePerInstance: number;
    readonly readPercent: number;
  };
}

const IAM_USER_HELP = 'expected "<name>=<service-account-email>:<group_role>[+<group_role>...]"';

export function parseAccess({ raw, fail }: AreaContext<RawConfig>): AccessConfig {
  const iamUsers: Record<string, IamUserConfig> = {};
  raw.iamUsers.forEach((entry, i) => {
    const kv = pair(entry);
    const [sa, roles] = kv ? [kv[1].split(":")[0], kv[1].split(":")[1] ?? ""] : ["", ""];
    const groupRoles = roles.split("+").filter(Boolean);
    if (!kv || !NAME.test(kv[0]) || !SA_EMAIL.test(sa) || groupRoles.length === 0 || !groupRoles.every((r) => PG_IDENT.test(r))) {
      fail(`iamUsers[${i}]`, IAM_USER_HELP);
    } else if (kv[0] in iamUsers) {
      fail(`iamUsers[${i}]`, `"${kv[0]}" is listed twice`);
    } else if (membershipProblems({ [iamLoginName(sa)]: groupRoles }).length > 0) {
      // The rules the migrations provider's check and the reconcile apply (lib/migrate/validation).
      for (const p of membershipProblems({ [iamLoginName(sa)]: groupRoles })) fail(`iamUsers[${i}]`, p.reason);
    } else {
      iamUsers[kv[0]] = Object.freeze({ serviceAccount: sa, groupRoles: Object.freeze(groupRoles) });
    }
  });
  return {
    database: { name: raw.databaseName, migrationUser: raw.migrationUser },
    iamUsers,
    capacity: { appInstances: raw.appInstances, poolSizePerInstance: raw.appPoolSize, readPercent: raw.appReadPercent },
  };
}
