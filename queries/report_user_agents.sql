-- name: report_user_agents
-- title: ActiveSync user agents (Export-ActiveSyncLog UserAgents.csv)
-- kind: report
-- finds: Hits and distinct devices per user agent, with the share of failures.
SELECT user_agent, count(*) AS hits, count(DISTINCT device_id) AS devices,
       round(avg(CASE WHEN sc_status >= 400 THEN 1.0 ELSE 0.0 END), 4) AS failure_ratio
FROM activesync WHERE NOT is_probe
GROUP BY user_agent ORDER BY hits DESC, user_agent
