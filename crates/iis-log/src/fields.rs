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

/// Every standard IIS W3C field other than `date` and `time` (which become `timestamp` and
/// `date`), in the order the table schema lists them.
pub const STANDARD_FIELDS: &[StandardField] = &[
    field(
        "s-sitename",
        "s_sitename",
        ValueType::Text,
        "site service name and instance (W3SVC1)",
    ),
    field(
        "s-computername",
        "s_computername",
        ValueType::Text,
        "server host name",
    ),
    field("s-ip", "s_ip", ValueType::Text, "server IP address"),
    field("cs-method", "cs_method", ValueType::Text, "HTTP method"),
    field("cs-uri-stem", "cs_uri_stem", ValueType::Text, "URI path"),
    field(
        "cs-uri-query",
        "cs_uri_query",
        ValueType::Text,
        "URI query string",
    ),
    field("s-port", "s_port", ValueType::Int32, "server port"),
    field(
        "cs-username",
        "cs_username",
        ValueType::Text,
        "authenticated user (NULL if anonymous)",
    ),
    field("c-ip", "c_ip", ValueType::Text, "client IP address"),
    field(
        "cs-version",
        "cs_version",
        ValueType::Text,
        "HTTP protocol version",
    ),
    field(
        "cs(User-Agent)",
        "cs_user_agent",
        ValueType::Text,
        "User-Agent request header",
    ),
    field(
        "cs(Cookie)",
        "cs_cookie",
        ValueType::Text,
        "Cookie request header",
    ),
    field(
        "cs(Referer)",
        "cs_referer",
        ValueType::Text,
        "Referer request header",
    ),
    field("cs-host", "cs_host", ValueType::Text, "Host request header"),
    field(
        "sc-status",
        "sc_status",
        ValueType::Int32,
        "HTTP status code",
    ),
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
    field(
        "sc-bytes",
        "sc_bytes",
        ValueType::Int64,
        "bytes sent by the server",
    ),
    field(
        "cs-bytes",
        "cs_bytes",
        ValueType::Int64,
        "bytes received by the server",
    ),
    field(
        "time-taken",
        "time_taken",
        ValueType::Int64,
        "time taken in milliseconds",
    ),
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

/// Looks up a standard field by its column name.
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
