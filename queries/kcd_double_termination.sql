-- name: kcd_double_termination
-- title: Certificates terminated twice (MDM gateway and Exchange)
-- kind: check
-- severity: high
-- order: 140
-- finds: 403.7 answered to MDM gateways (one client IP carrying many devices): the gateway already terminated the device certificate and Exchange still requires one.
-- param: gateway_devices int 5 Distinct devices behind one client IP that make it a gateway
-- param: min_hits int 1 Fewest requests from one gateway that make a finding
-- means: Certificate authentication must be terminated in one place only: either Exchange (IIS certificate mapping) or the MDM gateway with Kerberos delegation. Both are configured.
-- next: If the gateway terminates certificates, set Client certificates to Ignore on the ActiveSync virtual directory and allow Windows Integrated authentication; otherwise make the gateway pass the client certificate through.
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
gateways AS (
  SELECT client_ip FROM eas WHERE client_ip IS NOT NULL
  GROUP BY client_ip HAVING count(DISTINCT device_id) >= $gateway_devices
),
served AS (SELECT DISTINCT client_ip, user FROM eas WHERE sc_status BETWEEN 200 AND 299)
SELECT e.client_ip,
       array_to_string(array_sort(array_agg(DISTINCT e.user)), ',') AS user,
       array_to_string(array_sort(array_agg(DISTINCT e.device_id)), ',') AS device_id,
       count(DISTINCT e.user) AS users, count(*) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT e.server)), ',') AS server,
       array_to_string(array_sort(array_agg(DISTINCT e.win32_text)), '; ') AS win32,
       min(e.timestamp) AS first_seen, max(e.timestamp) AS last_seen,
       first_value(concat(e.log_filename, ':', CAST(e.log_row AS VARCHAR)) ORDER BY e.timestamp) AS example
FROM eas e
WHERE e.client_ip IN (SELECT client_ip FROM gateways) AND e.sc_status = 403 AND e.sc_substatus = 7
  AND NOT EXISTS (SELECT 1 FROM served s WHERE s.client_ip = e.client_ip AND s.user = e.user)
GROUP BY e.client_ip
HAVING count(*) >= $min_hits
ORDER BY e.client_ip
