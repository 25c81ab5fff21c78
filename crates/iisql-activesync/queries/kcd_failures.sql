-- name: kcd_failures
-- title: MDM gateway failing Kerberos constrained delegation
-- kind: check
-- severity: high
-- order: 130
-- finds: Gateways (one client IP carrying many devices) whose ActiveSync requests end in 401 with a Kerberos/Negotiate failure that no success of the same device follows within a minute (the normal Negotiate legs are left out): the MDM terminates the certificate but cannot reach Exchange with Kerberos constrained delegation.
-- param: gateway_devices int 5 Devices with Kerberos refusals behind one address that make it an MDM gateway
-- param: min_hits int 1 Fewest requests from one gateway that make a finding
-- means: SEC_E_NO_CREDENTIALS: the gateway is not delegating (KCD or protocol transition not configured); SEC_E_WRONG_PRINCIPAL: SPN or alternate service account mismatch; SEC_E_LOGON_DENIED or SEC_E_INVALID_TOKEN: the ticket or token is refused.
-- why: {win32} from a gateway's address that no success follows: Kerberos constrained delegation
--   fails at the gateway, not certificate mapping on Exchange.
-- next: On the gateway account, check constrained delegation to the Exchange HTTP SPNs with any protocol (protocol transition); check the SPNs and the Exchange alternate service account; the ActiveSync virtual directory must allow Windows Integrated (Negotiate and NTLM) only.
-- timeline: tier = 'frontend' AND NOT is_probe AND sc_status = 401 AND sc_win32_status IN (2148074254,
--   2148074252, 2148074248, 2148074274) AND NOT followed_by_success
-- timeline_by: client_ip
WITH eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
kcd_gateways AS (
  -- An MDM gateway whose Kerberos delegation fails: many devices behind one address get
  -- Negotiate/Kerberos refusals that no success follows (kcd_failures reports it).
  SELECT client_ip FROM eas
  WHERE client_ip IS NOT NULL AND sc_status = 401
    AND sc_win32_status IN (2148074254, 2148074252, 2148074248, 2148074274) AND NOT followed_by_success
  GROUP BY client_ip HAVING count(DISTINCT device_key) >= $gateway_devices
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
WHERE client_ip IN (SELECT client_ip FROM kcd_gateways) AND sc_status = 401
  AND sc_win32_status IN (2148074254, 2148074252, 2148074248, 2148074274) AND NOT followed_by_success
GROUP BY client_ip
HAVING count(*) >= $min_hits
ORDER BY client_ip
