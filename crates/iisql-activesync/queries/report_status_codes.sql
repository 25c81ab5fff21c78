-- name: report_status_codes
-- title: ActiveSync status codes (Export-ActiveSyncLog StatusCodes.csv, fixed)
-- kind: report
-- finds: Hits per HTTP status, substatus and win32 status with what each means, and the share of
--   all ActiveSync requests (a real ratio: Export-ActiveSyncLog's integer division made it 0).
-- Each request once: the front end's line where front ends log (a back end logs it again).
WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend')
SELECT sc_status, sc_substatus, sc_win32_status, status_text, win32_text, count(*) AS hits,
       round(CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (), 4) AS ratio
FROM activesync CROSS JOIN fe
-- Each request once: the front end's line where front ends log (a back end logs it again).
WHERE (tier = 'frontend' OR NOT fe.logged)
GROUP BY sc_status, sc_substatus, sc_win32_status, status_text, win32_text
ORDER BY hits DESC, sc_status, sc_substatus, sc_win32_status
