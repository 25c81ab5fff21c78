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
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
hourly AS (
  SELECT server, date_trunc('hour', timestamp) AS hour, count(*) AS total,
         sum(CASE WHEN sc_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS ok,
         min(timestamp) AS first_seen, max(timestamp) AS last_seen
  FROM eas
  GROUP BY server, date_trunc('hour', timestamp)
),
shares AS (
  SELECT *, CAST(ok AS DOUBLE) / total AS share,
         lag(CAST(ok AS DOUBLE) / total) OVER (PARTITION BY server ORDER BY hour) AS previous_share,
         lag(total) OVER (PARTITION BY server ORDER BY hour) AS previous_total,
         lag(hour) OVER (PARTITION BY server ORDER BY hour) AS previous_hour
  FROM hourly
),
drops AS (
  SELECT * FROM shares
  WHERE total >= $min_requests AND previous_total >= $min_requests
    AND previous_hour = hour - INTERVAL '1' HOUR
    AND share < previous_share * (1 - $drop)
),
-- The first request of each hour found, by time and line: only those hours' requests are read
-- for it.
examples AS (
  SELECT e.server, date_trunc('hour', e.timestamp) AS hour,
         first_value(concat(e.log_filename, ':', CAST(e.log_row AS VARCHAR)) ORDER BY e.timestamp, e.log_filename, e.log_row) AS example,
         first_value(e.request_line ORDER BY e.timestamp, e.log_filename, e.log_row) AS example_line
  FROM eas e JOIN drops d
    ON coalesce(e.server, '') = coalesce(d.server, '') AND date_trunc('hour', e.timestamp) = d.hour
  GROUP BY e.server, date_trunc('hour', e.timestamp)
)
SELECT d.server, d.hour, d.total AS hits, round(d.previous_share, 3) AS previous_share,
       round(d.share, 3) AS share, d.first_seen, d.last_seen, x.example, x.example_line
FROM drops d
LEFT JOIN examples x ON coalesce(d.server, '') = coalesce(x.server, '') AND d.hour = x.hour
ORDER BY d.server, d.hour
