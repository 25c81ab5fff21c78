-- name: regression_hours
-- kind: fragment
-- title: The hours a mapping regression holds each front-end server
-- finds: Common table expressions of cba_regression_timeline, cba_mapping_failed and
--   cba_require_not_enforced: `served_since` (when each device first succeeded on each server),
--   `known_hours` (per server and hour, the requests of devices the server knew and how many a
--   mapping-off status refused) and `regression_hours` (server, hour, and the hour its episode
--   started), built with equality joins and windows only, which a cluster runs as quickly as a
--   single machine.
-- shared: served_since, regression_hours
-- param: min_requests int 20 Fewest requests of known devices in an hour for it to be judged
-- param: share float 0.5 Share of those requests refused with the mapping-off statuses that makes an hour regressed
regression_eas AS (SELECT * FROM activesync WHERE tier = 'frontend' AND NOT is_probe),
-- When each device first succeeded on each server: from then on it is a device that server
-- knows.
served_since AS (
  SELECT device_key, coalesce(server, '') AS server, min(timestamp) AS since
  FROM regression_eas WHERE sc_status BETWEEN 200 AND 299 GROUP BY device_key, coalesce(server, '')
),
-- Per hour and server, the requests of known devices, and how many got a mapping-off status:
-- a 401 no success follows, other than a gateway's Kerberos refusal.
known_hours AS (
  SELECT coalesce(e.server, '') AS server, date_bin(INTERVAL '1 hour', e.timestamp) AS hour, count(*) AS total,
         sum(CASE WHEN e.sc_status = 401 AND NOT e.followed_by_success
                   AND coalesce(e.sc_win32_status, 0) NOT IN (2148074254, 2148074252, 2148074248, 2148074274)
              THEN 1 ELSE 0 END) AS refused
  -- The small side first: the join's hash table holds devices, not requests.
  FROM served_since f JOIN regression_eas e
    ON e.device_key = f.device_key AND coalesce(e.server, '') = f.server
  WHERE e.timestamp > f.since
  GROUP BY coalesce(e.server, ''), date_bin(INTERVAL '1 hour', e.timestamp)
),
-- Every hour of every server, judged (regressed or not) when known devices sent enough
-- requests, with the last normal judged hour up to it: the hours that share it make one
-- stretch between two normal hours.
stretches AS (
  SELECT *, max(CASE WHEN NOT regressed THEN hour END) OVER (
              PARTITION BY server ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS after
  FROM (
    SELECT h.server, h.hour, coalesce(k.refused, 0) AS refused,
           CASE WHEN k.total >= $min_requests THEN CAST(k.refused AS DOUBLE) / k.total >= $share END AS regressed
    FROM (SELECT DISTINCT coalesce(server, '') AS server, date_bin(INTERVAL '1 hour', timestamp) AS hour
          FROM regression_eas) h
    LEFT JOIN known_hours k ON k.server = h.server AND k.hour = h.hour
  ) judged
),
-- A stretch with a regressed hour is an episode: it starts at its first hour with a refusal
-- and lasts until the next normal hour. One row per hour of an episode.
regression_hours AS (
  SELECT server, hour, starts FROM (
    SELECT server, hour,
           bool_or(regressed) OVER (PARTITION BY server, after) AS regressed_stretch,
           min(CASE WHEN refused > 0 AND hour > after THEN hour END) OVER (PARTITION BY server, after) AS starts
    FROM stretches WHERE after IS NOT NULL
  ) s
  WHERE regressed_stretch AND hour >= starts
)
