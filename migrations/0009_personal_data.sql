-- Personal data: a procedure that anonymizes one user in place (the row and
-- its id stay, so enrollments, progress and analytics keep their history)
-- and records that in audit_log. Retention of audit and analytics data is
-- lp_ops.partition_settings.retention_months (0005), applied by maintenance.

-- Up Migration

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';
SET LOCAL ROLE lp_owner;

-- SECURITY DEFINER so the application needs only EXECUTE, not UPDATE on every
-- personal column; search_path is pinned so callers cannot redirect it.
CREATE OR REPLACE PROCEDURE lp_ops.anonymize_user(p_user_id bigint, p_actor_id bigint DEFAULT NULL, p_reason text DEFAULT 'erasure request')
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE public.users
     SET email = format('anonymized-%s@invalid.example', id),
         full_name = NULL,
         display_name = 'Deleted user',
         phone = NULL,
         date_of_birth = NULL,
         last_login_at = NULL,
         updated_at = now(),
         deleted_at = coalesce(deleted_at, now())
   WHERE id = p_user_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'anonymize_user: no user with id %', p_user_id USING ERRCODE = 'no_data_found';
  END IF;
  INSERT INTO public.audit_log (actor_id, action, entity_type, entity_id, details)
  VALUES (p_actor_id, 'user.anonymized', 'user', p_user_id,
          jsonb_build_object('reason', p_reason,
                             'columns', jsonb_build_array('email', 'full_name', 'display_name', 'phone', 'date_of_birth', 'last_login_at')));
END
$$;
REVOKE ALL ON PROCEDURE lp_ops.anonymize_user(bigint, bigint, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA lp_ops TO lp_app_rw;
GRANT EXECUTE ON PROCEDURE lp_ops.anonymize_user(bigint, bigint, text) TO lp_app_rw;
