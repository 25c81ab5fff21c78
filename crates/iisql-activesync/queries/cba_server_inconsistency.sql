-- name: cba_server_inconsistency
-- title: Devices served by one server and refused by another
-- kind: check
-- severity: medium
-- order: 120
-- finds: Devices that succeed on one front end and get certificate or authentication refusals
--   (403.7/.12/.13/.16/.17 or anonymous 401) on another the same day. Revocation outages are
--   left out (see cba_revocation_offline).
-- param: min_hits int 1 Fewest refused requests from one device that make a finding
-- means: The servers sharing the namespace are not configured alike (authentication methods,
--   SSL settings, certificate stores); load balancing makes the same device fail at random.
-- why: {statuses} on {servers} for devices another server served the same day: the servers are
--   configured differently, not the devices.
-- next: Compare Get-ActiveSyncVirtualDirectory and the IIS SSL/authentication settings of the
--   servers listed; align them; compare their certificate stores.
-- timeline: tier = 'frontend' AND NOT is_probe AND ((sc_status = 403 AND sc_substatus IN (7, 12, 13, 16,
--   17)) OR (sc_status = 401 AND cs_username IS NULL AND NOT followed_by_success))
WITH eas AS (
  SELECT CAST(timestamp AS DATE) AS day, *
  FROM activesync WHERE tier = 'frontend' AND NOT is_probe
),
served AS (SELECT DISTINCT device_key, day, server FROM eas WHERE sc_status BETWEEN 200 AND 299),
refused AS (
  SELECT * FROM eas
  WHERE ((sc_status = 403 AND sc_substatus IN (7, 12, 13, 16, 17))
         OR (sc_status = 401 AND cs_username IS NULL AND NOT followed_by_success))
    AND (sc_win32_status IS NULL OR sc_win32_status NOT IN (2148081682, 2148081683))
)
SELECT max(r.device_id) AS device_id, max(r.device_type) AS device_type, max(r.user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT r.server)), ',') AS server,
       count(*) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT r.status_full)), ',') AS statuses,
       min(r.timestamp) AS first_seen, max(r.timestamp) AS last_seen,
       first_value(concat(r.log_filename, ':', CAST(r.log_row AS VARCHAR)) ORDER BY r.timestamp, r.log_filename, r.log_row) AS example,
       first_value(r.request_line ORDER BY r.timestamp, r.log_filename, r.log_row) AS example_line
FROM refused r
WHERE EXISTS (SELECT 1 FROM served s
              WHERE s.device_key = r.device_key AND s.day = r.day AND s.server <> r.server)
GROUP BY r.device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
