-- name: cba_revocation_offline
-- title: Revocation check outage (CRYPT_E_REVOCATION_OFFLINE on 403.13/403.16)
-- kind: check
-- severity: critical
-- order: 45
-- finds: Certificate refusals (403.13 or 403.16) whose win32 status says the server could not
--   check revocation (CRYPT_E_REVOCATION_OFFLINE 2148081683, CRYPT_E_NO_REVOCATION_CHECK
--   2148081682), by device, naming only the servers that logged them. The win32 code decides: a
--   burst of untrusted-root or chaining failures is a trust-store problem (cba_cert_untrusted),
--   and CRYPT_E_REVOKED is a revoked certificate (cba_cert_revoked), never an outage.
-- param: min_devices int 1 Fewest devices refused for revocation on a server that make a finding
-- means: The servers listed could not check revocation (CRL distribution point or OCSP
--   responder unreachable, or its CRL expired), so they refuse every certificate while it lasts.
-- why: {statuses} with {win32} on {servers}: the revocation check itself failed there, not the
--   certificates (CERT_E_UNTRUSTEDROOT or CERT_E_CHAINING would be the trust store,
--   CRYPT_E_REVOKED a revoked certificate).
-- next: Fetch the CRL/OCSP URLs of the issuing CA from an Exchange server (certutil -url); check
--   proxy and firewall rules and the CRL's next-update date; publish a fresh CRL.
-- timeline: NOT is_probe AND sc_status = 403 AND sc_substatus IN (13, 16) AND sc_win32_status IN
--   (2148081682, 2148081683)
WITH refused AS (
  SELECT * FROM activesync
  WHERE NOT is_probe AND sc_status = 403 AND sc_substatus IN (13, 16)
    AND sc_win32_status IN (2148081682, 2148081683)
),
outage_servers AS (
  SELECT coalesce(server, '') AS server FROM refused
  GROUP BY coalesce(server, '') HAVING count(DISTINCT device_key) >= $min_devices
)
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server, max(client_ip) AS client_ip, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       array_to_string(array_sort(array_agg(DISTINCT win32_text)), '; ') AS win32,
       first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM refused
WHERE coalesce(server, '') IN (SELECT server FROM outage_servers)
GROUP BY device_key
ORDER BY first_seen, device_id, example
