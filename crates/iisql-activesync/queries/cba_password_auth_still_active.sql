-- name: cba_password_auth_still_active
-- title: Password authentication still enabled on ActiveSync
-- kind: check
-- severity: medium
-- order: 100
-- finds: ActiveSync password failures (401.1 with a bad, expired, disabled or locked-out
--   account) on the front end: under certificate authentication there should be none.
--   MDM gateways and health probes are left out.
-- param: min_hits int 1 Fewest failures per user and server that make a finding
-- param: gateway_devices int 5 Devices with Kerberos refusals behind one address that make it an MDM gateway
-- means: Basic or Windows authentication is still enabled next to certificate mapping, so
--   devices can still send (stale) passwords - the path by which old devices lock accounts.
-- why: 401.1 with a user and {win32}: a password was checked, so an authentication other than
--   certificates is enabled; certificate failures never carry a user.
-- next: Set-ActiveSyncVirtualDirectory -BasicAuthEnabled $false -WindowsAuthEnabled $false on
--   every server sharing the namespace, then re-check that certificate mapping is still enabled.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 401 AND sc_substatus = 1 AND
--   sc_win32_status IN (1326, 1330, 1331, 1909, 2148074252)
-- timeline_by: user
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
kcd_gateways AS (
  -- An MDM gateway whose Kerberos delegation fails: many devices behind one address get
  -- Negotiate/Kerberos refusals that no success follows (kcd_failures reports it).
  SELECT client_ip FROM eas
  WHERE client_ip IS NOT NULL AND sc_status = 401
    AND sc_win32_status IN (2148074254, 2148074252, 2148074248, 2148074274) AND NOT followed_by_success
  GROUP BY client_ip HAVING count(DISTINCT device_key) >= $gateway_devices
)
SELECT server, user,
       array_to_string(array_sort(array_agg(DISTINCT device_id)), ',') AS device_id,
       count(*) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT win32_text)), '; ') AS win32,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas
WHERE sc_status = 401 AND sc_substatus = 1
  AND sc_win32_status IN (1326, 1330, 1331, 1909, 2148074252)
  AND coalesce(client_ip, '') NOT IN (SELECT client_ip FROM kcd_gateways)
GROUP BY server, user
HAVING count(*) >= $min_hits
ORDER BY server, user
