-- name: report_policy_compliance
-- title: ActiveSync policy compliance (Export-ActiveSyncLog PolicyCompliance.csv, fixed)
-- kind: report
-- finds: Devices per policy compliance state, from each device's latest Pa value in Log=, and
--   their share.
WITH latest AS (
  SELECT user, device_id, last_value(eas_log(cs_uri_query, 'Pa')
           ORDER BY eas_log(cs_uri_query, 'Pa') IS NOT NULL, timestamp) AS pa
  FROM activesync WHERE NOT is_probe AND device_id IS NOT NULL
  GROUP BY user, device_id
)
SELECT CASE pa WHEN '1' THEN 'Compliant' WHEN '2' THEN 'Partially compliant'
               WHEN '3' THEN 'Not compliant' ELSE 'Unknown' END AS compliance,
       count(*) AS devices,
       round(CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (), 4) AS ratio
FROM latest GROUP BY 1 ORDER BY devices DESC, compliance
