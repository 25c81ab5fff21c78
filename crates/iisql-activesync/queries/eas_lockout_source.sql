-- name: eas_lockout_source
-- title: The device that locks an account
-- kind: check
-- severity: high
-- order: 160
-- finds: For every user locked out over ActiveSync (401.1 with ERROR_ACCOUNT_LOCKED_OUT), the
--   devices that sent bad passwords (401.1 with ERROR_LOGON_FAILURE) before the first lockout.
-- param: min_hits int 1 Fewest bad passwords from one device that make a finding
-- means: A device with an old password (often a forgotten or replaced phone) keeps retrying on
--   every sync and locks the account, for all of the user's devices.
-- why: 401.1 1326 (bad password) from one device before the user's first 1909 (locked out): that device
--   locks the account; the other devices only suffer the lockout.
-- next: Find the device by its DeviceId and user agent (Get-MobileDevice); update or remove its
--   account, or block it (Set-CASMailbox -ActiveSyncBlockedDeviceIDs); disable password
--   authentication where certificates are meant to be used.
-- timeline: NOT is_probe AND sc_status = 401 AND sc_substatus = 1 AND sc_win32_status IN (1326, 1909)
-- timeline_by: user
WITH f AS (
  SELECT * FROM activesync
  WHERE NOT is_probe AND sc_status = 401 AND sc_substatus = 1 AND user IS NOT NULL
),
locked AS (SELECT user, min(timestamp) AS locked_at FROM f WHERE sc_win32_status = 1909 GROUP BY user)
SELECT f.user, max(f.device_id) AS device_id, max(f.device_type) AS device_type,
       max(f.user_agent) AS user_agent, max(f.client_ip) AS client_ip,
       array_to_string(array_sort(array_agg(DISTINCT f.server)), ',') AS server,
       count(*) AS hits, min(f.timestamp) AS first_seen, max(f.timestamp) AS last_seen,
       max(l.locked_at) AS locked_at,
       first_value(concat(f.log_filename, ':', CAST(f.log_row AS VARCHAR)) ORDER BY f.timestamp, f.log_filename, f.log_row) AS example,
       first_value(f.request_line ORDER BY f.timestamp, f.log_filename, f.log_row) AS example_line
FROM f JOIN locked l ON f.user = l.user
WHERE f.sc_win32_status = 1326 AND f.timestamp <= l.locked_at
GROUP BY f.user, f.device_key
HAVING count(*) >= $min_hits
ORDER BY f.user, hits DESC, example
