-- name: cba_cert_revoked
-- title: Client certificates revoked (403.13)
-- kind: check
-- severity: high
-- order: 40
-- finds: Devices presenting a revoked client certificate (403.13), excluding refusals caused by an unreachable revocation server.
-- param: min_hits int 1 Fewest requests from one device that make a finding
-- means: The certificate was revoked by its CA (device lost, user left, certificate superseded) but the device still uses it.
-- why: 403.13 with {win32} on {servers}: the certificate itself is revoked; an unreachable revocation
--   server would say CRYPT_E_REVOCATION_OFFLINE (cba_revocation_offline).
-- next: Confirm the revocation was intended; if the device should sync, issue a new certificate through the MDM and remove the revoked one.
-- timeline: NOT is_probe AND sc_status = 403 AND sc_substatus = 13 AND (sc_win32_status IS NULL OR
--   sc_win32_status NOT IN (2148081682, 2148081683))
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
WHERE sc_status = 403 AND sc_substatus = 13 AND (sc_win32_status IS NULL OR sc_win32_status NOT IN (2148081682, 2148081683))
GROUP BY device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
