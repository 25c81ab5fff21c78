-- name: cba_backend_requires_cert
-- title: Client certificates required on the back end (403.7 on port 444 / Proxy)
-- kind: check
-- severity: high
-- order: 80
-- finds: 403.7 logged by the Exchange Back End site (port 444, /Microsoft-Server-ActiveSync/Proxy/
--   default.eas), coming from the front ends that proxy device requests.
-- param: min_hits int 1 Fewest requests that make a finding
-- means: Certificate authentication is terminated on the front end; the back end must keep its
--   own authentication. Requiring certificates there refuses every proxied request.
-- why: 403.7 on the back end's port 444 or /Proxy from the front ends' addresses: the back end asks the
--   front end for a certificate it never has; devices themselves are not refused there.
-- next: On the Exchange Back End site, set the Microsoft-Server-ActiveSync virtual directory's
--   Client certificates setting to Ignore and restore its default authentication.
-- timeline: sc_status = 403 AND sc_substatus = 7 AND (s_port = 444 OR (s_port IS NULL AND
--   lower(cs_uri_stem) LIKE '/microsoft-server-activesync/proxy/default.eas%'))
-- timeline_by: server
SELECT server, client_ip, count(*) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT device_id)), ',') AS device_id,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM activesync
WHERE sc_status = 403 AND sc_substatus = 7
  AND (s_port = 444
       OR (s_port IS NULL AND lower(cs_uri_stem) LIKE '/microsoft-server-activesync/proxy/default.eas%'))
GROUP BY server, client_ip
HAVING count(*) >= $min_hits
ORDER BY server, client_ip
