//! IIS HTTP status and substatus codes and what they mean: one table, used by
//! `iis_status_text()` and registered as the SQL table `iis_status_codes`.

/// (status, substatus or -1 for the status alone, text).
pub const IIS_STATUS_CODES: &[(i32, i32, &str)] = &[
    (100, -1, "Continue"),
    (101, -1, "Switching protocols"),
    (200, -1, "OK"),
    (201, -1, "Created"),
    (204, -1, "No content"),
    (206, -1, "Partial content"),
    (207, -1, "Multi-status (WebDAV)"),
    (301, -1, "Moved permanently"),
    (302, -1, "Found (redirect)"),
    (304, -1, "Not modified"),
    (307, -1, "Temporary redirect"),
    (400, -1, "Bad request"),
    (401, -1, "Unauthorized"),
    (401, 0, "Access denied (first anonymous leg of a challenge)"),
    (401, 1, "Logon failed (see win32 status for why)"),
    (
        401,
        2,
        "Logon failed due to server configuration (also the normal anonymous challenge)",
    ),
    (401, 3, "Unauthorized due to ACL on resource"),
    (401, 4, "Authorization failed by filter"),
    (401, 5, "Authorization failed by ISAPI/CGI application"),
    (
        401,
        501,
        "Denied by dynamic IP restriction: concurrent request limit",
    ),
    (
        401,
        502,
        "Denied by dynamic IP restriction: request rate limit",
    ),
    (401, 503, "IP address in the deny list"),
    (401, 504, "Host name in the deny list"),
    (403, -1, "Forbidden"),
    (403, 1, "Execute access forbidden"),
    (403, 2, "Read access forbidden"),
    (403, 3, "Write access forbidden"),
    (403, 4, "SSL required"),
    (403, 5, "SSL 128 required"),
    (403, 6, "IP address rejected"),
    (403, 7, "Client certificate required"),
    (403, 8, "Site access denied"),
    (403, 9, "Too many clients"),
    (403, 10, "Execute access denied"),
    (403, 11, "Password has been changed"),
    (
        403,
        12,
        "Mapper denied access (certificate mapped to a denied account)",
    ),
    (403, 13, "Client certificate revoked"),
    (403, 14, "Directory listing denied"),
    (403, 15, "Client access licenses exceeded"),
    (403, 16, "Client certificate untrusted or invalid"),
    (403, 17, "Client certificate expired or not yet valid"),
    (403, 18, "Cannot execute request from this application pool"),
    (403, 19, "Cannot execute CGI in this application pool"),
    (403, 20, "Passport logon failed"),
    (403, 21, "Source access denied"),
    (403, 22, "Infinite depth denied"),
    (
        403,
        501,
        "Denied by dynamic IP restriction: concurrent request limit",
    ),
    (
        403,
        502,
        "Denied by dynamic IP restriction: request rate limit",
    ),
    (403, 503, "IP address in the deny list"),
    (403, 504, "Host name in the deny list"),
    (404, -1, "Not found"),
    (404, 0, "Not found"),
    (404, 7, "File extension denied"),
    (404, 8, "Hidden namespace"),
    (404, 11, "Request contains a double escape sequence"),
    (
        404,
        13,
        "Content length too large (maxAllowedContentLength)",
    ),
    (404, 14, "URL too long"),
    (404, 15, "Query string too long"),
    (405, -1, "Method not allowed"),
    (406, -1, "Not acceptable"),
    (409, -1, "Conflict"),
    (412, -1, "Precondition failed"),
    (
        413,
        -1,
        "Request entity too large (client certificate renegotiation: uploadReadAheadSize)",
    ),
    (414, -1, "Request URI too long"),
    (415, -1, "Unsupported media type"),
    (440, -1, "Login time-out (Outlook on the web)"),
    (449, -1, "Retry after provisioning (ActiveSync)"),
    (
        451,
        -1,
        "Redirect to another server (ActiveSync X-MS-Location)",
    ),
    (
        456,
        -1,
        "Unauthorized: client certificate required by Exchange Online",
    ),
    (457, -1, "Credential service URL required (ActiveSync)"),
    (500, -1, "Internal server error"),
    (500, 0, "Module or ISAPI error"),
    (500, 11, "Application is shutting down"),
    (500, 12, "Application is busy restarting"),
    (500, 13, "Web server is too busy"),
    (
        500,
        19,
        "Invalid configuration data (web.config or applicationHost.config)",
    ),
    (500, 21, "Module not recognized"),
    (
        500,
        22,
        "ASP.NET httpModules configuration does not apply in managed pipeline mode",
    ),
    (
        500,
        23,
        "ASP.NET httpHandlers configuration does not apply in managed pipeline mode",
    ),
    (
        500,
        24,
        "ASP.NET impersonation configuration does not apply in managed pipeline mode",
    ),
    (500, 50, "Rewrite error during RQ_BEGIN_REQUEST"),
    (500, 100, "Internal ASP error"),
    (501, -1, "Not implemented"),
    (502, -1, "Bad gateway"),
    (502, 1, "CGI application timeout"),
    (502, 2, "Bad gateway: premature exit"),
    (502, 3, "Bad gateway: forwarder connection error (ARR)"),
    (502, 4, "Bad gateway: no server (ARR)"),
    (503, -1, "Service unavailable"),
    (503, 0, "Application pool unavailable"),
    (503, 2, "Concurrent request limit exceeded"),
    (503, 3, "ASP.NET queue full"),
    (503, 4, "FastCGI queue full"),
    (504, -1, "Gateway time-out"),
    (507, -1, "Insufficient storage (mailbox quota exceeded)"),
];

/// The text for a status and substatus: the exact pair if known, else the status alone.
pub fn status_text(status: i64, substatus: Option<i64>) -> Option<&'static str> {
    let s = status as i32;
    if let Some(sub) = substatus {
        let sub = sub as i32;
        if let Some(t) = IIS_STATUS_CODES
            .iter()
            .find(|(a, b, _)| *a == s && *b == sub)
        {
            return Some(t.2);
        }
    }
    IIS_STATUS_CODES
        .iter()
        .find(|(a, b, _)| *a == s && *b == -1)
        .map(|t| t.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            status_text(403, Some(7)),
            Some("Client certificate required")
        );
        assert_eq!(status_text(403, Some(99)), Some("Forbidden"));
        assert_eq!(status_text(200, None), Some("OK"));
        assert_eq!(status_text(999, Some(0)), None);
    }
}
