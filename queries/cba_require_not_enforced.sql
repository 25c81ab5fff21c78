-- name: cba_require_not_enforced
-- title: Client certificates accepted instead of required
-- kind: check
-- severity: medium
-- order: 60
-- finds: Front-end servers that never answer 403.7 but give anonymous 401s to ActiveSync devices
--   that never succeed nor send a user name: the SSL setting is "Accept", so devices without a
--   usable certificate fall through to an authentication that cannot succeed. The normal
--   challenge (a success follows within a minute) and password devices are left out.
-- param: min_devices int 1 Fewest failing devices on a server that make a finding
-- param: gateway_devices int 5 Devices with Kerberos refusals behind one address that make it an MDM gateway
-- means: With "Accept", IIS does not refuse devices without a certificate (no 403.7); the
--   CBA documentation warns that Accept does not work consistently across ActiveSync devices.
-- next: On the Microsoft-Server-ActiveSync virtual directory of the servers listed, set SSL
--   Settings to Require SSL and Client certificates: Require, as on the other servers.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 401 AND cs_username IS NULL AND NOT
--   followed_by_success
-- timeline_by: server
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
kcd_gateways AS (
  -- An MDM gateway whose Kerberos delegation fails: many devices behind one address get
  -- Negotiate/Kerberos refusals that no success follows (kcd_failures reports it).
  SELECT client_ip FROM eas
  WHERE client_ip IS NOT NULL AND sc_status = 401
    AND sc_win32_status IN (2148074254, 2148074252, 2148074248, 2148074274) AND NOT followed_by_success
  GROUP BY client_ip HAVING count(DISTINCT device_key) >= $gateway_devices
),
cert_servers AS (SELECT DISTINCT coalesce(server, '') AS server FROM eas WHERE sc_status = 403 AND sc_substatus = 7),
succeeded AS (SELECT DISTINCT device_key FROM eas WHERE sc_status BETWEEN 200 AND 299),
-- A device that sends a user name authenticates with a password (see
-- cba_password_auth_still_active), not with a certificate.
password AS (SELECT DISTINCT device_key FROM eas WHERE cs_username IS NOT NULL)
SELECT server,
       array_to_string(array_sort(array_agg(DISTINCT device_id)), ',') AS device_id,
       array_to_string(array_sort(array_agg(DISTINCT user)), ',') AS user,
       count(DISTINCT device_key) AS devices, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas
WHERE sc_status = 401 AND cs_username IS NULL AND NOT followed_by_success
  AND coalesce(server, '') NOT IN (SELECT server FROM cert_servers)
  AND device_key NOT IN (SELECT device_key FROM succeeded)
  AND device_key NOT IN (SELECT device_key FROM password)
  AND coalesce(client_ip, '') NOT IN (SELECT client_ip FROM kcd_gateways)
GROUP BY server
HAVING count(DISTINCT device_key) >= $min_devices
ORDER BY server
