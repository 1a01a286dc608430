/**
 * The application database and who may log in to it: a built-in migration user
 * whose generated password lives in Secret Manager (and in Pulumi state only as a
 * secret), and IAM database users for the service accounts in config, each granted
 * `roles/cloudsql.client` and `roles/cloudsql.instanceUser` on this stack's
 * instances only (an IAM condition on the instance names: Cloud SQL has no
 * per-instance IAM policy, so a conditioned project binding is the narrowest scope).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { iamLoginName } from "../lib/migrate/validation";

/** Roles an IAM database user needs to connect and log in. Source: Cloud SQL "IAM database authentication". */
export const IAM_LOGIN_ROLES = Object.freeze(["roles/cloudsql.client", "roles/cloudsql.instanceUser"] as const);
/** Length of the generated migration password: 32 characters of ~6 bits each, well past any brute-force horizon; at least one of each class, as the instance's password policy (COMPLEXITY_DEFAULT) demands. */
export const MIGRATION_PASSWORD_LENGTH = 32;
/** Specials limited to URL-safe characters so the password fits in a connection string unescaped. */
const PASSWORD_SPECIALS = "-_";
/** Logins Cloud SQL or PostgreSQL reserve. */
const RESERVED_LOGINS = Object.freeze(["postgres", "cloudsqlsuperuser", "cloudsqladmin", "cloudsqlagent", "cloudsqlreplica", "cloudsqliamuser", "cloudsqliamserviceaccount"]);

const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const SA_EMAIL = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[a-z][-a-z0-9]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;
const SECRET_ID = /^[a-zA-Z0-9_-]{1,255}$/;
const KEY = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** An IAM database user for a service account. */
export interface IamLogin {
  /** Service account email. */
  readonly serviceAccount: string;
  /** Database group roles the schema reconcile step grants this login. */
  readonly groupRoles: readonly string[];
}

/** Arguments of {@link DatabaseAccess}. */
export interface DatabaseAccessArgs {
  /** GCP project id. */
  readonly project: string;
  /** The primary instance (users and databases replicate to its replicas). */
  readonly instance: gcp.sql.DatabaseInstance;
  /** Names of every instance of the stack (primary, replicas, read pool): the IAM condition's scope. */
  readonly instanceNames: readonly string[];
  /** The application database. */
  readonly databaseName: string;
  /** The built-in migration user. */
  readonly migrationUser: string;
  /** Secret Manager secret id for the migration password. */
  readonly secretId: string;
  /** IAM database users by short name (application, analytics). @default {} */
  readonly iamUsers?: Readonly<Record<string, IamLogin>>;
  /** Labels for the secret. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** Resources (enabled APIs) that must exist first. @default [] */
  readonly requires?: readonly pulumi.Resource[];
}

/** The PostgreSQL login Cloud SQL creates for an IAM service account (defined with the membership rules). */
export { iamLoginName };

/** `lp:database:DatabaseAccess`: the database, the migration user and its secret, IAM logins. */
export class DatabaseAccess extends pulumi.ComponentResource {
  /** The application database. */
  public readonly database: gcp.sql.Database;
  /** Name of the application database. */
  public readonly databaseName: string;
  /** The migration user's login name. */
  public readonly migrationUserName: string;
  /** The migration user (the schema migrations resource depends on it). */
  public readonly migrationUser: gcp.sql.User;
  /** The migration user's password (a secret Output). */
  public readonly migrationPassword: pulumi.Output<string>;
  /** Secret Manager secret holding the password: `projects/<p>/secrets/<id>` (never the value). */
  public readonly migrationSecretId: pulumi.Output<string>;
  /** The secret version holding the current password. */
  public readonly migrationSecretVersion: gcp.secretmanager.SecretVersion;
  /** IAM database users by short name. */
  public readonly iamUsers: Readonly<Record<string, gcp.sql.User>>;
  /** PostgreSQL login names of the IAM users, by short name, with their group roles. */
  public readonly iamLogins: Readonly<Record<string, { readonly login: string; readonly groupRoles: readonly string[] }>>;
  private readonly name: string;
  private readonly project: string;
  private readonly condition: { title: string; description: string; expression: string };
  private readonly secret: gcp.secretmanager.Secret;

  constructor(name: string, args: DatabaseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:database:DatabaseAccess", name, {}, opts);
    const fail = (message: string) => {
      throw new pulumi.ResourceError(message, this);
    };
    const iam = args.iamUsers ?? {};
    if (!PG_IDENT.test(args.databaseName)) fail(`databaseName "${args.databaseName}" must be a lowercase PostgreSQL identifier`);
    if (!PG_IDENT.test(args.migrationUser)) fail(`migrationUser "${args.migrationUser}" must be a lowercase PostgreSQL identifier`);
    if (RESERVED_LOGINS.includes(args.migrationUser)) fail(`migrationUser "${args.migrationUser}" is reserved by Cloud SQL`);
    if (!SECRET_ID.test(args.secretId)) fail(`secretId "${args.secretId}" must be 1-255 letters, digits, hyphens or underscores`);
    if (args.instanceNames.length === 0) fail("instanceNames must name at least the primary");
    const logins = new Map<string, string>();
    for (const [key, user] of Object.entries(iam)) {
      if (!KEY.test(key)) fail(`iamUsers.${key}: the name must be lowercase letters, digits and hyphens`);
      if (!SA_EMAIL.test(user.serviceAccount)) fail(`iamUsers.${key}.serviceAccount "${user.serviceAccount}" is not a service account email`);
      if (user.groupRoles.length === 0 || !user.groupRoles.every((r) => PG_IDENT.test(r))) {
        fail(`iamUsers.${key}.groupRoles must list PostgreSQL role names`);
      }
      const login = iamLoginName(user.serviceAccount);
      if (logins.has(login)) fail(`iamUsers.${key}: service account ${user.serviceAccount} is also iamUsers.${logins.get(login)}`);
      logins.set(login, key);
    }
    this.name = name;
    this.project = args.project;
    this.databaseName = args.databaseName;
    this.migrationUserName = args.migrationUser;
    const scope = args.instanceNames.map((n) => `resource.name == "projects/${args.project}/instances/${n}"`).join(" || ");
    this.condition = {
      title: `${name}-instances`,
      description: "Only this stack's Cloud SQL instances",
      expression: `resource.type == "sqladmin.googleapis.com/Instance" && (${scope})`,
    };
    const requires = [...(args.requires ?? [])];

    this.database = new gcp.sql.Database(
      `${name}-database`,
      { project: args.project, instance: args.instance.name, name: args.databaseName, charset: "UTF8", collation: "en_US.UTF8" },
      // Dropping the application database loses every learner's data: never from Pulumi.
      { parent: this, protect: true },
    );

    const password = new random.RandomPassword(
      `${name}-migration-password`,
      { length: MIGRATION_PASSWORD_LENGTH, special: true, overrideSpecial: PASSWORD_SPECIALS, minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 },
      { parent: this },
    );
    this.migrationPassword = pulumi.secret(password.result);

    this.migrationUser = new gcp.sql.User(
      `${name}-migration-user`,
      {
        project: args.project,
        instance: args.instance.name,
        name: args.migrationUser,
        type: "BUILT_IN",
        password: this.migrationPassword,
        // The migration user owns the schema's objects; PostgreSQL cannot drop a role that owns objects.
        deletionPolicy: "ABANDON",
      },
      { parent: this },
    );

    this.secret = new gcp.secretmanager.Secret(
      `${name}-migration-secret`,
      {
        project: args.project,
        secretId: args.secretId,
        replication: { auto: {} },
        labels: { ...args.labels },
      },
      { parent: this, dependsOn: requires },
    );
    this.migrationSecretId = this.secret.id;
    this.migrationSecretVersion = new gcp.secretmanager.SecretVersion(
      `${name}-migration-secret-version`,
      { secret: this.secret.id, secretData: this.migrationPassword },
      { parent: this },
    );

    const users: Record<string, gcp.sql.User> = {};
    const iamLogins: Record<string, { login: string; groupRoles: readonly string[] }> = {};
    for (const [key, user] of Object.entries(iam)) {
      const login = iamLoginName(user.serviceAccount);
      users[key] = new gcp.sql.User(
        `${name}-iam-${key}`,
        { project: args.project, instance: args.instance.name, name: login, type: "CLOUD_IAM_SERVICE_ACCOUNT", deletionPolicy: "ABANDON" },
        { parent: this },
      );
      iamLogins[key] = Object.freeze({ login, groupRoles: Object.freeze([...user.groupRoles]) });
      this.grantConnect(key, `serviceAccount:${user.serviceAccount}`, requires);
    }
    this.iamUsers = Object.freeze(users);
    this.iamLogins = Object.freeze(iamLogins);

    this.registerOutputs({
      databaseName: this.databaseName,
      migrationUserName: this.migrationUserName,
      migrationSecretId: this.migrationSecretId,
    });
  }

  /** Grants `member` the roles to connect to and log in on this stack's instances (only those); `key` names the bindings. */
  grantConnect(key: string, member: pulumi.Input<string>, dependsOn: readonly pulumi.Resource[] = []): gcp.projects.IAMMember[] {
    return IAM_LOGIN_ROLES.map(
      (role) =>
        new gcp.projects.IAMMember(
          `${this.name}-${key}-${role.split(".")[1]}`,
          { project: this.project, role, member, condition: this.condition },
          { parent: this, dependsOn: [...dependsOn] },
        ),
    );
  }

  /** Lets `member` read the migration password from Secret Manager (for example a migration job's service account). */
  grantSecretAccess(key: string, member: pulumi.Input<string>): gcp.secretmanager.SecretIamMember {
    return new gcp.secretmanager.SecretIamMember(
      `${this.name}-${key}-secret-accessor`,
      { project: this.project, secretId: this.secret.secretId, role: "roles/secretmanager.secretAccessor", member },
      { parent: this },
    );
  }
}
