-- name: report_servers
-- title: ActiveSync servers (Export-ActiveSyncLog Servers.csv, fixed)
-- kind: report
-- finds: Per server and IP: hits, bytes, and the average number of distinct devices per day
--   (a real average, not integer division).
WITH daily AS (
  SELECT server, s_ip, tier, CAST(timestamp AS DATE) AS day, count(*) AS hits,
         count(DISTINCT device_id) AS devices, sum(sc_bytes) AS bytes_sent,
         sum(cs_bytes) AS bytes_received
  FROM activesync WHERE NOT is_probe
  GROUP BY server, s_ip, tier, CAST(timestamp AS DATE)
)
SELECT server, s_ip, tier, sum(hits) AS hits, round(avg(CAST(devices AS DOUBLE)), 2) AS average_daily_devices,
       sum(bytes_sent) AS bytes_sent, sum(bytes_received) AS bytes_received, count(*) AS days
FROM daily GROUP BY server, s_ip, tier ORDER BY server, s_ip, tier
