//! The `activesync` view: one row per ActiveSync request of an IIS table, with the request's
//! parameters, codes and their meaning decoded into columns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::datatypes::Schema;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

/// The SQL of each field the view reads of a request's query string.
struct EasFields {
    user: String,
    device_id: String,
    device_type: String,
    cmd: String,
    protocol_version: String,
    eas_status: String,
    error: String,
    access_state: String,
    proxy_from: String,
    proxy_to: String,
}

impl EasFields {
    /// Each field by its own call of `eas_param` or `eas_log` on `cs_uri_query`.
    fn one_at_a_time() -> Self {
        let param = |n: &str| format!("eas_param(cs_uri_query, '{n}')");
        let log = |k: &str| format!("eas_log(cs_uri_query, '{k}')");
        Self {
            user: param("User"),
            device_id: param("DeviceId"),
            device_type: param("DeviceType"),
            cmd: param("Cmd"),
            protocol_version: param("ProtocolVersion"),
            eas_status: format!("coalesce({}, {})", log("SC1"), log("S")),
            error: log("Error"),
            access_state: log("As"),
            proxy_from: log("PrxFrom"),
            proxy_to: log("PrxTo"),
        }
    }

    /// Each field of the struct `column` (an `eas_request(cs_uri_query)`), parsed once.
    fn of_struct(column: &str) -> Self {
        let f = |n: &str| format!("get_field({column}, '{n}')");
        Self {
            user: f("user"),
            device_id: f("device_id"),
            device_type: f("device_type"),
            cmd: f("cmd"),
            protocol_version: f("protocol_version"),
            eas_status: f("eas_status"),
            error: f("error"),
            access_state: f("access_state"),
            proxy_from: f("proxy_from"),
            proxy_to: f("proxy_to"),
        }
    }
}

/// The columns of the view, in order: each name with its SQL over the IIS table and whether it
/// is *derived* (text made from other columns of the view, cheap to compute again, so a facts
/// table does not store it). `{ua}` in a derived column stands for the user agent column
/// (`cs_user_agent` in the IIS table, `user_agent` in a facts table).
fn columns(client_ip: &str, eas: &EasFields) -> Vec<(&'static str, String, bool)> {
    let EasFields {
        user,
        device_id,
        device_type,
        cmd,
        protocol_version,
        eas_status,
        error,
        access_state,
        proxy_from,
        proxy_to,
    } = eas;
    let col = |name: &'static str, sql: String| (name, sql, false);
    let derived = |name: &'static str, sql: &str| (name, sql.to_string(), true);
    vec![
        col("timestamp", "timestamp".into()),
        col("server", "coalesce(s_computername, s_ip)".into()),
        col("s_ip", "s_ip".into()),
        col("s_port", "s_port".into()),
        col("s_sitename", "s_sitename".into()),
        col("client_ip", client_ip.into()),
        col("c_ip", "c_ip".into()),
        col("cs_username", "cs_username".into()),
        col("eas_user", user.clone()),
        col(
            "user",
            format!("normalize_user(coalesce(cs_username, {user}))"),
        ),
        col("device_id", device_id.clone()),
        col(
            "device_key",
            format!(
                "coalesce({device_id}, concat({client_ip}, ' ', coalesce(cs_user_agent, '')))"
            ),
        ),
        col("device_type", device_type.clone()),
        col(
            "command",
            format!("coalesce({cmd}, CASE WHEN cs_method = 'OPTIONS' THEN 'Options' END)"),
        ),
        col("cs_method", "cs_method".into()),
        col("sc_status", "sc_status".into()),
        col("sc_substatus", "sc_substatus".into()),
        col("sc_win32_status", "sc_win32_status".into()),
        derived(
            "status_full",
            "CASE WHEN sc_substatus IS NULL THEN CAST(sc_status AS VARCHAR)
       ELSE concat(CAST(sc_status AS VARCHAR), '.', CAST(sc_substatus AS VARCHAR)) END",
        ),
        derived("status_text", "iis_status_text(sc_status, sc_substatus)"),
        derived("win32_text", "win32_error_text(sc_win32_status)"),
        col("protocol_version", protocol_version.clone()),
        col(
            "eas_status",
            eas_status.clone(),
        ),
        col("eas_error", error.clone()),
        col("access_state", access_state.clone()),
        col("proxy_from", proxy_from.clone()),
        col("proxy_to", proxy_to.clone()),
        col(
            "tier",
            "CASE WHEN lower(cs_uri_stem) LIKE '/microsoft-server-activesync/proxy%' OR s_port = 444
       THEN 'backend' ELSE 'frontend' END"
                .into(),
        ),
        // Exchange's own probes: the user agent starts with AMProbe (only its first seven
        // characters are lowered: no other text lowers to those), or either user name is a
        // health mailbox's (`is_probe_user`).
        col(
            "is_probe",
            format!(
                "coalesce(starts_with(lower(substr(cs_user_agent, 1, 7)), 'amprobe')
           OR is_probe_user(cs_username) OR is_probe_user({user}), false)"
            ),
        ),
        col("user_agent", "cs_user_agent".into()),
        col("time_taken", "time_taken".into()),
        col("sc_bytes", "sc_bytes".into()),
        col("cs_bytes", "cs_bytes".into()),
        col("cs_uri_stem", "cs_uri_stem".into()),
        col("cs_uri_query", "cs_uri_query".into()),
        col("log_filename", "log_filename".into()),
        col("log_row", "log_row".into()),
        derived(
            "request_line",
            "concat_ws(' ', to_char(timestamp, '%Y-%m-%d %H:%M:%S'), coalesce(s_ip, '-'),
            concat(coalesce(CAST(sc_status AS VARCHAR), '-'), '.',
                   coalesce(CAST(sc_substatus AS VARCHAR), '-')),
            coalesce(CAST(sc_win32_status AS VARCHAR), '-'),
            coalesce(cs_method, '-'), coalesce(cs_uri_stem, '-'),
            coalesce(CAST(s_port AS VARCHAR), '-'), coalesce(cs_username, '-'),
            coalesce(c_ip, '-'), coalesce({ua}, '-'),
            coalesce(cs_uri_query, '-'))",
        ),
    ]
}

/// Whether a success of the same device on the same server follows each request within a
/// minute: what tells the normal 401 challenge (answered on the same connection) from a
/// refusal.
pub const FOLLOWED_BY_SUCCESS: &str =
    "coalesce(max(CASE WHEN sc_status BETWEEN 200 AND 299 THEN timestamp END) OVER (
             PARTITION BY device_key, server ORDER BY timestamp
             RANGE BETWEEN CURRENT ROW AND INTERVAL '60' SECOND FOLLOWING) IS NOT NULL,
           false)";

/// The ActiveSync requests of `source`, with the columns that `keep` accepts. `parse_once`:
/// the query string is parsed once per request (`eas_request`), not once per field.
fn requests_sql(
    source: &str,
    schema: &Schema,
    parse_once: bool,
    keep: impl Fn(bool) -> bool,
) -> String {
    let has = |c: &str| schema.field_with_name(c).is_ok();
    let client_ip = if has("x_forwarded_for") {
        "coalesce(nullif(trim(split_part(x_forwarded_for, ',', 1)), ''), c_ip)"
    } else {
        "c_ip"
    };
    let (eas, from) = if parse_once {
        (
            EasFields::of_struct("eas_request_fields"),
            format!(
                "(SELECT *, eas_request(cs_uri_query) AS eas_request_fields FROM {source}
      WHERE lower(cs_uri_stem) LIKE '/microsoft-server-activesync%')"
            ),
        )
    } else {
        (
            EasFields::one_at_a_time(),
            format!("{source}\nWHERE lower(cs_uri_stem) LIKE '/microsoft-server-activesync%'"),
        )
    };
    let select = columns(client_ip, &eas)
        .into_iter()
        .filter(|(_, _, derived)| keep(*derived))
        .map(|(name, sql, _)| format!("  {} AS {name}", sql.replace("{ua}", "cs_user_agent")))
        .collect::<Vec<_>>()
        .join(",\n");
    format!("SELECT\n{select}\nFROM {from}")
}

/// The SQL of the view over `source` (whose schema decides whether `x_forwarded_for` is used).
pub fn activesync_view_sql(source: &str, schema: &Schema) -> String {
    // DataFusion leaves the window out of queries that do not read `followed_by_success`.
    format!(
        "SELECT *,
  {FOLLOWED_BY_SUCCESS} AS followed_by_success
FROM ({})",
        requests_sql(source, schema, false, |_| true)
    )
}

/// The SQL of the per-request facts of the view over `source`: every column of
/// [`activesync_view_sql`] but the derived text ones, which [`facts_view_sql`] computes again,
/// and `followed_by_success`, which a window over the facts computes
/// ([`crate::facts`]).
pub fn facts_sql(source: &str, schema: &Schema) -> String {
    requests_sql(source, schema, true, |derived| !derived)
}

/// The SQL of the `activesync` view over `facts` (a table of [`facts_sql`]'s rows with a
/// `fact_id` column): the columns of [`activesync_view_sql`], in its order.
/// `followed_by_success` is `answered` (an expression over `fact_id` that says whether a
/// request other than a success is followed by one) for the requests that are not
/// successes; a success with a time follows itself.
pub fn facts_view_sql(facts: &str, answered: &str) -> String {
    let select = columns("client_ip", &EasFields::one_at_a_time())
        .into_iter()
        .map(|(name, sql, derived)| {
            if derived {
                format!("  {} AS {name}", sql.replace("{ua}", "user_agent"))
            } else {
                format!("  {name}")
            }
        })
        .chain(std::iter::once(format!(
            "  CASE WHEN sc_status BETWEEN 200 AND 299 THEN timestamp IS NOT NULL
       ELSE {answered} END AS followed_by_success"
        )))
        .collect::<Vec<_>>()
        .join(",\n");
    format!("SELECT\n{select}\nFROM {facts}")
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
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    ctx.state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(ViewSource {
            view: view.to_string(),
            table: source.to_string(),
            generation,
        }));
    Ok(())
}

/// The IIS table the session's `activesync` view reads, as [`register_activesync_view`]
/// recorded it in the session's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSource {
    /// The view's name (`activesync`).
    pub view: String,
    /// The table's name.
    pub table: String,
    /// Which registration this is: every call of [`register_activesync_view`] takes a new
    /// one, so what was computed from an earlier registration can tell it is stale.
    pub generation: u64,
}

/// The IIS table [`register_activesync_view`] last built the views over, if it was called on
/// this session.
pub fn view_source(ctx: &SessionContext) -> Option<ViewSource> {
    ctx.state_ref()
        .read()
        .config()
        .get_extension::<ViewSource>()
        .map(|s| s.as_ref().clone())
}
