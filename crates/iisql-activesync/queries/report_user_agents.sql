-- name: report_user_agents
-- title: ActiveSync user agents (Export-ActiveSyncLog UserAgents.csv)
-- kind: report
-- finds: Hits and distinct devices per user agent, with the share of failures.
-- Each request once: the front end's line where front ends log (a back end logs it again).
WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend')
SELECT user_agent, count(*) AS hits, count(DISTINCT device_id) AS devices,
       round(avg(CASE WHEN sc_status >= 400 THEN 1.0 ELSE 0.0 END), 4) AS failure_ratio
FROM activesync CROSS JOIN fe
-- Each request once: the front end's line where front ends log (a back end logs it again).
WHERE NOT is_probe AND (tier = 'frontend' OR NOT fe.logged)
GROUP BY user_agent ORDER BY hits DESC, user_agent
