/**
 * A series that stops reporting, told apart from one that has not started.
 *
 * An up/role gauge with no series at all is either an instance that went
 * silent (down, or its agent broke) or one that does not report yet (being
 * created, or a cross-region replica still seeding). The first should page;
 * the second must not. `or vector(0)` cannot tell them apart, so a new
 * instance paged two minutes into its creation. Instead the value counts as 0
 * only when the series reported within {@link PRESENCE_WINDOW} and has been
 * silent for the whole {@link ABSENCE_WINDOW}: a never-reported series yields
 * no value, so its policy has nothing to compare and stays quiet (together with
 * each policy depending on its instance, so none exists before the instance).
 *
 * PromQL: `absent_over_time(v[w])` is 1 when `v` has no sample in `w`,
 * `count_over_time(v[w])` exists only when it has at least one, and
 * `a or on() b` takes `b` only when `a` is empty (Prometheus "Query functions"
 * and "Operators", https://prometheus.io/docs/prometheus/latest/querying/functions/#aggregation_over_time,
 * which Cloud Monitoring's PromQL implements: https://cloud.google.com/monitoring/promql).
 */
import { CLOUD_SQL_METRICS } from "./catalog";

const UP_SAMPLING = CLOUD_SQL_METRICS.up.sampling;

/**
 * Silence that counts as down: five minutes. A healthy series' newest point is
 * at most one sampling period plus the visibility delay old (60 s + 165 s for
 * `database/up`, Google's metrics list, see catalog.ts), so normal delay never
 * looks like absence; Memorystore's metrics are assumed no slower (the list
 * states no visibility delay for them). Detection of a silent instance takes
 * this window plus the policy's duration.
 */
export const ABSENCE_WINDOW_SECONDS = 300;
export const ABSENCE_WINDOW = `${ABSENCE_WINDOW_SECONDS / 60}m`;
if (ABSENCE_WINDOW_SECONDS <= UP_SAMPLING.everySeconds + UP_SAMPLING.visibleAfterSeconds) {
  throw new Error(`ABSENCE_WINDOW_SECONDS ${ABSENCE_WINDOW_SECONDS} must exceed one sample plus the visibility delay of database/up`);
}

/**
 * A series that reported within this window and then went silent counts as
 * down; one silent for longer (an instance deleted outside Pulumi, or down for
 * over a day, which has paged all along) stops counting, and its incident
 * closes. One day keeps a long outage paging through a night.
 */
export const PRESENCE_WINDOW = "1d";

/**
 * `value`, or 0 when the series `s` (a metric with its selector) has been
 * silent for {@link ABSENCE_WINDOW} after reporting within
 * {@link PRESENCE_WINDOW}; nothing when it never reported.
 */
export function valueOrZeroWhenSilent(value: string, s: string): string {
  return `${value} or on() (0 * (absent_over_time(${s}[${ABSENCE_WINDOW}]) and on() count_over_time(${s}[${PRESENCE_WINDOW}])))`;
}
