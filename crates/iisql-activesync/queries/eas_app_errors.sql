-- name: eas_app_errors
-- title: ActiveSync application errors (policy, provisioning, blocked devices)
-- kind: check
-- severity: low
-- order: 170
-- finds: Requests whose Log= string carries an Exchange ActiveSync error, a protocol status of
--   the policy family (S/SC1 142-145), or HTTP 449 (provision first), on devices that get no
--   clean answer afterwards: not an authentication problem, but it looks like one to users. Errors
--   a device gets over (a 449 followed by Provision, a policy refresh) and Ping collisions are
--   routine and left out.
-- param: min_hits int 1 Fewest requests per device and error that make a finding
-- param: min_server_errors int 3 Fewest server errors (HTTP 5xx, Error:ServerError) of one device that make a finding: a one-off server error is not a device problem
-- means: The device authenticated but Exchange refused the command: device access rules
--   (AllowBlockQuarantine, As:BlockedP), policy refresh or provisioning, a user disabled for
--   ActiveSync, throttling.
-- why: {statuses} with Exchange's own error in Log= after the device authenticated: a policy or
--   provisioning decision, not a certificate or password refusal.
-- next: Get-MobileDevice / Get-CASMailbox for the user; device access rules and quarantine;
--   the mailbox policy; whether ActiveSync is enabled for the user.
-- timeline: NOT is_probe AND (eas_error IS NOT NULL OR eas_status IN ('142', '143', '144', '145') OR
--   sc_status = 449) AND coalesce(eas_error, '') <> 'PingCollisionDetected'
WITH logged AS (
  -- Exchange 2013+ writes Log= on the back end's line (the front end's line of the same request
  -- has none): where back ends log, the lines with Log= are the requests (a 2010 CAS writes it
  -- on its own line); elsewhere every line is.
  SELECT count(*) > 0 AS on_backend FROM activesync
  WHERE tier = 'backend' AND cs_uri_query LIKE '%Log=%'
),
requests AS (
  SELECT a.* FROM activesync a CROSS JOIN logged
  WHERE NOT a.is_probe
    AND (a.tier = 'backend' OR a.cs_uri_query LIKE '%Log=%' OR NOT logged.on_backend)
),
errors AS (
  SELECT * FROM requests
  WHERE (eas_error IS NOT NULL OR eas_status IN ('142', '143', '144', '145') OR sc_status = 449)
    -- Routine: a device's new Ping ends its previous one.
    AND coalesce(eas_error, '') <> 'PingCollisionDetected'
),
recovered AS (
  -- A device that later gets a clean answer got over it (a Ping collision, a policy refresh
  -- followed by Provision): what is left are the devices that stay refused.
  SELECT device_key, max(timestamp) AS last_ok FROM requests
  WHERE sc_status BETWEEN 200 AND 299
    AND coalesce(eas_error, 'PingCollisionDetected') = 'PingCollisionDetected'
    AND coalesce(eas_status, '1') NOT IN ('142', '143', '144', '145')
  GROUP BY device_key
),
last_error AS (SELECT device_key, max(timestamp) AS last_error FROM errors GROUP BY device_key)
SELECT max(e.device_id) AS device_id, max(e.device_type) AS device_type, max(e.user) AS user,
       e.eas_error, e.access_state, max(e.eas_status) AS eas_status,
       array_to_string(array_sort(array_agg(DISTINCT e.status_full)), ',') AS statuses,
       array_to_string(array_sort(array_agg(DISTINCT e.server)), ',') AS server, count(*) AS hits,
       min(e.timestamp) AS first_seen, max(e.timestamp) AS last_seen,
       first_value(concat(e.log_filename, ':', CAST(e.log_row AS VARCHAR)) ORDER BY e.timestamp, e.log_filename, e.log_row) AS example,
       first_value(e.request_line ORDER BY e.timestamp, e.log_filename, e.log_row) AS example_line
FROM errors e JOIN last_error l ON e.device_key = l.device_key
LEFT JOIN recovered r ON e.device_key = r.device_key
WHERE r.last_ok IS NULL OR r.last_ok < l.last_error
GROUP BY e.device_key, e.eas_error, e.access_state
HAVING count(*) >= CASE
         WHEN bool_and(e.sc_status >= 500 OR coalesce(e.eas_error, '') = 'ServerError')
         THEN greatest($min_server_errors, $min_hits) ELSE $min_hits END
ORDER BY hits DESC, device_id, example
