-- name: cba_cert_expired
-- title: Client certificates expired or not yet valid (403.17)
-- kind: check
-- severity: high
-- order: 30
-- finds: Devices whose client certificate is outside its validity period (403.17), with when each was first refused.
-- param: min_hits int 1 Fewest requests from one device that make a finding
-- means: The certificate on the device expired (or is not yet valid, e.g. a wrong device clock); the MDM did not renew it.
-- why: 403.17 with {win32} on {servers}: the certificate's validity period, not its chain (403.16) or
--   revocation (403.13).
-- next: Check the certificate's validity dates on the device and the MDM's renewal policy; re-issue the certificate; check the device clock for not-yet-valid certificates.
-- timeline: NOT is_probe AND sc_status = 403 AND sc_substatus = 17
WITH eas AS (
  SELECT * FROM activesync WHERE NOT is_probe
)
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server,
       max(client_ip) AS client_ip, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen,
       array_to_string(array_sort(array_agg(DISTINCT win32_text)), '; ') AS win32,
       first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas
WHERE sc_status = 403 AND sc_substatus = 17 
GROUP BY device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
