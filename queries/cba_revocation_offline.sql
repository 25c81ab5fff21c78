-- name: cba_revocation_offline
-- title: Revocation check outage (403.13/403.16 across many devices at once)
-- kind: check
-- severity: critical
-- order: 45
-- finds: Certificate refusals (403.13 or 403.16) that say the revocation server was offline, or
--   that hit many otherwise working devices in the same hour: the CRL or OCSP responder, not
--   the devices.
-- param: min_devices int 10 Distinct devices refused in one hour that make a burst
-- means: The servers could not check revocation (CRL distribution point or OCSP responder
--   unreachable or its CRL expired), so every device is refused while it lasts.
-- next: Fetch the CRL/OCSP URLs of the issuing CA from an Exchange server (certutil -url); check
--   proxy and firewall rules and the CRL's next-update date; publish a fresh CRL.
-- timeline: NOT is_probe AND sc_status = 403 AND sc_substatus IN (13, 16)
WITH refused AS (
  SELECT date_trunc('hour', timestamp) AS hour, *
  FROM activesync
  WHERE NOT is_probe AND sc_status = 403 AND sc_substatus IN (13, 16)
),
working AS (
  SELECT DISTINCT device_key FROM activesync
  WHERE sc_status BETWEEN 200 AND 299
),
bursts AS (
  SELECT hour FROM refused WHERE device_key IN (SELECT device_key FROM working)
  GROUP BY hour HAVING count(DISTINCT device_key) >= $min_devices
)
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server, max(client_ip) AS client_ip, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen,
       array_to_string(array_sort(array_agg(DISTINCT win32_text)), '; ') AS win32,
       first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM refused
WHERE sc_win32_status IN (2148081682, 2148081683)
   OR (hour IN (SELECT hour FROM bursts) AND device_key IN (SELECT device_key FROM working))
GROUP BY device_key
ORDER BY first_seen, device_id, example
