/**
 * When the SchemaMigrations resource needs an update: the migration set, the
 * memberships (and login limits), the maintenance settings, drift a refresh
 * recorded, pending migrations, or a connection field. Never a replacement.
 */
import type * as pulumi from "@pulumi/pulumi";
import { canonical, containsUnknown, type Drift, type SchemaMigrationsInputs, type SchemaMigrationsOutputs } from "./inputs";

/** What decides whether an update is needed: migration names + checksums, memberships (order-free), settings. */
function fingerprint(props: Partial<SchemaMigrationsInputs>): { migrations: string; memberships: string; maintenance: string } {
  const memberships: Record<string, string[]> = {};
  for (const [login, roles] of Object.entries(props.memberships ?? {})) memberships[login] = [...roles].sort();
  return {
    migrations: canonical((props.migrations ?? []).map((m) => [m.name, m.sha256])),
    // Absent limits and {} are the same, so a state written before the input existed shows no change.
    memberships: canonical({ memberships, limits: props.loginConnectionLimits ?? {} }),
    maintenance: canonical(props.maintenance ?? {}),
  };
}

/** Inputs that say how to reach the database; a change updates the state through a no-op apply (see the header). */
export const CONNECTION_FIELDS = ["host", "port", "user", "password", "serverCa", "serverName", "connector"] as const;

/** Connection fields whose new value differs from the state's or is not known yet. */
export function changedConnectionFields(olds: Partial<SchemaMigrationsInputs>, news: Partial<SchemaMigrationsInputs>): string[] {
  return CONNECTION_FIELDS.filter((f) => containsUnknown(news[f]) || canonical(olds[f]) !== canonical(news[f]));
}

/** True when a refresh recorded drift, so the next `pulumi up` must reconcile. */
function hasDrift(drift: Drift | undefined): boolean {
  return !!drift && drift.appliedOutsidePulumi.length + drift.missing.length + drift.checksumMismatch.length > 0;
}

/** What `diff` decides: changes for the migration set, memberships, settings, recorded drift or the connection fields; never a replacement. */
export function diffSchema(olds: Partial<SchemaMigrationsOutputs>, news: Partial<SchemaMigrationsInputs>): pulumi.dynamic.DiffResult {
  const a = fingerprint(olds);
  const unknown = containsUnknown(news.migrations) || containsUnknown(news.memberships) || containsUnknown(news.maintenance);
  const b = unknown ? undefined : fingerprint(news);
  const changes =
    !b ||
    a.migrations !== b.migrations ||
    a.memberships !== b.memberships ||
    a.maintenance !== b.maintenance ||
    hasDrift(olds.drift) ||
    (olds.pending?.length ?? 0) > 0 ||
    changedConnectionFields(olds, news).length > 0;
  return { changes, replaces: [], deleteBeforeReplace: false };
}
