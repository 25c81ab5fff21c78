//! Windows status codes as IIS writes them in `sc-win32-status` (unsigned decimal): one table,
//! used by `win32_error_text()` and registered as the SQL table `win32_errors`.

/// (code, symbolic name, meaning).
pub const WIN32_ERRORS: &[(u32, &str, &str)] = &[
    (0, "ERROR_SUCCESS", "success"),
    (1, "ERROR_INVALID_FUNCTION", "incorrect function"),
    (2, "ERROR_FILE_NOT_FOUND", "the file was not found"),
    (3, "ERROR_PATH_NOT_FOUND", "the path was not found"),
    (5, "ERROR_ACCESS_DENIED", "access denied"),
    (6, "ERROR_INVALID_HANDLE", "invalid handle"),
    (13, "ERROR_INVALID_DATA", "the data is invalid"),
    (50, "ERROR_NOT_SUPPORTED", "the request is not supported"),
    (
        59,
        "ERROR_UNEXP_NET_ERR",
        "an unexpected network error occurred",
    ),
    (
        64,
        "ERROR_NETNAME_DELETED",
        "the client went away mid-request",
    ),
    (87, "ERROR_INVALID_PARAMETER", "the parameter is incorrect"),
    (121, "ERROR_SEM_TIMEOUT", "the connection timed out"),
    (
        995,
        "ERROR_OPERATION_ABORTED",
        "the I/O operation was aborted (client closed)",
    ),
    (
        1229,
        "ERROR_CONNECTION_INVALID",
        "the connection is no longer valid",
    ),
    (
        1236,
        "ERROR_CONNECTION_ABORTED",
        "the connection was aborted by the local system",
    ),
    (
        1326,
        "ERROR_LOGON_FAILURE",
        "unknown user name or bad password",
    ),
    (
        1327,
        "ERROR_ACCOUNT_RESTRICTION",
        "account restriction (blank password, policy)",
    ),
    (1328, "ERROR_INVALID_LOGON_HOURS", "logon-hours violation"),
    (
        1329,
        "ERROR_INVALID_WORKSTATION",
        "not allowed to log on to this computer",
    ),
    (1330, "ERROR_PASSWORD_EXPIRED", "the password has expired"),
    (1331, "ERROR_ACCOUNT_DISABLED", "the account is disabled"),
    (1793, "ERROR_ACCOUNT_EXPIRED", "the account has expired"),
    (
        1907,
        "ERROR_PASSWORD_MUST_CHANGE",
        "the password must be changed at next logon",
    ),
    (
        1909,
        "ERROR_ACCOUNT_LOCKED_OUT",
        "the account is locked out",
    ),
    (
        10053,
        "WSAECONNABORTED",
        "connection aborted by software on the host",
    ),
    (10054, "WSAECONNRESET", "connection reset by the peer"),
    (10060, "WSAETIMEDOUT", "connection attempt timed out"),
    (
        2147942405,
        "E_ACCESSDENIED",
        "access denied (HRESULT 0x80070005)",
    ),
    (
        2148074242,
        "SEC_E_UNSUPPORTED_FUNCTION",
        "the security function is not supported",
    ),
    (
        2148074245,
        "SEC_E_SECPKG_NOT_FOUND",
        "the requested security package was not found",
    ),
    (
        2148074248,
        "SEC_E_INVALID_TOKEN",
        "the token supplied is invalid",
    ),
    (2148074252, "SEC_E_LOGON_DENIED", "the logon attempt failed"),
    (
        2148074254,
        "SEC_E_NO_CREDENTIALS",
        "no credentials are available (first NTLM/Negotiate leg, or Kerberos delegation failing)",
    ),
    (
        2148074257,
        "SEC_E_NO_AUTHENTICATING_AUTHORITY",
        "no authority could be contacted for authentication",
    ),
    (
        2148074263,
        "SEC_E_CONTEXT_EXPIRED",
        "the security context has expired",
    ),
    (
        2148074274,
        "SEC_E_WRONG_PRINCIPAL",
        "the Kerberos target principal name is incorrect (SPN)",
    ),
    (
        2148074277,
        "SEC_E_UNTRUSTED_ROOT",
        "the certificate chain was issued by an untrusted authority",
    ),
    (
        2148074279,
        "SEC_E_CERT_UNKNOWN",
        "an unknown error occurred while processing the certificate",
    ),
    (
        2148074280,
        "SEC_E_CERT_EXPIRED",
        "the received certificate has expired",
    ),
    (2148081680, "CRYPT_E_REVOKED", "the certificate is revoked"),
    (
        2148081682,
        "CRYPT_E_NO_REVOCATION_CHECK",
        "the revocation function was unable to check revocation",
    ),
    (
        2148081683,
        "CRYPT_E_REVOCATION_OFFLINE",
        "the revocation server was offline (CRL/OCSP unreachable)",
    ),
    (
        2148204801,
        "CERT_E_EXPIRED",
        "the certificate is outside its validity period",
    ),
    (
        2148204809,
        "CERT_E_UNTRUSTEDROOT",
        "the certificate chain ends in an untrusted root",
    ),
    (
        2148204810,
        "CERT_E_CHAINING",
        "the certificate chain could not be built (missing intermediate)",
    ),
    (
        2148204812,
        "CERT_E_REVOKED",
        "the certificate was revoked by its issuer",
    ),
    (
        2148204815,
        "CERT_E_CN_NO_MATCH",
        "the certificate name does not match",
    ),
    (
        2148204816,
        "CERT_E_WRONG_USAGE",
        "the certificate is not valid for the requested usage (EKU)",
    ),
];

/// `NAME: meaning` for a code, or its hexadecimal form when unknown.
pub fn win32_text(code: i64) -> String {
    let c = code as u32;
    match WIN32_ERRORS.iter().find(|(n, _, _)| *n == c) {
        Some((_, name, text)) => format!("{name}: {text}"),
        None => format!("unknown status 0x{c:08X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            win32_text(1909),
            "ERROR_ACCOUNT_LOCKED_OUT: the account is locked out"
        );
        assert!(win32_text(2148204809).starts_with("CERT_E_UNTRUSTEDROOT"));
        assert_eq!(win32_text(4294967295), "unknown status 0xFFFFFFFF");
    }
}
