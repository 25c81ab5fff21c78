-- name: cba_mapping_failed
-- title: Certificates presented but not mapped to an account (anonymous 401, 403.12)
-- kind: check
-- severity: high
-- order: 50
-- finds: Devices that stay anonymous on a server that requires certificates (401 without a user,
--   or 403.12 "mapper denied access") and never succeed nor get 403.7: a certificate was sent,
--   but IIS could not map it to an account. The normal challenge (a success follows within a
--   minute), devices that send a user name (passwords), MDM gateways whose Kerberos delegation
--   fails (kcd_failures) and health probes are left out.
-- param: min_hits int 1 Fewest failed requests from one device that make a finding
-- param: gateway_devices int 5 Devices with Kerberos refusals behind one address that make it an MDM gateway
-- with: regression_hours
-- means: The user's UPN is not in the certificate's Subject or Subject Alternative Name, the
--   certificate is not associated with the AD account, or a third-party CA is not in NTAuth.
-- why: {statuses} without a user on {servers}, on days those servers required certificates, from devices
--   that never got 403.7 nor succeeded: a certificate was sent and accepted but mapped to no account.
-- next: Inspect the certificate's SAN (it must hold the user's UPN); check the AD account's UPN;
--   check that Client Certificate Mapping Authentication is installed and enabled on every
--   server; publish third-party CAs to the Enterprise NTAuth store.
-- timeline: tier = 'frontend' AND NOT is_probe AND cs_username IS NULL AND ((sc_status = 403 AND
--   sc_substatus = 12) OR (sc_status = 401 AND NOT followed_by_success))
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
-- (which have none), with 403.7. An anonymous 401 there that day is a certificate that did not
-- map.
cert_days AS (
  SELECT DISTINCT concat(coalesce(server, ''), ' ', CAST(CAST(timestamp AS DATE) AS VARCHAR)) AS server_day
  FROM activesync WHERE tier = 'frontend' AND sc_status = 403 AND sc_substatus = 7
),
succeeded AS (SELECT DISTINCT device_key FROM eas WHERE sc_status BETWEEN 200 AND 299),
-- A device that sends a user name authenticates with a password (see
-- cba_password_auth_still_active), not with a certificate.
password AS (SELECT DISTINCT device_key FROM eas WHERE cs_username IS NOT NULL),
no_cert AS (SELECT DISTINCT device_key FROM eas WHERE sc_status = 403 AND sc_substatus = 7)
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT eas.server)), ',') AS server, max(client_ip) AS client_ip, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas LEFT JOIN regression_hours rh
  ON rh.server = coalesce(eas.server, '') AND rh.hour = date_bin(INTERVAL '1 hour', eas.timestamp)
WHERE cs_username IS NULL
  AND ((sc_status = 403 AND sc_substatus = 12)
       OR (sc_status = 401 AND NOT followed_by_success
           AND concat(coalesce(eas.server, ''), ' ', CAST(day AS VARCHAR)) IN (SELECT server_day FROM cert_days)))
  AND device_key NOT IN (SELECT device_key FROM succeeded)
  -- An anonymous 401 while a regression holds the server is the regression's (a 403.12 says
  -- the mapper ran, so it never is).
  AND NOT (sc_status = 401 AND rh.server IS NOT NULL)
  AND device_key NOT IN (SELECT device_key FROM password)
  AND device_key NOT IN (SELECT device_key FROM no_cert)
  AND coalesce(client_ip, '') NOT IN (SELECT client_ip FROM kcd_gateways)
GROUP BY device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
