/**
 * The scheduled export must not start inside the automated backup window.
 * Cloud SQL runs one administrative operation at a time per instance: an
 * export requested while the backup runs is refused with HTTP 409 ("Operation
 * failed because another operation was already in progress", Cloud SQL
 * "Troubleshooting", https://cloud.google.com/sql/docs/postgres/troubleshooting,
 * and "Best practices for importing and exporting data",
 * https://cloud.google.com/sql/docs/postgres/import-export).
 */

/**
 * Length of the automated backup window from `backupStartTime`: "the start of a
 * 4-hour backup window. Backups can start any time during the backup window"
 * (gcloud sql instances patch --backup-start-time,
 * https://cloud.google.com/sdk/gcloud/reference/sql/instances/patch; CIS Google
 * Cloud Platform Benchmark 6.7 quotes the same).
 */
export const BACKUP_WINDOW_MINUTES = 4 * 60;

/** Time zones in which the export's cron fields are UTC, the zone of `backupStartTime`. */
export const UTC_ZONES: readonly string[] = Object.freeze(["Etc/UTC", "UTC"]);

const MINUTES_PER_DAY = 24 * 60;

/** The values one cron field (minute or hour) names, or a problem naming the field. */
function cronField(field: string, name: string, max: number): number[] | string {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return `${name} field "${field}": expected numbers, ranges (a-b), lists (a,b) or steps (*/n)`;
    const from = m[1] === "*" ? 0 : Number(m[2]);
    const to = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from > max || to > max || from > to || step < 1) return `${name} field "${field}": values must be 0–${max}, ranges ascending, steps at least 1`;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

const hhmm = (minutes: number) => {
  const m = ((minutes % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
};

/**
 * Why the export schedule conflicts with the backup window, per config key;
 * empty when it does not. Only the minute and hour fields matter: the window
 * recurs daily, so any day the export runs it starts at one of those times.
 */
export function exportWindowProblems(a: { readonly exportSchedule: string; readonly exportTimeZone: string; readonly backupStartTime: string }): {
  readonly key: "exportSchedule" | "exportTimeZone";
  readonly message: string;
}[] {
  if (!UTC_ZONES.includes(a.exportTimeZone)) {
    return [
      {
        key: "exportTimeZone",
        message: `must be "Etc/UTC" or "UTC": the backup window (lp-db:backupStartTime) is in UTC, and a zone with daylight saving moves the export across it twice a year`,
      },
    ];
  }
  const [minuteField, hourField] = a.exportSchedule.trim().split(/\s+/);
  const minutes = cronField(minuteField, "minute", 59);
  const hours = cronField(hourField, "hour", 23);
  if (typeof minutes === "string") return [{ key: "exportSchedule", message: minutes }];
  if (typeof hours === "string") return [{ key: "exportSchedule", message: hours }];
  const [bh, bm] = a.backupStartTime.split(":").map(Number);
  const windowStart = bh * 60 + bm;
  for (const h of hours) {
    for (const m of minutes) {
      const start = h * 60 + m;
      if ((start - windowStart + MINUTES_PER_DAY) % MINUTES_PER_DAY < BACKUP_WINDOW_MINUTES) {
        return [
          {
            key: "exportSchedule",
            message:
              `starts at ${hhmm(start)} UTC, inside the automated backup window ${hhmm(windowStart)}–${hhmm(windowStart + BACKUP_WINDOW_MINUTES)} UTC ` +
              `(lp-db:backupStartTime "${a.backupStartTime}" + 4 h); Cloud SQL runs one operation per instance at a time, so schedule the export outside it`,
          },
        ];
      }
    }
  }
  return [];
}
