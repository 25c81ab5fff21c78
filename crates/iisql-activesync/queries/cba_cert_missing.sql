-- name: cba_cert_missing
-- title: Devices without a client certificate (403.7)
-- kind: check
-- severity: high
-- order: 10
-- finds: ActiveSync devices on the front end that get 403.7 (client certificate required) and
--   never succeed afterwards. Health probes are left out, and so are gateways that terminate the
--   certificates themselves (many devices, all refused: kcd_double_termination); devices behind a
--   load balancer or a carrier's NAT are not.
-- param: min_hits int 1 Fewest 403.7 requests from one device that make a finding
-- param: gateway_devices int 5 Devices with 403.7, and no success, behind one address that make it a certificate-terminating gateway
-- means: The device presents no client certificate: the MDM never pushed the certificate
--   profile, it was removed, or the mail app uses another certificate or account.
-- why: 403.7 on {servers} from devices that never succeed: no certificate was sent at all; a certificate
--   that was sent but refused would be 403.13, 403.16 or 403.17, one that did not map a 401.
-- next: Check the device's MDM enrolment and certificate profile; confirm the user's certificate
--   is installed and selected for the Exchange account; re-push the profile and watch for 200s.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 403 AND sc_substatus = 7
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
gateways AS (
  -- A gateway that terminates the certificates itself cannot present them to Exchange: all its
  -- devices get 403.7 and none succeeds (kcd_double_termination). A load balancer or a
  -- carrier's NAT carries many devices too, but some of them succeed.
  SELECT client_ip FROM eas WHERE client_ip IS NOT NULL
  GROUP BY client_ip
  HAVING count(DISTINCT CASE WHEN sc_status = 403 AND sc_substatus = 7 THEN device_key END) >= $gateway_devices
     AND sum(CASE WHEN sc_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) = 0
),
failed AS (
  SELECT device_key,
         max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
         array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server,
         max(client_ip) AS client_ip,
         count(*) AS hits, min(timestamp) AS first_seen, max(timestamp) AS last_seen,
         first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
  FROM eas
  WHERE sc_status = 403 AND sc_substatus = 7
    AND coalesce(client_ip, '') NOT IN (SELECT client_ip FROM gateways)
  GROUP BY device_key
),
ok AS (
  SELECT device_key, max(timestamp) AS last_ok FROM eas
  WHERE sc_status BETWEEN 200 AND 299 GROUP BY device_key
)
SELECT f.device_id, f.device_type, f.user, f.server, f.client_ip, f.hits, f.first_seen, f.last_seen, f.example, f.example_line
FROM failed f LEFT JOIN ok ON f.device_key = ok.device_key
WHERE f.hits >= $min_hits AND (ok.last_ok IS NULL OR ok.last_ok < f.first_seen)
ORDER BY f.hits DESC, f.device_id, f.example
