/**
 * Google Cloud and CIS limits that config/ checks while parsing a stack and
 * the components check again on their args: one number each, so the two
 * checks cannot disagree.
 */

/** Read pools hold 1–20 nodes. Source: Cloud SQL "About read pools". */
export const MAX_READ_POOL_NODES = 20;
/** KMS keys rotate at least this often. Source: CIS GCP Foundations Benchmark 1.10. */
export const MAX_KEY_ROTATION_DAYS = 90;
/** Cloud SQL keeps 1–365 automated backups. Source: Cloud SQL "About backups". */
export const MAX_RETAINED_BACKUPS = 365;
/** Cloud SQL's allocated PSA range must be /8 to /24. Source: Cloud SQL "Configure private services access". */
export const MIN_PSA_PREFIX = 8;
export const MAX_PSA_PREFIX = 24;
