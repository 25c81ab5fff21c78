-- name: legacy_proxy_auth_failures
-- title: Legacy CAS refusing proxied ActiveSync (coexistence)
-- kind: check
-- severity: high
-- order: 90
-- finds: Requests to /Microsoft-Server-ActiveSync/Proxy... on a legacy (2007/2010) CAS (not the
--   port 444 back end) refused with 403.7 or an anonymous 401 that no success follows: the newer
--   servers that proxy to it cannot authenticate.
-- param: min_hits int 1 Fewest requests that make a finding
-- means: In coexistence, client certificates are not proxied: certificate authentication must be
--   disabled on the legacy CAS, its ActiveSync virtual directory back on Basic and its Proxy
--   subfolder on Windows Integrated authentication.
-- why: 403.7 or anonymous 401 on the legacy server's /Proxy from the new front ends: the legacy
--   server's proxy authentication, not the devices.
-- next: On the legacy CAS, disable client certificate authentication on Microsoft-Server-
--   ActiveSync and enable Windows Integrated authentication on its Proxy subfolder.
-- timeline: lower(cs_uri_stem) LIKE '/microsoft-server-activesync/proxy%' AND (s_port IS NULL OR s_port
--   <> 444) AND ((sc_status = 403 AND sc_substatus = 7) OR (sc_status = 401 AND cs_username IS
--   NULL AND NOT followed_by_success))
-- timeline_by: server
SELECT server, client_ip, status_full, count(*) AS hits,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM activesync
WHERE lower(cs_uri_stem) LIKE '/microsoft-server-activesync/proxy%'
  AND (s_port IS NULL OR s_port <> 444)
  AND ((sc_status = 403 AND sc_substatus = 7)
       OR (sc_status = 401 AND cs_username IS NULL AND NOT followed_by_success))
GROUP BY server, client_ip, status_full
HAVING count(*) >= $min_hits
ORDER BY server, client_ip, status_full
