-- name: eas_large_upload_failures
-- title: Large ActiveSync sends refused (413, 404.13, a 500 of a large message)
-- kind: check
-- severity: medium
-- order: 150
-- finds: SendMail, SmartReply and SmartForward requests refused with 413 (request entity too
--   large) or 404.13 (content length too large), and those answered 500 whose message was large
--   (the request's cs-bytes or the Sz of its Log= at least large_bytes), by device, with the
--   largest request size. A 500 of a small message is a server error, not a size limit.
-- param: min_hits int 1 Fewest refused sends from one device that make a finding
-- param: large_bytes int 10485760 Size from which a send answered 500 counts as refused for its size
-- means: 413 with client certificates is the TLS renegotiation limit (uploadReadAheadSize, step 7
--   of the CBA guide); 404.13 is requestFiltering maxAllowedContentLength; a 500 of a large
--   message is often an Exchange size limit.
-- why: {statuses} on {commands}: the size of the request decided, not its authentication.
-- next: Raise uploadReadAheadSize on the ActiveSync (and OWA) virtual directories
--   (appcmd set config ... -section:serverRuntime /uploadReadAheadSize:...); for 404.13 raise
--   maxAllowedContentLength; check the organisation's message size limits.
-- timeline: NOT is_probe AND command IN ('SendMail', 'SmartReply', 'SmartForward') AND (sc_status = 413
--   OR (sc_status = 404 AND sc_substatus = 13) OR (sc_status = 500 AND (cs_bytes >= 10485760 OR
--   TRY_CAST(eas_log(cs_uri_query, 'Sz') AS BIGINT) >= 10485760))) AND (tier = 'frontend' OR NOT
--   EXISTS (SELECT 1 FROM activesync WHERE tier = 'frontend'))
WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend'),
sends AS (
  SELECT a.*, greatest(coalesce(a.cs_bytes, 0),
                       coalesce(TRY_CAST(eas_log(a.cs_uri_query, 'Sz') AS BIGINT), 0)) AS size
  FROM activesync a CROSS JOIN fe
  WHERE NOT a.is_probe AND a.command IN ('SendMail', 'SmartReply', 'SmartForward')
    AND a.sc_status IN (413, 404, 500)
    -- Each request once: a 500 of the back end is logged by the front end too.
    AND (a.tier = 'frontend' OR NOT fe.logged)
)
SELECT max(device_id) AS device_id, max(device_type) AS device_type, max(user) AS user,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server, count(*) AS hits, max(size) AS largest_bytes,
       array_to_string(array_sort(array_agg(DISTINCT status_full)), ',') AS statuses,
       array_to_string(array_sort(array_agg(DISTINCT command)), ',') AS commands,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM sends
WHERE sc_status = 413 OR (sc_status = 404 AND sc_substatus = 13)
   OR (sc_status = 500 AND size >= $large_bytes)
GROUP BY device_key
HAVING count(*) >= $min_hits
ORDER BY hits DESC, device_id, example
