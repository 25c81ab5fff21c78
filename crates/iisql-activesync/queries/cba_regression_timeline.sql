-- name: cba_regression_timeline
-- title: Devices that succeeded switched to mapping-off refusals (mapping silently undone)
-- kind: check
-- severity: critical
-- order: 110
-- finds: Front-end servers where, from one hour on, most requests of the devices that had
--   succeeded on them get the statuses of certificate mapping turned off (an anonymous 401 or a
--   password prompt that no success follows), until the hours return to normal: one row per
--   episode, with every refused request of those devices in it. Certificate refusals
--   (403.13, 403.16, 403.17: revocation, trust, expiry) and Kerberos refusals of a gateway have
--   findings of their own and never make a regression.
-- with: regression_hours
-- means: Something changed on that server at that hour (typically Set-ActiveSyncVirtualDirectory
--   turning clientCertificateMappingAuthentication off): the devices it served fail since.
-- why: {statuses} on {servers} for devices that had succeeded there before: certificate mapping
--   stopped; a trust or revocation outage would show 403.16 or 403.13, not 401.
-- next: Check the server's change history at that hour (Set-ActiveSyncVirtualDirectory, IIS
--   configuration, certificate or CU installs); verify clientCertificateMappingAuthentication is
--   still enabled on the ActiveSync virtual directory.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 401 AND NOT followed_by_success AND
--   coalesce(sc_win32_status, 0) NOT IN (2148074254, 2148074252, 2148074248, 2148074274)
-- timeline_by: server
WITH
-- The refused requests of those devices, by hour, device and status (so that the episodes
-- join hours, not requests).
refused_by_hour AS (
  SELECT coalesce(e.server, '') AS server, date_bin(INTERVAL '1 hour', e.timestamp) AS hour, e.device_key,
         e.status_full, count(*) AS hits, min(e.timestamp) AS first_seen, max(e.timestamp) AS last_seen,
         first_value(concat(e.log_filename, ':', CAST(e.log_row AS VARCHAR)) ORDER BY e.timestamp, e.log_filename, e.log_row) AS example,
         first_value(e.request_line ORDER BY e.timestamp, e.log_filename, e.log_row) AS example_line
  -- The small side first: the join's hash table holds devices, not requests.
  FROM served_since f JOIN regression_eas e
    ON e.device_key = f.device_key AND coalesce(e.server, '') = f.server
  WHERE e.timestamp > f.since AND e.sc_status = 401 AND NOT e.followed_by_success
    AND coalesce(e.sc_win32_status, 0) NOT IN (2148074254, 2148074252, 2148074248, 2148074274)
  GROUP BY coalesce(e.server, ''), date_bin(INTERVAL '1 hour', e.timestamp), e.device_key, e.status_full
)
SELECT nullif(r.server, '') AS server, r.starts AS hour, count(DISTINCT h.hour) AS hours,
       count(DISTINCT h.device_key) AS devices, sum(h.hits) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT h.status_full)), ',') AS statuses,
       min(h.first_seen) AS first_seen, max(h.last_seen) AS last_seen,
       first_value(h.example ORDER BY h.first_seen, h.example) AS example,
       first_value(h.example_line ORDER BY h.first_seen, h.example) AS example_line
FROM regression_hours r JOIN refused_by_hour h ON h.server = r.server AND h.hour = r.hour
GROUP BY r.server, r.starts
ORDER BY 1, 2
