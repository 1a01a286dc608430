/**
 * Config area: where alerts go — warning and critical e-mail lists, Slack,
 * and the address alert policies link their responses to.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { PROJECT, emails, type AreaContext } from "./common";
import type { RawConfig } from "./schema";

/** The `lp-db:*` keys of this area, as Pulumi.yaml declares them. */
export const monitoringKeys = {
  alertEmails: emails,
  criticalEmails: emails,
  slackChannel: z.string().refine((v) => v === "" || /^#[-_a-z0-9]{1,80}$/.test(v), { message: 'expected "" or "#channel-name"' }),
  alertsDocUrl: z
    .string()
    .refine((v) => v === "" || /^https:\/\/[^\s#]+$/.test(v), { message: 'expected "" or the https:// address of docs/alerts.md (no #anchor)' }),
};

/** Keys of this area that hold secrets; read with `getSecret`. */
export const MONITORING_SECRET_KEYS = ["slackAuthToken"] as const;

/** This area's part of the stack config. */
export interface MonitoringConfig {
  readonly monitoring: {
    readonly warningEmails: readonly string[];
    readonly criticalEmails: readonly string[];
    readonly slackChannel?: string;
    /** Web address of docs/alerts.md in the repository browser; each alert policy links its response section there. */
    readonly alertsDocUrl?: string;
    /** Slack bot token; always a secret. */
    readonly slackAuthToken?: pulumi.Output<string>;
  };
}

export function parseMonitoring({ raw, source, fail, problem }: AreaContext<RawConfig>): MonitoringConfig {
  if (raw.environment === "prod" && raw.criticalEmails.length === 0 && raw.slackChannel === "") {
    fail("criticalEmails", "a prod stack must route critical alerts to at least one email or lp-db:slackChannel");
  }
  if (raw.slackChannel !== "" && !source.slackAuthToken) {
    problem(
      `${PROJECT}:slackAuthToken = (not set): lp-db:slackChannel is "${raw.slackChannel}", so set the bot token with ` +
        `"pulumi config set --secret lp-db:slackAuthToken <token>"`,
    );
  }
  return {
    monitoring: {
      warningEmails: raw.alertEmails,
      criticalEmails: raw.criticalEmails,
      slackChannel: raw.slackChannel || undefined,
      alertsDocUrl: raw.alertsDocUrl || undefined,
      slackAuthToken: source.slackAuthToken,
    },
  };
}
