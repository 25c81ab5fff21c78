-- name: cba_cert_untrusted
-- title: Client certificates not trusted (403.16)
-- kind: check
-- severity: high
-- order: 20
-- finds: ActiveSync requests refused because the client certificate's chain is not trusted or is invalid (403.16), by device, with the servers that refused them.
-- param: min_hits int 1 Fewest requests from one device that make a finding
-- means: The server cannot build a trusted chain for the device's certificate: the issuing root CA is not in the server's Trusted Root store, an intermediate is missing, or a non-self-signed certificate sits in the Trusted Root store (KB 942061). If only some servers refuse, their certificate stores differ.
-- next: Compare the Trusted Root and Intermediate stores of the servers listed with those that accept the same devices; import the issuing CA chain; remove non-root certificates from Trusted Root; for a third-party CA, publish it to the Enterprise NTAuth store.
-- why: {statuses} with {win32} on {servers}: the servers could not build a trusted chain; a
--   revocation outage would say CRYPT_E_REVOCATION_OFFLINE, a revoked certificate 403.13.
-- timeline: NOT is_probe AND sc_status = 403 AND sc_substatus = 16 AND (sc_win32_status IS NULL OR
--   sc_win32_status NOT IN (2148081682, 2148081683))
WITH eas AS (
  SELECT * FROM activesync WHERE NOT is_probe
)
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server,
       max(client_ip) AS client_ip, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       array_to_string(array_sort(array_agg(DISTINCT win32_text)), '; ') AS win32,
       first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas
WHERE sc_status = 403 AND sc_substatus = 16
  -- A revocation check that could not be made is cba_revocation_offline's.
  AND (sc_win32_status IS NULL OR sc_win32_status NOT IN (2148081682, 2148081683))
GROUP BY device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
