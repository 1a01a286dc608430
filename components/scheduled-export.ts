/**
 * Scheduled logical exports of the primary into the backup bucket: a managed
 * schedule in the project instead of a cron job on a host.
 *
 * Cloud Scheduler starts a Workflows execution, and the workflow calls the
 * Cloud SQL Admin API export (`POST https://sqladmin.googleapis.com/v1/projects/{p}/instances/{i}/export`,
 * serverless export with `offload: true`) once per database, waiting for each
 * operation. Why not let Scheduler call the Admin API directly: its request
 * body is fixed, so every run would name the same object, and "if the file
 * already exists, the operation fails" (Cloud SQL export API) — with a
 * retention policy on the bucket nothing may overwrite it either. The workflow
 * adds the run's timestamp to each object name and makes a failed export a
 * failed execution, visible in Workflows' execution history and metrics.
 *
 * Privileges, smallest that work:
 * - the workflow runs as its own service account with a custom role holding
 *   only `cloudsql.instances.export`. roles/cloudsql.viewer lacks export; the
 *   predefined roles that have it (cloudsql.editor, cloudsql.admin) also
 *   restart, patch and import. Cloud SQL has no per-instance IAM policy, so the
 *   grant is a project binding narrowed by an IAM condition to this one instance;
 * - polling the export operation (the connector's `operations.get`,
 *   `GET /v1/projects/{project}/operations/{operation}`) needs
 *   `cloudsql.instances.get`, checked against the project, not the instance:
 *   the request names no instance, and Cloud SQL's permission table lists
 *   "Get the operations of a project: cloudsql.instances.get" (Cloud SQL
 *   "Required permissions for common tasks", iam-permissions). Under the
 *   instance condition that check would fail with 403 after the export had
 *   already started, so `cloudsql.instances.get` is a second custom role bound
 *   without a condition: read-only instance metadata, no data, no changes;
 * - Scheduler uses a second service account that may only start workflow
 *   executions (roles/workflows.invoker). That grant is necessarily
 *   project-level: Workflows IAM's lowest grantable resource is the project
 *   (IAM "Workflows roles and permissions": "Lowest-level resources where you
 *   can grant this role: Project"), and workflows.googleapis.com is not among
 *   the services that recognise resource attributes in IAM Conditions (IAM
 *   "Resource attributes for IAM Conditions"), so a resource.name condition
 *   cannot narrow it to one workflow;
 * - Cloud SQL's own service account (which writes the export file) gets
 *   roles/storage.objectCreator on the bucket only: it can create objects,
 *   not read, list, overwrite or delete them.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * Longest a single database export may run before the workflow gives up.
 * The connector's default is 30 minutes; a serverless export of a large
 * database takes longer. Source: Workflows connectors reference (maximum
 * one year); 6 hours leaves room before the next daily run.
 */
export const EXPORT_TIMEOUT_SECONDS = 6 * 3600;

/**
 * Scheduler's deadline for the HTTP call that starts the execution (it returns
 * at once). Source: Cloud Scheduler HTTP targets accept 15 s to 30 min.
 */
export const TRIGGER_ATTEMPT_DEADLINE = "180s";

/**
 * Retry of an export the Admin API refuses because another operation runs on
 * the instance (a backup, maintenance, an update): HTTP 409, "Operation failed
 * because another operation was already in progress" (Cloud SQL
 * "Troubleshooting", https://cloud.google.com/sql/docs/postgres/troubleshooting;
 * the Admin API runs one operation per instance at a time). Workflows' retry
 * policy with a custom predicate and exponential backoff (Workflows "Retry
 * steps", https://cloud.google.com/workflows/docs/reference/syntax/retrying):
 * 60 s doubling to 10 min, ten retries, about 75 minutes in all — long enough
 * for a backup or a patch to finish, short enough that the run still fails
 * (and alerts) the same night.
 */
export const EXPORT_RETRY = Object.freeze({ maxRetries: 10, initialDelaySeconds: 60, maxDelaySeconds: 600, multiplier: 2 });

/** Total time the retries of one export wait, seconds. */
export function exportRetryWaitSeconds(r: typeof EXPORT_RETRY = EXPORT_RETRY): number {
  let total = 0;
  for (let i = 0; i < r.maxRetries; i++) total += Math.min(r.initialDelaySeconds * r.multiplier ** i, r.maxDelaySeconds);
  return total;
}

/** HTTP status the Admin API returns when another operation holds the instance. */
export const OPERATION_IN_PROGRESS_STATUS = 409;

/** Scheduler retries a failed start this many times. */
export const TRIGGER_RETRY_COUNT = 3;

/** The export role's permissions, granted on the one exported instance (IAM condition). */
export const EXPORT_PERMISSIONS: readonly string[] = Object.freeze(["cloudsql.instances.export"]);

/**
 * The poll role's permissions, granted without a condition: `operations.get`
 * is authorised against the project, not the instance (see the file comment).
 */
export const POLL_PERMISSIONS: readonly string[] = Object.freeze(["cloudsql.instances.get"]);

/** The role that lets the trigger account start executions of a workflow. */
export const WORKFLOW_INVOKER_ROLE = "roles/workflows.invoker";

/** The role Cloud SQL's service account gets on the bucket: create objects, nothing else. */
export const BUCKET_WRITER_ROLE = "roles/storage.objectCreator";

const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/** Arguments of {@link ScheduledExport}. */
export interface ScheduledExportArgs {
  /** GCP project id. */
  readonly project: string;
  /** Region of the scheduler job and the workflow. */
  readonly region: string;
  /** Name of the Cloud SQL instance to export. */
  readonly instanceName: pulumi.Input<string>;
  /** The instance's service account (`serviceAccountEmailAddress`), which writes the export file. */
  readonly instanceServiceAccountEmail: pulumi.Input<string>;
  /** Name of the bucket the exports go to. */
  readonly bucketName: pulumi.Input<string>;
  /** Databases to export, one file each (a PostgreSQL SQL export holds exactly one database). */
  readonly databases: readonly string[];
  /** Cron schedule, five fields. */
  readonly schedule: string;
  /** IANA time zone of the schedule. */
  readonly timeZone: string;
  /** Prefix of the service account ids (`<prefix>-export-run`, `<prefix>-export-trg`), at most 19 characters. */
  readonly accountIdPrefix: string;
  /** Prefix of the custom role id, letters, digits and underscores. */
  readonly roleIdPrefix: string;
  /** Labels for the workflow. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Object name prefix inside the bucket; each export is `<prefix>/<database>/<UTC timestamp>.sql.gz`.
   * @default "exports"
   */
  readonly objectPrefix?: string;
  /**
   * Resources (enabled APIs, grants) every child must wait for.
   * @default []
   */
  readonly requires?: readonly pulumi.Resource[];
}

/** Builds the workflow definition (JSON, which Workflows accepts like YAML). */
export function exportWorkflowSource(opts: {
  readonly project: string;
  readonly instance: string;
  readonly bucket: string;
  readonly databases: readonly string[];
  readonly objectPrefix: string;
}): string {
  const uri = `\${"gs://${opts.bucket}/${opts.objectPrefix}/" + db + "/" + stamp + ".sql.gz"}`;
  return JSON.stringify(
    {
      main: {
        steps: [
          // 2026-11-26T03:00:00.123Z -> 20261126T030000.123Z: sortable, no characters needing escapes.
          { stamp: { assign: [{ stamp: '${text.replace_all(text.replace_all(time.format(sys.now()), ":", ""), "-", "")}' }] } },
          {
            exportEach: {
              for: {
                value: "db",
                in: [...opts.databases],
                steps: [
                  {
                    export: {
                      try: {
                        call: "googleapis.sqladmin.v1.instances.export",
                        args: {
                          project: opts.project,
                          instance: opts.instance,
                          connector_params: { timeout: EXPORT_TIMEOUT_SECONDS },
                          body: { exportContext: { fileType: "SQL", uri, databases: ["${db}"], offload: true } },
                        },
                      },
                      retry: {
                        predicate: "${operation_in_progress}",
                        max_retries: EXPORT_RETRY.maxRetries,
                        backoff: { initial_delay: EXPORT_RETRY.initialDelaySeconds, max_delay: EXPORT_RETRY.maxDelaySeconds, multiplier: EXPORT_RETRY.multiplier },
                      },
                    },
                  },
                ],
              },
            },
          },
          { done: { return: "${stamp}" } },
        ],
      },
      // Retries only the refusal while another operation runs; a failed export (bad bucket, permissions) fails the run at once.
      operation_in_progress: {
        params: ["e"],
        steps: [
          { check: { switch: [{ condition: `\${"code" in e and e.code == ${OPERATION_IN_PROGRESS_STATUS}}`, return: true }] } },
          { otherwise: { return: false } },
        ],
      },
    },
    null,
    2,
  );
}

/** Fails, naming the field, on arguments no export could run with. */
function validateArgs(args: ScheduledExportArgs, self: pulumi.Resource): void {
  if (args.databases.length === 0) {
    throw new pulumi.ResourceError("databases must name at least one database to export", self);
  }
  if (!/^[a-z][-a-z0-9]{2,18}$/.test(args.accountIdPrefix)) {
    throw new pulumi.ResourceError(
      `accountIdPrefix "${args.accountIdPrefix}" must be 3–19 lowercase letters, digits or hyphens (service account ids are at most 30 characters)`,
      self,
    );
  }
  if (!/^[A-Za-z0-9_]{1,50}$/.test(args.roleIdPrefix)) {
    throw new pulumi.ResourceError(`roleIdPrefix "${args.roleIdPrefix}" must be letters, digits or underscores`, self);
  }
}

/** A Cloud Scheduler job that runs a serverless Cloud SQL export of each database into the backup bucket. */
export class ScheduledExport extends pulumi.ComponentResource {
  /** Identity the export workflow runs as. */
  readonly runnerServiceAccount: gcp.serviceaccount.Account;
  /** Identity Cloud Scheduler uses to start the workflow. */
  readonly triggerServiceAccount: gcp.serviceaccount.Account;
  /** The custom role holding only the export permission (bound to the one instance). */
  readonly exportRole: gcp.projects.IAMCustomRole;
  /** The custom role holding only what polling the export operation needs (bound on the project). */
  readonly pollRole: gcp.projects.IAMCustomRole;
  /** The workflow that runs the exports. */
  readonly workflow: gcp.workflows.Workflow;
  /** The scheduler job. */
  readonly job: gcp.cloudscheduler.Job;

  constructor(name: string, args: ScheduledExportArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:backup:ScheduledExport", name, {}, opts);
    validateArgs(args, this);
    const requires = [...(args.requires ?? [])];

    this.runnerServiceAccount = new gcp.serviceaccount.Account(
      `${name}-runner`,
      { accountId: `${args.accountIdPrefix}-export-run`, displayName: "Runs the scheduled Cloud SQL exports (workflow identity)" },
      { parent: this, dependsOn: requires },
    );
    this.triggerServiceAccount = new gcp.serviceaccount.Account(
      `${name}-trigger`,
      { accountId: `${args.accountIdPrefix}-export-trg`, displayName: "Starts the scheduled Cloud SQL export workflow" },
      { parent: this, dependsOn: requires },
    );
    this.exportRole = new gcp.projects.IAMCustomRole(
      `${name}-export-role`,
      {
        roleId: `${args.roleIdPrefix}CloudSqlExport`,
        title: "Cloud SQL export only",
        description: "Start a Cloud SQL export; nothing else.",
        permissions: [...EXPORT_PERMISSIONS],
      },
      { parent: this, dependsOn: requires },
    );
    this.pollRole = new gcp.projects.IAMCustomRole(
      `${name}-poll-role`,
      {
        roleId: `${args.roleIdPrefix}CloudSqlExportPoll`,
        title: "Cloud SQL export polling only",
        description: "Read Cloud SQL operations (cloudsql.instances.get) to wait for an export; nothing else.",
        permissions: [...POLL_PERMISSIONS],
      },
      { parent: this, dependsOn: requires },
    );
    this.grantRunner(name, args, requires);
    this.grantBucketWriter(name, args, requires);
    this.workflow = this.createWorkflow(name, args, requires);
    this.job = this.createJob(name, args, requires);

    this.registerOutputs({ job: this.job.name, workflow: this.workflow.name });
  }

  /** Binds the two custom roles to the runner: export on this instance only, polling on the project. */
  private grantRunner(name: string, args: ScheduledExportArgs, requires: pulumi.Resource[]): void {
    // Cloud SQL has no per-instance IAM policy; the condition limits the project binding to this instance.
    new gcp.projects.IAMMember(
      `${name}-runner-export`,
      {
        project: args.project,
        role: this.exportRole.name,
        member: this.runnerServiceAccount.member,
        condition: {
          title: "only-the-exported-instance",
          description: "Export rights on the one instance this job exports",
          expression: pulumi.interpolate`resource.type == "sqladmin.googleapis.com/Instance" && resource.name == "projects/${args.project}/instances/${args.instanceName}"`,
        },
      },
      { parent: this, dependsOn: requires },
    );
    // No condition: operations.get is checked against the project, so an instance condition would deny the poll (file comment).
    new gcp.projects.IAMMember(
      `${name}-runner-poll`,
      { project: args.project, role: this.pollRole.name, member: this.runnerServiceAccount.member },
      { parent: this, dependsOn: requires },
    );
  }

  /** Lets Cloud SQL's service account write the export file: object create on this bucket, nothing more. */
  private grantBucketWriter(name: string, args: ScheduledExportArgs, requires: pulumi.Resource[]): void {
    new gcp.storage.BucketIAMMember(
      `${name}-sql-writer`,
      { bucket: args.bucketName, role: BUCKET_WRITER_ROLE, member: pulumi.interpolate`serviceAccount:${args.instanceServiceAccountEmail}` },
      { parent: this, dependsOn: requires },
    );
  }

  /** The workflow that exports each database under a timestamped name, as the runner. */
  private createWorkflow(name: string, args: ScheduledExportArgs, requires: pulumi.Resource[]): gcp.workflows.Workflow {
    const objectPrefix = args.objectPrefix ?? "exports";
    return new gcp.workflows.Workflow(
      `${name}-workflow`,
      {
        name: `${args.accountIdPrefix}-export`,
        region: args.region,
        description: "Exports each database of the primary to the backup bucket under a timestamped name",
        serviceAccount: this.runnerServiceAccount.email,
        callLogLevel: "LOG_ERRORS_ONLY",
        sourceContents: pulumi
          .all([args.instanceName, args.bucketName])
          .apply(([instance, bucket]) =>
            exportWorkflowSource({ project: args.project, instance, bucket, databases: args.databases, objectPrefix }),
          ),
        labels: { ...args.labels },
        deletionProtection: false,
      },
      { parent: this, dependsOn: requires },
    );
  }

  /** The scheduler job that starts a workflow execution on the schedule, as the trigger account (granted the invoker role here). */
  private createJob(name: string, args: ScheduledExportArgs, requires: pulumi.Resource[]): gcp.cloudscheduler.Job {
    // Project-level on purpose: Workflows IAM is grantable on the project only and takes no resource conditions (file comment).
    const invoker = new gcp.projects.IAMMember(
      `${name}-trigger-invoker`,
      { project: args.project, role: WORKFLOW_INVOKER_ROLE, member: this.triggerServiceAccount.member },
      { parent: this, dependsOn: requires },
    );
    return new gcp.cloudscheduler.Job(
      `${name}-job`,
      {
        name: `${args.accountIdPrefix}-export`,
        region: args.region,
        description: `Serverless Cloud SQL export of ${args.databases.join(", ")} to the backup bucket`,
        schedule: args.schedule,
        timeZone: args.timeZone,
        attemptDeadline: TRIGGER_ATTEMPT_DEADLINE,
        retryConfig: { retryCount: TRIGGER_RETRY_COUNT },
        httpTarget: {
          httpMethod: "POST",
          uri: pulumi.interpolate`https://workflowexecutions.googleapis.com/v1/projects/${args.project}/locations/${args.region}/workflows/${this.workflow.name}/executions`,
          headers: { "Content-Type": "application/json" },
          body: Buffer.from(JSON.stringify({ callLogLevel: "LOG_ERRORS_ONLY" })).toString("base64"),
          oauthToken: { serviceAccountEmail: this.triggerServiceAccount.email, scope: CLOUD_PLATFORM_SCOPE },
        },
      },
      { parent: this, dependsOn: [...requires, invoker] },
    );
  }
}
