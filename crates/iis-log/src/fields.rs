//! The catalogue of standard IIS W3C extended fields and the rule that turns any W3C field name
//! into a snake_case column name.

/// The Arrow type a standard field is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Free text (`Utf8View`).
    Text,
    /// A 32-bit integer (ports, HTTP status and substatus).
    Int32,
    /// A 64-bit integer (win32 status, byte counts, time taken).
    Int64,
    /// A 64-bit float (sniffed decimal values of generic W3C logs).
    Float64,
    /// A UTC date and time, milliseconds (sniffed `yyyy-MM-dd hh:mm:ss` values).
    DateTime,
}

/// One standard field of IIS's W3C extended log format.
#[derive(Debug, Clone, Copy)]
pub struct StandardField {
    /// The name as IIS writes it in `#Fields` (`cs(User-Agent)`).
    pub w3c_name: &'static str,
    /// The snake_case column name (`cs_user_agent`).
    pub column: &'static str,
    /// The type the column is read as.
    pub value_type: ValueType,
    /// One line saying what the field holds.
    pub description: &'static str,
}

const fn field(
    w3c_name: &'static str,
    column: &'static str,
    value_type: ValueType,
    description: &'static str,
) -> StandardField {
    StandardField {
        w3c_name,
        column,
        value_type,
        description,
    }
}

// Fields IIS's W3C log and HTTP.sys's error log share.
const F_C_IP: StandardField = field("c-ip", "c_ip", ValueType::Text, "client IP address");
const F_S_IP: StandardField = field("s-ip", "s_ip", ValueType::Text, "server IP address");
const F_S_PORT: StandardField = field("s-port", "s_port", ValueType::Int32, "server port");
const F_CS_VERSION: StandardField = field(
    "cs-version",
    "cs_version",
    ValueType::Text,
    "HTTP protocol version",
);
const F_CS_METHOD: StandardField = field("cs-method", "cs_method", ValueType::Text, "HTTP method");
const F_SC_STATUS: StandardField = field(
    "sc-status",
    "sc_status",
    ValueType::Int32,
    "HTTP status code",
);
const F_S_COMPUTERNAME: StandardField = field(
    "s-computername",
    "s_computername",
    ValueType::Text,
    "server host name",
);
const F_CS_USER_AGENT: StandardField = field(
    "cs(User-Agent)",
    "cs_user_agent",
    ValueType::Text,
    "User-Agent request header",
);
const F_CS_COOKIE: StandardField = field(
    "cs(Cookie)",
    "cs_cookie",
    ValueType::Text,
    "Cookie request header",
);
const F_CS_REFERER: StandardField = field(
    "cs(Referer)",
    "cs_referer",
    ValueType::Text,
    "Referer request header",
);
const F_CS_HOST: StandardField =
    field("cs-host", "cs_host", ValueType::Text, "Host request header");
const F_SC_BYTES: StandardField = field(
    "sc-bytes",
    "sc_bytes",
    ValueType::Int64,
    "bytes sent by the server",
);
const F_CS_BYTES: StandardField = field(
    "cs-bytes",
    "cs_bytes",
    ValueType::Int64,
    "bytes received by the server",
);
const F_TIME_TAKEN: StandardField = field(
    "time-taken",
    "time_taken",
    ValueType::Int64,
    "time taken in milliseconds",
);

/// Every standard IIS W3C field other than `date` and `time` (which become `timestamp` and
/// `date`), in the order the table schema lists them.
pub const STANDARD_FIELDS: &[StandardField] = &[
    field(
        "s-sitename",
        "s_sitename",
        ValueType::Text,
        "site service name and instance (W3SVC1)",
    ),
    F_S_COMPUTERNAME,
    F_S_IP,
    F_CS_METHOD,
    field("cs-uri-stem", "cs_uri_stem", ValueType::Text, "URI path"),
    field(
        "cs-uri-query",
        "cs_uri_query",
        ValueType::Text,
        "URI query string",
    ),
    F_S_PORT,
    field(
        "cs-username",
        "cs_username",
        ValueType::Text,
        "authenticated user (NULL if anonymous)",
    ),
    F_C_IP,
    F_CS_VERSION,
    F_CS_USER_AGENT,
    F_CS_COOKIE,
    F_CS_REFERER,
    F_CS_HOST,
    F_SC_STATUS,
    field(
        "sc-substatus",
        "sc_substatus",
        ValueType::Int32,
        "IIS substatus code",
    ),
    field(
        "sc-win32-status",
        "sc_win32_status",
        ValueType::Int64,
        "Windows status code",
    ),
    F_SC_BYTES,
    F_CS_BYTES,
    F_TIME_TAKEN,
];

/// The fields of HTTP.sys's error log (`httperr*.log`) other than `date` and `time`, as
/// `#Fields` names them; fields a newer HTTP.sys adds (`transport`, fault codes) are text
/// columns like any custom field.
pub const HTTPERR_FIELDS: &[StandardField] = &[
    F_C_IP,
    field("c-port", "c_port", ValueType::Int32, "client port"),
    F_S_IP,
    F_S_PORT,
    F_CS_VERSION,
    F_CS_METHOD,
    field(
        "cs-uri",
        "cs_uri",
        ValueType::Text,
        "URI with its query string",
    ),
    field(
        "streamid",
        "streamid",
        ValueType::Int64,
        "HTTP/2 or HTTP/3 stream id",
    ),
    F_SC_STATUS,
    field("s-siteid", "s_siteid", ValueType::Int32, "IIS site id"),
    field(
        "s-reason",
        "s_reason",
        ValueType::Text,
        "why HTTP.sys ended the request (Timer_ConnectionIdle, BadRequest...)",
    ),
    field(
        "s-queuename",
        "s_queuename",
        ValueType::Text,
        "request queue (application pool)",
    ),
    F_S_COMPUTERNAME,
    F_CS_USER_AGENT,
    F_CS_COOKIE,
    F_CS_REFERER,
    F_CS_HOST,
    F_SC_BYTES,
    F_CS_BYTES,
    F_TIME_TAKEN,
];

/// HTTP.sys's first error-log layout (no `#Fields` line, or lines before one).
pub const HTTPERR_DEFAULT_FIELDS: &str = "date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason s-queuename";

/// The fields of IIS's native log format (comma-separated, local time), named as the layout
/// [`IIS_NATIVE_LAYOUT`] names them.
pub const IIS_NATIVE_FIELDS: &[StandardField] = &[
    field("user-ip", "user_ip", ValueType::Text, "client IP address"),
    field(
        "user-name",
        "user_name",
        ValueType::Text,
        "authenticated user (NULL if anonymous)",
    ),
    field(
        "service-instance",
        "service_instance",
        ValueType::Text,
        "site service and instance (W3SVC1)",
    ),
    field(
        "host-name",
        "host_name",
        ValueType::Text,
        "server host name",
    ),
    field(
        "server-ip",
        "server_ip",
        ValueType::Text,
        "server IP address",
    ),
    field(
        "time-taken",
        "time_taken",
        ValueType::Int64,
        "time taken in milliseconds",
    ),
    field(
        "bytes-received",
        "bytes_received",
        ValueType::Int64,
        "bytes received by the server",
    ),
    field(
        "bytes-sent",
        "bytes_sent",
        ValueType::Int64,
        "bytes sent by the server",
    ),
    field(
        "status-code",
        "status_code",
        ValueType::Int32,
        "HTTP status code",
    ),
    field(
        "win32-status-code",
        "win32_status_code",
        ValueType::Int64,
        "Windows status code",
    ),
    field(
        "request-type",
        "request_type",
        ValueType::Text,
        "HTTP method",
    ),
    field("target", "target", ValueType::Text, "URI path"),
    field(
        "parameters",
        "parameters",
        ValueType::Text,
        "URI query string",
    ),
];

/// The fixed layout of an IIS native line: 15 fields and the empty one after the final comma.
/// IIS writes bytes received before bytes sent (Log Parser's descriptions of the two read as
/// swapped; the order here is IIS's).
pub const IIS_NATIVE_LAYOUT: &str = "user-ip user-name local-date local-time service-instance \
     host-name server-ip time-taken bytes-received bytes-sent status-code win32-status-code \
     request-type target parameters x-end";

/// The fields of NCSA common, combined and extended logs.
pub const NCSA_FIELDS: &[StandardField] = &[
    field(
        "remote-host-name",
        "remote_host_name",
        ValueType::Text,
        "client host name or IP address",
    ),
    field(
        "remote-log-name",
        "remote_log_name",
        ValueType::Text,
        "RFC 1413 identity (always NULL for IIS)",
    ),
    field(
        "user-name",
        "user_name",
        ValueType::Text,
        "authenticated user (NULL if anonymous)",
    ),
    field(
        "request",
        "request",
        ValueType::Text,
        "the whole request line",
    ),
    field(
        "request-method",
        "request_method",
        ValueType::Text,
        "the request line's method",
    ),
    field(
        "request-uri",
        "request_uri",
        ValueType::Text,
        "the request line's URI",
    ),
    field(
        "request-version",
        "request_version",
        ValueType::Text,
        "the request line's protocol version",
    ),
    field(
        "status-code",
        "status_code",
        ValueType::Int32,
        "HTTP status code",
    ),
    field(
        "bytes-sent",
        "bytes_sent",
        ValueType::Int64,
        "bytes sent by the server",
    ),
    field(
        "referer",
        "referer",
        ValueType::Text,
        "Referer request header (combined and extended)",
    ),
    field(
        "user-agent",
        "user_agent",
        ValueType::Text,
        "User-Agent request header (combined and extended)",
    ),
    field(
        "cookie",
        "cookie",
        ValueType::Text,
        "Cookie request header (extended)",
    ),
];

/// The NCSA layouts, chosen by a line's field count: common (7), combined (9), extended (10).
pub const NCSA_LAYOUTS: [&str; 3] = [
    "remote-host-name remote-log-name user-name ncsa-datetime request status-code bytes-sent",
    "remote-host-name remote-log-name user-name ncsa-datetime request status-code bytes-sent \
     referer user-agent",
    "remote-host-name remote-log-name user-name ncsa-datetime request status-code bytes-sent \
     referer user-agent cookie",
];

/// IIS's default field list (IIS 8.5 and later), used for lines that come before any `#Fields`.
pub const DEFAULT_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
     cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

/// Turns a W3C field name into a snake_case column name: lower case, every run of characters
/// other than ASCII letters and digits becomes one `_`, no leading or trailing `_`.
///
/// `cs(User-Agent)` -> `cs_user_agent`, `X-Forwarded-For` -> `x_forwarded_for`,
/// `cs(Host)` -> `cs_host` (the same column as `cs-host`).
pub fn column_name(w3c_name: &str) -> String {
    let mut out = String::with_capacity(w3c_name.len());
    let mut pending_sep = false;
    for c in w3c_name.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            // Non-ASCII letters are kept as they are (lower-cased).
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.extend(c.to_lowercase());
        } else {
            pending_sep = true;
        }
    }
    if out.is_empty() {
        out.push_str("field");
    }
    out
}

/// Looks up a standard IIS W3C field by its column name.
pub fn standard_field(column: &str) -> Option<&'static StandardField> {
    STANDARD_FIELDS.iter().find(|f| f.column == column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        assert_eq!(column_name("cs(User-Agent)"), "cs_user_agent");
        assert_eq!(column_name("X-Forwarded-For"), "x_forwarded_for");
        assert_eq!(column_name("cs(Host)"), "cs_host");
        assert_eq!(column_name("sc-win32-status"), "sc_win32_status");
        assert_eq!(column_name("--"), "field");
        for f in STANDARD_FIELDS {
            assert_eq!(column_name(f.w3c_name), f.column, "{}", f.w3c_name);
        }
    }
}
