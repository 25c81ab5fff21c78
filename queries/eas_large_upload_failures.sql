-- name: eas_large_upload_failures
-- title: Large ActiveSync sends refused (413, 404.13, 500)
-- kind: check
-- severity: medium
-- order: 150
-- finds: SendMail, SmartReply and SmartForward requests refused with 413 (request entity too
--   large), 404.13 (content length too large) or 500, by device, with the largest request size.
-- param: min_hits int 1 Fewest refused sends from one device that make a finding
-- means: 413 with client certificates is the TLS renegotiation limit (uploadReadAheadSize, step 7
--   of the CBA guide); 404.13 is requestFiltering maxAllowedContentLength; 500 often an Exchange
--   size limit.
-- next: Raise uploadReadAheadSize on the ActiveSync (and OWA) virtual directories
--   (appcmd set config ... -section:serverRuntime /uploadReadAheadSize:...); for 404.13 raise
--   maxAllowedContentLength; check the organisation's message size limits.
-- timeline: NOT is_probe AND command IN ('SendMail', 'SmartReply', 'SmartForward') AND (sc_status = 413
--   OR (sc_status = 404 AND sc_substatus = 13) OR sc_status = 500) AND (tier = 'frontend' OR NOT
--   EXISTS (SELECT 1 FROM activesync WHERE tier = 'frontend'))
WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend')
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server, count(*) AS hits, max(cs_bytes) AS largest_bytes,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       array_to_string(array_sort(array_agg(DISTINCT command)), ',') AS commands,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM activesync CROSS JOIN fe
WHERE NOT is_probe AND command IN ('SendMail', 'SmartReply', 'SmartForward')
  AND (sc_status = 413 OR (sc_status = 404 AND sc_substatus = 13) OR sc_status = 500)
  -- Each request once: a 500 of the back end is logged by the front end too.
  AND (tier = 'frontend' OR NOT fe.logged)
GROUP BY device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
