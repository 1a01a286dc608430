-- lp:no-transaction
--
-- Converts analytics_events and audit_log to monthly range partitions online
-- (see lp_ops.convert_to_monthly_partitions in 0005): existing rows stay where
-- they are, in the old table attached as the history partition; writers wait
-- at most one lock attempt (lp_ops.with_lock_retries, 100 ms). The procedure
-- commits step by step, so this migration runs outside a transaction, and
-- every step is skipped when done, so a retry resumes where it stopped.

-- Up Migration

SET statement_timeout = '30min';
SET ROLE lp_owner;

CALL lp_ops.convert_to_monthly_partitions('analytics_events', 'occurred_at');
CALL lp_ops.convert_to_monthly_partitions('audit_log', 'created_at');

-- 0011 builds its covering index on the analytics history partition; retention
-- keeps the partition until then (0011 releases the hold).
INSERT INTO lp_ops.partition_holds (partition_name, reason)
VALUES ('analytics_events_p_history', 'migration 0011 builds its covering index on it; apply 0011 first')
ON CONFLICT (partition_name) DO NOTHING;

-- Autovacuum never analyzes a partitioned parent; the planner needs its statistics.
ANALYZE analytics_events;
ANALYZE audit_log;

RESET ROLE;
RESET statement_timeout;
