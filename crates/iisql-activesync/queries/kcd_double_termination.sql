-- name: kcd_double_termination
-- title: Certificates terminated twice (MDM gateway and Exchange)
-- kind: check
-- severity: high
-- order: 140
-- finds: 403.7 answered to MDM gateways (one client IP carrying many devices, none of them ever served): the gateway already terminated the device certificate and Exchange still requires one. A load balancer or a carrier's NAT, whose other devices succeed, is not taken for one.
-- param: gateway_devices int 5 Devices with 403.7, and no success, behind one address that make it a certificate-terminating gateway
-- param: min_hits int 1 Fewest requests from one gateway that make a finding
-- means: Certificate authentication must be terminated in one place only: either Exchange (IIS certificate mapping) or the MDM gateway with Kerberos delegation. Both are configured.
-- why: 403.7 to a gateway's address ({win32}): the gateway terminated the certificate and Exchange
--   asks it for another; devices behind it cannot send one.
-- next: If the gateway terminates certificates, set Client certificates to Ignore on the ActiveSync virtual directory and allow Windows Integrated authentication; otherwise make the gateway pass the client certificate through.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 403 AND sc_substatus = 7
-- timeline_by: client_ip
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
gateways AS (
  -- A gateway that terminates the certificates itself cannot present them to Exchange: all its
  -- devices get 403.7 and none succeeds (kcd_double_termination). A load balancer or a
  -- carrier's NAT carries many devices too, but some of them succeed.
  SELECT client_ip FROM eas WHERE client_ip IS NOT NULL
  GROUP BY client_ip
  HAVING count(DISTINCT CASE WHEN sc_status = 403 AND sc_substatus = 7 THEN device_key END) >= $gateway_devices
     AND sum(CASE WHEN sc_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) = 0
)
SELECT client_ip,
       array_to_string(array_sort(array_agg(DISTINCT user)), ',') AS user,
       array_to_string(array_sort(array_agg(DISTINCT device_id)), ',') AS device_id,
       count(DISTINCT user) AS users, count(*) AS hits,
       array_to_string(array_sort(array_agg(DISTINCT server)), ',') AS server,
       array_to_string(array_sort(array_agg(DISTINCT win32_text)), '; ') AS win32,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen,
       first_value(concat(log_filename, ':', CAST(log_row AS VARCHAR)) ORDER BY timestamp, log_filename, log_row) AS example,
       first_value(request_line ORDER BY timestamp, log_filename, log_row) AS example_line
FROM eas
WHERE client_ip IN (SELECT client_ip FROM gateways) AND sc_status = 403 AND sc_substatus = 7
GROUP BY client_ip
HAVING count(*) >= $min_hits
ORDER BY client_ip
