-- name: cba_regression_timeline
-- title: ActiveSync success collapsing from one hour to the next (mapping silently undone)
-- kind: check
-- severity: critical
-- order: 110
-- finds: Front-end servers where the share of successful ActiveSync requests drops by more than
--   half from one hour to the next: the signature of a configuration change, such as
--   Set-ActiveSyncVirtualDirectory silently turning client certificate mapping off.
-- param: min_requests int 20 Fewest requests in each of the two hours compared
-- param: drop float 0.5 Fraction of the previous hour's success share that must be lost
-- means: Something changed on that server at that hour; every device it serves fails since.
-- next: Check the server's change history at that hour (Set-ActiveSyncVirtualDirectory, IIS
--   configuration, certificate or CU installs); verify clientCertificateMappingAuthentication is
--   still enabled on the ActiveSync virtual directory.
-- timeline: tier = 'frontend' AND NOT is_probe AND NOT (sc_status BETWEEN 200 AND 299)
-- timeline_by: server
WITH hourly AS (
  SELECT server, date_trunc('hour', timestamp) AS hour, count(*) AS total,
         sum(CASE WHEN sc_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok,
         min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp) AS example,
       first_value(request_line ORDER BY timestamp) AS example_line
  FROM activesync WHERE tier = 'frontend' AND NOT is_probe
  GROUP BY server, date_trunc('hour', timestamp)
),
shares AS (
  SELECT *, CAST(ok AS DOUBLE) / total AS share,
         lag(CAST(ok AS DOUBLE) / total) OVER (PARTITION BY server ORDER BY hour) AS previous_share,
         lag(total) OVER (PARTITION BY server ORDER BY hour) AS previous_total,
         lag(hour) OVER (PARTITION BY server ORDER BY hour) AS previous_hour
  FROM hourly
)
SELECT server, hour, total AS hits, round(previous_share, 3) AS previous_share,
       round(share, 3) AS share, first_seen, last_seen, example, example_line
FROM shares
WHERE total >= $min_requests AND previous_total >= $min_requests
  AND previous_hour = hour - INTERVAL '1' HOUR
  AND share < previous_share * (1 - $drop)
ORDER BY server, hour
