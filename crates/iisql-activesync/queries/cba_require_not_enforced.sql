-- name: cba_require_not_enforced
-- title: Client certificates accepted instead of required
-- kind: check
-- severity: medium
-- order: 60
-- finds: Front-end servers that, on a day, answer no 403.7 but give anonymous 401s to ActiveSync
--   devices that never succeed nor send a user name: the SSL setting is "Accept" that day, so
--   devices without a usable certificate fall through to an authentication that cannot succeed.
--   One row per server and day: a server switched to Accept for a day is found even if it
--   required certificates on the others. The normal
--   challenge (a success follows within a minute) and password devices are left out.
-- param: min_devices int 1 Fewest failing devices on a server that make a finding
-- param: gateway_devices int 5 Devices with Kerberos refusals behind one address that make it an MDM gateway
-- with: regression_hours
-- means: With "Accept", IIS does not refuse devices without a certificate (no 403.7); the
--   CBA documentation warns that Accept does not work consistently across ActiveSync devices.
-- why: anonymous {statuses} and no 403.7 on {servers} that day: certificates were not required;
--   under Require the same devices get 403.7 (cba_cert_missing).
-- next: On the Microsoft-Server-ActiveSync virtual directory of the servers listed, set SSL
--   Settings to Require SSL and Client certificates: Require, as on the other servers.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 401 AND cs_username IS NULL AND NOT
--   followed_by_success
-- timeline_by: server
WITH eas AS (
  SELECT CAST(timestamp AS DATE) AS day, * FROM activesync WHERE tier = 'frontend' AND NOT is_probe
),
kcd_gateways AS (
  -- An MDM gateway whose Kerberos delegation fails: many devices behind one address get
  -- Negotiate/Kerberos refusals that no success follows (kcd_failures reports it).
  SELECT client_ip FROM eas
  WHERE client_ip IS NOT NULL AND sc_status = 401
    AND sc_win32_status IN (2148074254, 2148074252, 2148074248, 2148074274) AND NOT followed_by_success
  GROUP BY client_ip HAVING count(DISTINCT device_key) >= $gateway_devices
),
-- The days each server required certificates: it refused some device, or Exchange's own probes
-- (which have none), with 403.7.
cert_days AS (
  SELECT DISTINCT coalesce(server, '') AS server, CAST(timestamp AS DATE) AS day FROM activesync
  WHERE tier = 'frontend' AND sc_status = 403 AND sc_substatus = 7
),
succeeded AS (SELECT DISTINCT device_key FROM eas WHERE sc_status BETWEEN 200 AND 299),
-- A device that sends a user name authenticates with a password (see
-- cba_password_auth_still_active), not with a certificate.
password AS (SELECT DISTINCT device_key FROM eas WHERE cs_username IS NOT NULL)
SELECT eas.server, day,
       array_to_string(array_sort(array_agg(DISTINCT device_id)), ',') AS device_id,
       array_to_string(array_sort(array_agg(DISTINCT user)), ',') AS user,
       count(DISTINCT device_key) AS devices, count(*) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas LEFT JOIN regression_hours rh
  ON rh.server = coalesce(eas.server, '') AND rh.hour = date_bin(INTERVAL '1 hour', eas.timestamp)
WHERE eas.sc_status = 401 AND cs_username IS NULL AND NOT followed_by_success
  AND NOT EXISTS (SELECT 1 FROM cert_days c WHERE c.server = coalesce(eas.server, '') AND c.day = eas.day)
  AND device_key NOT IN (SELECT device_key FROM succeeded)
  -- An anonymous 401 while a regression holds the server is the regression's.
  AND rh.server IS NULL
  AND device_key NOT IN (SELECT device_key FROM password)
  AND coalesce(client_ip, '') NOT IN (SELECT client_ip FROM kcd_gateways)
GROUP BY eas.server, day
HAVING count(DISTINCT device_key) >= $min_devices
ORDER BY 1, 2
