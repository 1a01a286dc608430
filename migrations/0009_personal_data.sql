-- Personal data: a procedure that anonymizes one user in place (the row and
-- its id stay, so enrollments, progress and analytics keep their history)
-- and records that in audit_log. Retention of audit and analytics data is
-- lp_ops.partition_settings.retention_months (0005), applied by maintenance.

-- Up Migration

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';
SET LOCAL ROLE lp_owner;

-- Personal data in jsonb: lp_ops.erase_personal_jsonb(doc, values) returns
-- `doc` with, at any depth (objects and arrays):
--   * every key that names personal data removed. Keys are compared lowercased
--     with everything but letters dropped ("E-Mail", "old_email", "ipAddress",
--     "X-Forwarded-For" → email, oldemail, ipaddress, xforwardedfor):
--       e-mail:  email emailaddress oldemail newemail previousemail contactemail
--       name:    name fullname firstname lastname givenname familyname displayname username
--       phone:   phone phonenumber mobile
--       network: ip ipaddress clientip remoteip remoteaddr xforwardedfor forwardedfor xrealip useragent
--       other:   dateofbirth dob birthdate address streetaddress
--   * every string equal to one of `values` (case-insensitive), or containing
--     one of at least 6 characters, replaced by JSON null (a value under a key
--     not listed above, e.g. {"id": "contact", "value": "<e-mail>"}).
-- Everything else (event names, devices, ids, amounts, flags) stays.
CREATE OR REPLACE FUNCTION lp_ops.erase_personal_jsonb(p_doc jsonb, p_values text[])
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_out jsonb;
  v_key text;
  v_val jsonb;
  v_str text;
BEGIN
  CASE jsonb_typeof(p_doc)
    WHEN 'object' THEN
      v_out := '{}';
      FOR v_key, v_val IN SELECT key, value FROM jsonb_each(p_doc) LOOP
        CONTINUE WHEN lower(regexp_replace(v_key, '[^A-Za-z]', '', 'g')) = ANY (ARRAY[
          'email', 'emailaddress', 'oldemail', 'newemail', 'previousemail', 'contactemail',
          'name', 'fullname', 'firstname', 'lastname', 'givenname', 'familyname', 'displayname', 'username',
          'phone', 'phonenumber', 'mobile',
          'ip', 'ipaddress', 'clientip', 'remoteip', 'remoteaddr', 'xforwardedfor', 'forwardedfor', 'xrealip', 'useragent',
          'dateofbirth', 'dob', 'birthdate', 'address', 'streetaddress']);
        v_out := v_out || jsonb_build_object(v_key, lp_ops.erase_personal_jsonb(v_val, p_values));
      END LOOP;
      RETURN v_out;
    WHEN 'array' THEN
      SELECT coalesce(jsonb_agg(lp_ops.erase_personal_jsonb(e, p_values) ORDER BY n), '[]')
        INTO v_out FROM jsonb_array_elements(p_doc) WITH ORDINALITY AS a(e, n);
      RETURN v_out;
    WHEN 'string' THEN
      v_str := lower(p_doc #>> '{}');
      IF EXISTS (SELECT FROM unnest(p_values) AS v(x)
                  WHERE x <> '' AND (v_str = lower(x) OR (length(x) >= 6 AND strpos(v_str, lower(x)) > 0))) THEN
        RETURN 'null';
      END IF;
      RETURN p_doc;
    ELSE
      RETURN p_doc;
  END CASE;
END
$$;
REVOKE ALL ON FUNCTION lp_ops.erase_personal_jsonb(jsonb, text[]) FROM PUBLIC;

-- lp_ops.anonymize_user(user, actor, reason) erases one user's personal data:
--   * users: email → anonymized-<id>@invalid.example; full_name, phone,
--     date_of_birth, last_login_at → NULL; display_name → 'Deleted user';
--     deleted_at set. The row and its id stay (enrollments, progress and
--     analytics keep their history; they hold ids, not personal data).
--   * audit_log.details of rows about the user (entity_type 'user') or done by
--     the user (actor_id), and analytics_events.properties of the user's
--     events: erase_personal_jsonb with the user's e-mail, names and phone.
--     Both tables are partitioned by month (0007); the UPDATE through the
--     parent reaches every partition, history included.
-- The audit row it writes holds no personal data: the erased columns, row
-- counts and a reason code. The free-text reason is never stored (it may quote
-- the request); it becomes one of erasure_request, account_closure,
-- retention_expiry, legal_request, or 'other'.
-- A repeat call for an anonymized user writes no audit row and rewrites only
-- rows that still hold a personal key (e.g. events written since), so with
-- nothing left to erase it changes nothing.
-- SECURITY DEFINER so the application needs only EXECUTE, not UPDATE on every
-- personal column; search_path is pinned so callers cannot redirect it.
CREATE OR REPLACE PROCEDURE lp_ops.anonymize_user(p_user_id bigint, p_actor_id bigint DEFAULT NULL, p_reason text DEFAULT 'erasure request')
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_user public.users%ROWTYPE;
  v_values text[];
  v_first boolean;
  v_audit bigint;
  v_events bigint;
  v_code text := lower(regexp_replace(trim(coalesce(p_reason, '')), '[\s-]+', '_', 'g'));
BEGIN
  SELECT * INTO v_user FROM public.users WHERE id = p_user_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'anonymize_user: no user with id %', p_user_id USING ERRCODE = 'no_data_found';
  END IF;
  v_first := v_user.email IS DISTINCT FROM format('anonymized-%s@invalid.example', p_user_id);
  v_values := array_remove(ARRAY[
    CASE WHEN v_first THEN v_user.email END, v_user.full_name,
    CASE WHEN v_first THEN v_user.display_name END, v_user.phone], NULL);

  IF v_first THEN
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
  END IF;

  UPDATE public.audit_log
     SET details = lp_ops.erase_personal_jsonb(details, v_values)
   WHERE ((entity_type = 'user' AND entity_id = p_user_id) OR actor_id = p_user_id)
     AND details IS DISTINCT FROM lp_ops.erase_personal_jsonb(details, v_values);
  GET DIAGNOSTICS v_audit = ROW_COUNT;
  UPDATE public.analytics_events
     SET properties = lp_ops.erase_personal_jsonb(properties, v_values)
   WHERE user_id = p_user_id
     AND properties IS DISTINCT FROM lp_ops.erase_personal_jsonb(properties, v_values);
  GET DIAGNOSTICS v_events = ROW_COUNT;

  IF v_first THEN
    INSERT INTO public.audit_log (actor_id, action, entity_type, entity_id, details)
    VALUES (p_actor_id, 'user.anonymized', 'user', p_user_id,
            jsonb_build_object(
              'reason_code', CASE WHEN v_code = ANY (ARRAY['erasure_request', 'account_closure', 'retention_expiry', 'legal_request']) THEN v_code ELSE 'other' END,
              'columns', jsonb_build_array('email', 'full_name', 'display_name', 'phone', 'date_of_birth', 'last_login_at'),
              'erased_rows', jsonb_build_object('audit_log', v_audit, 'analytics_events', v_events)));
  END IF;
END
$$;
REVOKE ALL ON PROCEDURE lp_ops.anonymize_user(bigint, bigint, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA lp_ops TO lp_app_rw;
GRANT EXECUTE ON PROCEDURE lp_ops.anonymize_user(bigint, bigint, text) TO lp_app_rw;
