-- name: eas_app_errors
-- title: ActiveSync application errors (policy, provisioning, blocked devices)
-- kind: check
-- severity: low
-- order: 170
-- finds: Requests whose Log= string carries an Exchange ActiveSync error, a protocol status of
--   the policy family (S/SC1 142-145), or HTTP 449 (provision first): not an authentication
--   problem, but it looks like one to users.
-- param: min_hits int 1 Fewest requests per device and error that make a finding
-- means: The device authenticated but Exchange refused the command: device access rules
--   (AllowBlockQuarantine, As:BlockedP), policy refresh or provisioning, a user disabled for
--   ActiveSync, throttling.
-- next: Get-MobileDevice / Get-CASMailbox for the user; device access rules and quarantine;
--   the mailbox policy; whether ActiveSync is enabled for the user.
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       eas_error, access_state, max(eas_status) AS eas_status,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp) AS example
FROM activesync
WHERE NOT is_probe
  AND (eas_error IS NOT NULL OR sc_status = 449 OR eas_status IN ('142', '143', '144', '145'))
GROUP BY coalesce(device_id, client_ip), eas_error, access_state
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id
