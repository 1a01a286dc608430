-- lp:no-transaction
--
-- The unique indexes that become the primary keys (id, partition column) of
-- the partitioned analytics_events and audit_log (a partitioned table's keys
-- must include the partition column). Built online before the conversion.

-- Up Migration

SET lock_timeout = '5s';
SET statement_timeout = '30min';

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS analytics_events_id_occurred_at_key
  ON analytics_events (id, occurred_at);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS audit_log_id_created_at_key
  ON audit_log (id, created_at);

RESET statement_timeout;
RESET lock_timeout;
