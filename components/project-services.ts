/**
 * The Google APIs the stack uses, enabled on the project. They are never disabled
 * on destroy: other workloads in the project may rely on them.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * Every API the stack calls, enabled once: the database tier (Cloud SQL,
 * networking, KMS, Secret Manager, IAM), backups (Cloud Storage, Cloud
 * Scheduler, Workflows) and monitoring (Cloud Monitoring, Cloud Logging).
 */
export const STACK_APIS = Object.freeze([
  "sqladmin.googleapis.com",
  "compute.googleapis.com",
  "servicenetworking.googleapis.com",
  "cloudkms.googleapis.com",
  "secretmanager.googleapis.com",
  "iam.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  "storage.googleapis.com",
  "cloudscheduler.googleapis.com",
  "workflows.googleapis.com",
  "monitoring.googleapis.com",
  "logging.googleapis.com",
  "redis.googleapis.com",
] as const);

const API_NAME = /^[a-z][a-z0-9-]*\.googleapis\.com$/;

/** Arguments of {@link ProjectServices}. */
export interface ProjectServicesArgs {
  /** GCP project id. */
  readonly project: string;
  /** API service names to enable, for example "sqladmin.googleapis.com". */
  readonly services: readonly string[];
}

/** `lp:project:Services`: enables each API once and hands out the resources that need to wait for it. */
export class ProjectServices extends pulumi.ComponentResource {
  /** The enabled APIs, by service name. */
  public readonly services: Readonly<Record<string, gcp.projects.Service>>;

  constructor(name: string, args: ProjectServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:project:Services", name, {}, opts);
    const bad = args.services.filter((s) => !API_NAME.test(s));
    if (bad.length > 0) throw new pulumi.ResourceError(`services: ${bad.join(", ")} are not API names like "sqladmin.googleapis.com"`, this);
    const twice = args.services.filter((s, i) => args.services.indexOf(s) !== i);
    if (twice.length > 0) throw new pulumi.ResourceError(`services: ${twice.join(", ")} listed twice`, this);

    const services: Record<string, gcp.projects.Service> = {};
    for (const service of args.services) {
      services[service] = new gcp.projects.Service(
        `${name}-${service.split(".")[0]}`,
        { project: args.project, service, disableOnDestroy: false, disableDependentServices: false },
        { parent: this },
      );
    }
    this.services = Object.freeze(services);
    this.registerOutputs({ services: Object.keys(services) });
  }

  /** The Service resources for `apis`, to put in a `dependsOn`. Throws for an API this component does not enable. */
  forApis(...apis: readonly string[]): gcp.projects.Service[] {
    return apis.map((api) => {
      const service = this.services[api];
      if (!service) throw new pulumi.ResourceError(`API ${api} is not enabled by this stack; add it to the services list`, this);
      return service;
    });
  }
}
