-- name: report_users
-- title: ActiveSync users and devices (Export-ActiveSyncLog Users.csv, fixed)
-- kind: report
-- finds: Per user and device: hits on the front end and the back end, bytes, mails sent, syncs,
--   pings, searches, items sent and received (Srv:/Cli: over every folder), attachments and
--   their bytes, out-of-office set and read, policy compliance from the latest Pa value, first
--   and last seen. Unlike
--   Export-ActiveSyncLog it reads Exchange 2013+ back-end lines (where Log= lives) and keeps
--   front-end and back-end hits apart instead of dropping one.
-- param: user text NULL Only this user (any form: CONTOSO\jdoe, jdoe@contoso.com, jdoe)
WITH fe AS (SELECT count(*) > 0 AS logged FROM activesync WHERE tier = 'frontend'),
requests AS (
  -- Each request is counted once, on the front end's line where front ends log; the items of
  -- Log= are read wherever they are written (the back end's line on Exchange 2013+).
  SELECT a.*, (a.tier = 'frontend' OR NOT fe.logged) AS counted
  FROM activesync a CROSS JOIN fe
  WHERE NOT is_probe AND device_id IS NOT NULL
    AND ($user IS NULL OR user = normalize_user($user))
)
SELECT user, device_id, max(device_type) AS device_type,
       sum(CASE WHEN tier = 'frontend' THEN 1 ELSE 0 END) AS frontend_hits,
       sum(CASE WHEN tier = 'backend' THEN 1 ELSE 0 END) AS backend_hits,
       sum(CASE WHEN counted THEN sc_bytes END) AS bytes_sent,
       sum(CASE WHEN counted THEN cs_bytes END) AS bytes_received,
       sum(CASE WHEN counted AND command IN ('SendMail', 'SmartReply', 'SmartForward') THEN 1 ELSE 0 END) AS mails_sent,
       sum(CASE WHEN counted AND command = 'Sync' THEN 1 ELSE 0 END) AS syncs,
       sum(CASE WHEN counted AND command = 'Ping' THEN 1 ELSE 0 END) AS pings,
       sum(CASE WHEN counted AND command = 'Search' THEN 1 ELSE 0 END) AS searches,
       -- Items the server sent the device (adds, changes, associated adds: Export-ActiveSyncLog's
       -- Items Sent) and the device sent the server (adds, changes), over every folder.
       sum(coalesce(eas_log_sum(cs_uri_query, 'Srv', 'a'), 0) + coalesce(eas_log_sum(cs_uri_query, 'Srv', 'c'), 0)
           + coalesce(eas_log_sum(cs_uri_query, 'Srv', 'A'), 0)) AS items_sent,
       sum(coalesce(eas_log_sum(cs_uri_query, 'Cli', 'a'), 0) + coalesce(eas_log_sum(cs_uri_query, 'Cli', 'c'), 0)) AS items_received,
       sum(coalesce(eas_log_sum(cs_uri_query, 'Att'), 0)) AS attachments,
       sum(coalesce(eas_log_sum(cs_uri_query, 'Attb'), 0)) AS attachment_bytes,
       sum(CASE WHEN eas_log(cs_uri_query, 'Oof') = 'Set' THEN 1 ELSE 0 END) AS oof_set,
       sum(CASE WHEN eas_log(cs_uri_query, 'Oof') = 'Get' THEN 1 ELSE 0 END) AS oof_get,
       CASE last_value(eas_log(cs_uri_query, 'Pa')
           ORDER BY eas_log(cs_uri_query, 'Pa') IS NOT NULL, timestamp)
         WHEN '1' THEN 'Compliant' WHEN '2' THEN 'Partially compliant'
         WHEN '3' THEN 'Not compliant' ELSE 'Unknown' END AS policy,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen
FROM requests
GROUP BY user, device_id
ORDER BY user, device_id
