/**
 * Where alerts go. One email channel per address and an optional Slack channel,
 * routed by severity: critical alerts page (critical addresses and Slack),
 * warnings go to the warning addresses.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { Severity } from "../lib/monitoring";

/** Arguments of {@link NotificationChannels}. */
export interface NotificationChannelsArgs {
  /** Project the channels live in. */
  readonly project: pulumi.Input<string>;
  /** Prefix of the channels' display names, so stacks sharing a project tell them apart. */
  readonly displayNamePrefix: string;
  /** Addresses that receive warning-level alerts. */
  readonly warningEmails: readonly string[];
  /** Addresses paged for critical alerts. */
  readonly criticalEmails: readonly string[];
  /**
   * Slack channel for critical alerts and the bot token (a secret).
   * @default no Slack channel
   */
  readonly slack?: { readonly channel: string; readonly authToken: pulumi.Input<string> };
  /**
   * User labels on every channel.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Turns an address into a resource-name-safe key. */
function slug(address: string): string {
  return address.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** Email and Slack notification channels, with the channel names each severity routes to. */
export class NotificationChannels extends pulumi.ComponentResource {
  /** Email channels by address. */
  public readonly emails: Readonly<Record<string, gcp.monitoring.NotificationChannel>>;
  /** The Slack channel, when configured. */
  public readonly slack?: gcp.monitoring.NotificationChannel;
  /**
   * Channel names (`projects/…/notificationChannels/…`) warning-level alerts
   * notify: the warning addresses, or the critical channels when there are none.
   */
  public readonly warning: pulumi.Output<string[]>;
  /**
   * Channel names critical alerts notify: the critical addresses and Slack; when
   * a stack has neither (staging), the warning addresses, so nothing is silent.
   */
  public readonly critical: pulumi.Output<string[]>;

  constructor(name: string, args: NotificationChannelsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lp:monitoring:NotificationChannels", name, {}, opts);

    const addresses = [...new Set([...args.warningEmails, ...args.criticalEmails])];
    if (addresses.length === 0 && !args.slack) {
      throw new pulumi.ResourceError(
        "no notification channel: warningEmails, criticalEmails and slack are all empty, so every alert would be silent; " +
          "set lp-db:alertEmails, lp-db:criticalEmails or lp-db:slackChannel",
        this,
      );
    }
    const slugs = new Map<string, string>();
    for (const address of addresses) {
      const key = slug(address);
      const other = slugs.get(key);
      if (other !== undefined) {
        throw new pulumi.ResourceError(`warningEmails/criticalEmails: "${address}" and "${other}" map to the same channel name`, this);
      }
      slugs.set(key, address);
    }
    const labels = { ...(args.labels ?? {}) };

    const emails: Record<string, gcp.monitoring.NotificationChannel> = {};
    for (const address of addresses) {
      emails[address] = new gcp.monitoring.NotificationChannel(
        `${name}-email-${slug(address)}`,
        {
          project: args.project,
          type: "email",
          displayName: `${args.displayNamePrefix} ${address}`,
          labels: { email_address: address },
          userLabels: labels,
        },
        { parent: this },
      );
    }
    this.emails = emails;

    if (args.slack) {
      this.slack = new gcp.monitoring.NotificationChannel(
        `${name}-slack`,
        {
          project: args.project,
          type: "slack",
          displayName: `${args.displayNamePrefix} Slack ${args.slack.channel}`,
          labels: { channel_name: args.slack.channel },
          // Kept a secret end to end: sensitiveLabels are write-only in the API.
          sensitiveLabels: { authToken: pulumi.secret(args.slack.authToken) },
          userLabels: labels,
        },
        // The policy engine sees inputs decrypted; declaring the output secret is what it can check.
        { parent: this, additionalSecretOutputs: ["sensitiveLabels"] },
      );
    }

    const names = (list: readonly string[]) => list.map((a) => emails[a].name);
    const pages = [...names(args.criticalEmails), ...(this.slack ? [this.slack.name] : [])];
    const mails = names(args.warningEmails);
    this.warning = pulumi.all(mails.length > 0 ? mails : pages);
    this.critical = pages.length > 0 ? pulumi.all(pages) : this.warning;

    this.registerOutputs({ warning: this.warning, critical: this.critical });
  }

  /** Channel names an alert of this severity notifies. */
  public forSeverity(severity: Severity): pulumi.Output<string[]> {
    return severity === "CRITICAL" ? this.critical : this.warning;
  }
}
