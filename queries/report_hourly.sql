-- name: report_hourly
-- title: ActiveSync load by hour (Export-ActiveSyncLog Hourly.csv, fixed)
-- kind: report
-- finds: Per calendar hour (not folded across weeks): requests, distinct devices, and
--   sync-related requests (Sync, GetItemEstimate), failures (4xx/5xx).
SELECT date_trunc('hour', timestamp) AS hour, count(*) AS hits,
       count(DISTINCT device_id) AS devices,
       sum(CASE WHEN command IN ('Sync', 'GetItemEstimate') THEN 1 ELSE 0 END) AS sync_requests,
       sum(CASE WHEN sc_status >= 400 THEN 1 ELSE 0 END) AS failures
FROM activesync WHERE NOT is_probe
GROUP BY 1 ORDER BY 1
