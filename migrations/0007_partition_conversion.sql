-- lp:no-transaction
--
-- Converts analytics_events and audit_log to monthly range partitions online
-- (see lp_ops.convert_to_monthly_partitions in 0005): existing rows stay where
-- they are, in the old table attached as the history partition; writers wait
-- at most the swap's lock_timeout. The procedure commits step by step, so this
-- migration runs outside a transaction, and every step is skipped when done,
-- so a retry after a lock timeout resumes where it stopped.

-- Up Migration

SET statement_timeout = '30min';
SET ROLE lp_owner;

CALL lp_ops.convert_to_monthly_partitions('analytics_events', 'occurred_at');
CALL lp_ops.convert_to_monthly_partitions('audit_log', 'created_at');

-- Autovacuum never analyzes a partitioned parent; the planner needs its statistics.
ANALYZE analytics_events;
ANALYZE audit_log;

RESET ROLE;
RESET statement_timeout;
