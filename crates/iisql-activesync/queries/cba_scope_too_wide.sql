-- name: cba_scope_too_wide
-- title: Client certificates required outside ActiveSync and OWA (403.7 on EWS, MAPI, ...)
-- kind: check
-- severity: high
-- order: 70
-- finds: 403.7 on virtual directories other than Microsoft-Server-ActiveSync and owa, grouped by
--   the first path segment (ews, mapi, autodiscover, rpc, oab, ecp, powershell, ...).
-- param: min_hits int 1 Fewest requests on one virtual directory that make a finding
-- means: Client certificates are required at the Default Web Site or server level instead of only
--   on the ActiveSync (and OWA) virtual directories: Outlook desktop, Autodiscover and Managed
--   Availability probes break.
-- why: 403.7 on paths other than ActiveSync and OWA: certificates are required above the ActiveSync
--   virtual directory, for clients that never send one.
-- next: In IIS Manager, set SSL Settings of the Default Web Site and of the listed virtual
--   directories to Client certificates: Ignore; require them only on Microsoft-Server-ActiveSync
--   (and owa if intended).
-- timeline: sc_status = 403 AND sc_substatus = 7 AND lower(split_part(cs_uri_stem, '/', 2)) NOT IN
--   ('microsoft-server-activesync', 'owa')
-- timeline_from: iis_requests
SELECT lower(split_part(cs_uri_stem, '/', 2)) AS segment,
       count(*) AS hits, count(DISTINCT c_ip) AS clients,
       array_to_string(array_sort(array_agg(DISTINCT coalesce(s_computername, s_ip))), ',') AS server,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen, first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example
FROM iis_requests
WHERE sc_status = 403 AND sc_substatus = 7
  AND lower(split_part(cs_uri_stem, '/', 2)) NOT IN ('microsoft-server-activesync', 'owa')
GROUP BY 1
HAVING count(*) >= $min_hits
ORDER BY hits DESC, segment
