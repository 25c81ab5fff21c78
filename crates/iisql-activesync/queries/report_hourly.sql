-- name: report_hourly
-- title: ActiveSync load by hour (Export-ActiveSyncLog Hourly.csv, fixed)
-- kind: report
-- finds: Per calendar hour (not folded across weeks): requests, distinct devices, and
--   sync-related requests (Sync, GetItemEstimate), failures (4xx/5xx).
-- Each request once: the front end's line where front ends log (a back end logs it again).
WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend')
SELECT date_trunc('hour', timestamp) AS hour, count(*) AS hits,
       count(DISTINCT device_id) AS devices,
       sum(CASE WHEN command IN ('Sync', 'GetItemEstimate') THEN 1 ELSE 0 END) AS sync_requests,
       sum(CASE WHEN sc_status >= 400 THEN 1 ELSE 0 END) AS failures
FROM activesync CROSS JOIN fe
-- Each request once: the front end's line where front ends log (a back end logs it again).
WHERE NOT is_probe AND (tier = 'frontend' OR NOT fe.logged)
GROUP BY 1 ORDER BY 1
