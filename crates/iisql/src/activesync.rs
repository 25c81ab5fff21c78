//! The `activesync` view: one row per ActiveSync request of an IIS table, with the request's
//! parameters, codes and their meaning decoded into columns.

use datafusion::arrow::datatypes::Schema;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

/// The SQL of the view over `source` (whose schema decides whether `x_forwarded_for` is used).
pub fn activesync_view_sql(source: &str, schema: &Schema) -> String {
    let has = |c: &str| schema.field_with_name(c).is_ok();
    let client_ip = if has("x_forwarded_for") {
        "coalesce(nullif(trim(split_part(x_forwarded_for, ',', 1)), ''), c_ip)"
    } else {
        "c_ip"
    };
    let q = "cs_uri_query";
    // The requests, then (outer query) whether a success of the same device on the same server
    // follows each within a minute: what tells the normal 401 challenge (answered on the same
    // connection) from a refusal. DataFusion leaves the window out of queries that do not read
    // `followed_by_success`.
    format!(
        "SELECT *,
  coalesce(max(CASE WHEN sc_status BETWEEN 200 AND 299 THEN timestamp END) OVER (
             PARTITION BY device_key, server ORDER BY timestamp
             RANGE BETWEEN CURRENT ROW AND INTERVAL '60' SECOND FOLLOWING) IS NOT NULL,
           false) AS followed_by_success
FROM (SELECT
  timestamp,
  coalesce(s_computername, s_ip) AS server,
  s_ip, s_port, s_sitename,
  {client_ip} AS client_ip,
  c_ip,
  cs_username,
  eas_param({q}, 'User') AS eas_user,
  normalize_user(coalesce(cs_username, eas_param({q}, 'User'))) AS user,
  eas_param({q}, 'DeviceId') AS device_id,
  coalesce(eas_param({q}, 'DeviceId'),
           concat({client_ip}, ' ', coalesce(cs_user_agent, ''))) AS device_key,
  eas_param({q}, 'DeviceType') AS device_type,
  coalesce(eas_param({q}, 'Cmd'), CASE WHEN cs_method = 'OPTIONS' THEN 'Options' END) AS command,
  cs_method,
  sc_status, sc_substatus, sc_win32_status,
  CASE WHEN sc_substatus IS NULL THEN CAST(sc_status AS VARCHAR)
       ELSE concat(CAST(sc_status AS VARCHAR), '.', CAST(sc_substatus AS VARCHAR)) END AS status_full,
  iis_status_text(sc_status, sc_substatus) AS status_text,
  win32_error_text(sc_win32_status) AS win32_text,
  eas_param({q}, 'ProtocolVersion') AS protocol_version,
  coalesce(eas_log({q}, 'SC1'), eas_log({q}, 'S')) AS eas_status,
  eas_log({q}, 'Error') AS eas_error,
  eas_log({q}, 'As') AS access_state,
  eas_log({q}, 'PrxFrom') AS proxy_from,
  eas_log({q}, 'PrxTo') AS proxy_to,
  CASE WHEN lower(cs_uri_stem) LIKE '/microsoft-server-activesync/proxy%' OR s_port = 444
       THEN 'backend' ELSE 'frontend' END AS tier,
  coalesce(starts_with(lower(cs_user_agent), 'amprobe')
           OR starts_with(normalize_user(cs_username), 'healthmailbox')
           OR starts_with(normalize_user(cs_username), 'extest_')
           OR starts_with(normalize_user(eas_param({q}, 'User')), 'healthmailbox')
           OR starts_with(normalize_user(eas_param({q}, 'User')), 'extest_'), false) AS is_probe,
  cs_user_agent AS user_agent,
  time_taken, sc_bytes, cs_bytes,
  cs_uri_stem, cs_uri_query, log_filename, log_row,
  concat_ws(' ', to_char(timestamp, '%Y-%m-%d %H:%M:%S'), coalesce(s_ip, '-'),
            concat(coalesce(CAST(sc_status AS VARCHAR), '-'), '.',
                   coalesce(CAST(sc_substatus AS VARCHAR), '-')),
            coalesce(CAST(sc_win32_status AS VARCHAR), '-'),
            coalesce(cs_method, '-'), coalesce(cs_uri_stem, '-'),
            coalesce(CAST(s_port AS VARCHAR), '-'), coalesce(cs_username, '-'),
            coalesce(c_ip, '-'), coalesce(cs_user_agent, '-'),
            coalesce(cs_uri_query, '-')) AS request_line
FROM {source}
WHERE lower(cs_uri_stem) LIKE '/microsoft-server-activesync%')"
    )
}

/// Name of the view over every request of the table the `activesync` view reads (saved
/// queries that look beyond ActiveSync, such as `cba_scope_too_wide`, read it).
pub const REQUESTS_VIEW: &str = "iis_requests";

/// Creates (or replaces) view `view` over the IIS table `source`, and the view
/// [`REQUESTS_VIEW`] over all of `source`.
pub async fn register_activesync_view(
    ctx: &SessionContext,
    view: &str,
    source: &str,
) -> Result<()> {
    let schema = ctx.table(source).await?.schema().as_arrow().clone();
    let sql = format!(
        "CREATE OR REPLACE VIEW {view} AS {}",
        activesync_view_sql(source, &schema)
    );
    ctx.sql(&sql).await?.collect().await?;
    ctx.sql(&format!(
        "CREATE OR REPLACE VIEW {REQUESTS_VIEW} AS SELECT * FROM {source}"
    ))
    .await?
    .collect()
    .await?;
    Ok(())
}
