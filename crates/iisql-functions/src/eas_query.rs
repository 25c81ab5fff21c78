//! ActiveSync request parameters from `cs-uri-query`: the plain form
//! (`Cmd=Sync&User=jdoe&DeviceId=...`) and the base64 form of [MS-ASHTTP] 2.2.1.1.1, and the
//! items of the `Log=` string Exchange appends.

use std::borrow::Cow;

/// Decodes `%xx` escapes and `+` (a space); invalid escapes are kept as they are.
pub fn url_decode(s: &str) -> String {
    percent_decode(s, true)
}

/// Decodes `%xx` escapes, and `+` as a space when `plus_is_space`.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    percent_decoded(s, plus_is_space).into_owned()
}

/// [`percent_decode`], borrowing `s` when there is nothing to decode (most values).
fn percent_decoded(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'%' || (plus_is_space && c == b'+')) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(digit(b[i + 1]) * 16 + digit(b[i + 2]));
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The command names of [MS-ASHTTP] base64 command codes.
pub fn command_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "Sync",
        1 => "SendMail",
        2 => "SmartForward",
        3 => "SmartReply",
        4 => "GetAttachment",
        5 => "GetHierarchy",
        6 => "CreateCollection",
        7 => "DeleteCollection",
        8 => "MoveCollection",
        9 => "FolderSync",
        10 => "FolderCreate",
        11 => "FolderDelete",
        12 => "FolderUpdate",
        13 => "MoveItems",
        14 => "GetItemEstimate",
        15 => "MeetingResponse",
        16 => "Search",
        17 => "Settings",
        18 => "Ping",
        19 => "ItemOperations",
        20 => "Provision",
        21 => "ResolveRecipients",
        22 => "ValidateCert",
        23 => "Find",
        _ => return None,
    })
}

/// A decoded base64 ActiveSync query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base64Query {
    /// Protocol version byte (140 for 14.0).
    pub version: u8,
    /// Command code.
    pub command: u8,
    /// Locale (0x0409 for en-US).
    pub locale: u16,
    /// DeviceId bytes.
    pub device_id: Vec<u8>,
    /// Policy key, if sent.
    pub policy_key: Option<u32>,
    /// DeviceType.
    pub device_type: String,
    /// Command parameters: (tag, value).
    pub params: Vec<(u8, Vec<u8>)>,
}

impl Base64Query {
    /// The protocol version as text (`14.0`).
    pub fn protocol_version(&self) -> String {
        format!("{}.{}", self.version / 10, self.version % 10)
    }

    /// The DeviceId as the plain-text form of the same device uses it: the text when it is
    /// printable ASCII, otherwise upper-case hexadecimal (binary DeviceIds are sent in hex in
    /// plain-text requests).
    pub fn device_id_text(&self) -> String {
        if !self.device_id.is_empty() && self.device_id.iter().all(|b| b.is_ascii_alphanumeric()) {
            String::from_utf8_lossy(&self.device_id).into_owned()
        } else {
            self.device_id.iter().map(|b| format!("{b:02X}")).collect()
        }
    }
}

fn base64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Standard (or URL-safe) base64 without or with padding.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        acc = (acc << 6) | base64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Decodes a base64 ActiveSync query; `None` when `blob` is not one.
pub fn decode_base64_query(blob: &str) -> Option<Base64Query> {
    // `+` is a base64 digit here, not an encoded space.
    let blob = percent_decode(blob.trim(), false);
    let body = blob.trim_end_matches('=');
    if body.len() < 8 || body.bytes().any(|c| base64_value(c).is_none()) {
        return None;
    }
    let b = base64_decode(&blob)?;
    let version = *b.first()?;
    if !(121..=161).contains(&version) {
        return None;
    }
    let command = *b.get(1)?;
    command_name(command)?;
    let locale = u16::from_le_bytes([*b.get(2)?, *b.get(3)?]);
    let mut p = 4;
    let take = |p: &mut usize, n: usize| -> Option<Vec<u8>> {
        let v = b.get(*p..*p + n)?.to_vec();
        *p += n;
        Some(v)
    };
    let n = *b.get(p)? as usize;
    p += 1;
    let device_id = take(&mut p, n)?;
    let n = *b.get(p)? as usize;
    p += 1;
    let policy_key = match n {
        0 => None,
        4 => {
            let k = take(&mut p, 4)?;
            Some(u32::from_le_bytes([k[0], k[1], k[2], k[3]]))
        }
        _ => return None,
    };
    let n = *b.get(p)? as usize;
    p += 1;
    let device_type = String::from_utf8_lossy(&take(&mut p, n)?).into_owned();
    let mut params = Vec::new();
    while p < b.len() {
        let tag = b[p];
        let n = *b.get(p + 1)? as usize;
        p += 2;
        params.push((tag, take(&mut p, n)?));
    }
    Some(Base64Query {
        version,
        command,
        locale,
        device_id,
        policy_key,
        device_type,
        params,
    })
}

fn param_tag(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "attachmentname" => 0,
        "collectionid" => 1,
        "collectionname" => 2,
        "itemid" => 3,
        "longid" => 4,
        "parentid" => 5,
        "occurrence" => 6,
        "options" => 7,
        "user" => 8,
        _ => return None,
    })
}

/// Splits a query into its `&`-separated `name=value` pairs (values still encoded), plus a
/// leading base64 blob when the first item has no `=`.
fn pairs(query: &str) -> (Option<&str>, Vec<(&str, &str)>) {
    let mut blob = None;
    let mut out = Vec::new();
    for (i, item) in query.split('&').enumerate() {
        match item.split_once('=') {
            // A base64 blob's padding (`...pbA==`) is not a `name=value` pair; an empty value
            // (`CollectionId=&...`) is, unless the item decodes as an ActiveSync blob.
            Some((k, v))
                if !(k.is_empty()
                    || i == 0
                        && k.len() > 8
                        && v.bytes().all(|c| c == b'=')
                        && decode_base64_query(item).is_some()) =>
            {
                out.push((k, v))
            }
            _ if i == 0 && !item.is_empty() => blob = Some(item),
            _ => {}
        }
    }
    (blob, out)
}

/// A top-level ActiveSync parameter of a query, URL-decoded: `Cmd`, `User`, `DeviceId`,
/// `DeviceType`, `Log`, ... Base64 queries also answer `Cmd`, `DeviceId` (hex when binary),
/// `DeviceType`, `ProtocolVersion`, `Locale`, `PolicyKey` and their command parameters.
/// `ProtocolVersion` of a plain query comes from `Log=` (`V141`, `Ver1:161`).
pub fn param(query: &str, name: &str) -> Option<String> {
    Parsed::new(query).param(name)
}

/// A query string split once into its pairs, its base64 blob decoded on first use, for
/// answering several [`param`] and [`log_value`] questions about it.
struct Parsed<'a> {
    blob: Option<&'a str>,
    pairs: Vec<(&'a str, &'a str)>,
    decoded: Option<Option<Base64Query>>,
}

impl<'a> Parsed<'a> {
    fn new(query: &'a str) -> Self {
        let (blob, pairs) = pairs(query);
        Self {
            blob,
            pairs,
            decoded: None,
        }
    }

    fn decoded(&mut self) -> Option<&Base64Query> {
        let blob = self.blob;
        self.decoded
            .get_or_insert_with(|| blob.and_then(decode_base64_query))
            .as_ref()
    }

    /// [`param`] of this query.
    fn param(&mut self, name: &str) -> Option<String> {
        if let Some((_, v)) = self
            .pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            let v = url_decode(v);
            return (!v.is_empty()).then_some(v);
        }
        if let Some(q) = self.decoded() {
            let v = base64_param(q, name);
            if v.is_some() {
                return v;
            }
        }
        if name.eq_ignore_ascii_case("protocolversion") {
            let v = self
                .log_value("Ver1", 0)
                .or_else(|| self.log_value("V", 0))
                .filter(|v| v.len() >= 2 && v.bytes().all(|b| b.is_ascii_digit()))?;
            let (major, minor) = v.split_at(v.len() - 1);
            return Some(format!("{major}.{minor}"));
        }
        None
    }

    /// [`log_value`] of this query.
    fn log_value(&self, key: &str, n: usize) -> Option<String> {
        let (_, log) = self
            .pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("log"))?;
        log.split('_')
            .filter_map(log_item)
            .filter(|(k, _)| *k == key)
            .nth(n)
            .map(|(_, v)| url_decode(v))
    }
}

/// A parameter a base64 query answers.
fn base64_param(q: &Base64Query, name: &str) -> Option<String> {
    let lname = name.to_ascii_lowercase();
    match lname.as_str() {
        "cmd" => command_name(q.command).map(str::to_string),
        "deviceid" => Some(q.device_id_text()),
        "devicetype" => Some(q.device_type.clone()),
        "protocolversion" => Some(q.protocol_version()),
        "locale" => Some(format!("0x{:04X}", q.locale)),
        "policykey" => q.policy_key.map(|k| k.to_string()),
        "saveinsent" => q.params.iter().find(|(t, _)| *t == 7).map(|(_, v)| {
            if v.first().is_some_and(|o| o & 1 == 1) {
                "T"
            } else {
                "F"
            }
            .to_string()
        }),
        _ => param_tag(name).and_then(|tag| {
            q.params
                .iter()
                .find(|(t, _)| *t == tag)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        }),
    }
}

/// What the `activesync` view reads of a request's query string, parsed once: each field is
/// what [`param`] or [`log_value`] (its first value) answers for it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestFields {
    /// `param(q, "User")`.
    pub user: Option<String>,
    /// `param(q, "DeviceId")`.
    pub device_id: Option<String>,
    /// `param(q, "DeviceType")`.
    pub device_type: Option<String>,
    /// `param(q, "Cmd")`.
    pub cmd: Option<String>,
    /// `param(q, "ProtocolVersion")`.
    pub protocol_version: Option<String>,
    /// `log_value(q, "SC1", 0)`, else `log_value(q, "S", 0)`.
    pub eas_status: Option<String>,
    /// `log_value(q, "Error", 0)`.
    pub error: Option<String>,
    /// `log_value(q, "As", 0)`.
    pub access_state: Option<String>,
    /// `log_value(q, "PrxFrom", 0)`.
    pub proxy_from: Option<String>,
    /// `log_value(q, "PrxTo", 0)`.
    pub proxy_to: Option<String>,
}

impl RequestFields {
    /// The names of the fields, in order (as the `eas_request` function's struct has them).
    pub const NAMES: [&'static str; 10] = [
        "user",
        "device_id",
        "device_type",
        "cmd",
        "protocol_version",
        "eas_status",
        "error",
        "access_state",
        "proxy_from",
        "proxy_to",
    ];

    /// Reads them from `query`. The `Log=` string is read once for every key it answers.
    pub fn of(query: &str) -> Self {
        let mut p = Parsed::new(query);
        // The first value of each key of `LOG_KEYS`, in that order.
        let mut log: [Option<&str>; 6] = [None; 6];
        const LOG_KEYS: [&str; 6] = ["SC1", "S", "Error", "As", "PrxFrom", "PrxTo"];
        if let Some((_, items)) = p.pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("log")) {
            for (key, value) in items.split('_').filter_map(log_item) {
                if let Some(i) = LOG_KEYS.iter().position(|k| *k == key) {
                    log[i].get_or_insert(value);
                }
            }
        }
        let [sc1, s, error, access_state, proxy_from, proxy_to] = log.map(|v| v.map(url_decode));
        Self {
            user: p.param("User"),
            device_id: p.param("DeviceId"),
            device_type: p.param("DeviceType"),
            cmd: p.param("Cmd"),
            protocol_version: p.param("ProtocolVersion"),
            eas_status: sc1.or(s),
            error,
            access_state,
            proxy_from,
            proxy_to,
        }
    }

    /// The fields in the order of [`RequestFields::NAMES`].
    pub fn values(&self) -> [Option<&str>; 10] {
        [
            &self.user,
            &self.device_id,
            &self.device_type,
            &self.cmd,
            &self.protocol_version,
            &self.eas_status,
            &self.error,
            &self.access_state,
            &self.proxy_from,
            &self.proxy_to,
        ]
        .map(|v| v.as_deref())
    }
}

/// Parses one `Log=` item into (key, raw value): `Hb1680` and `Hb:600` are both key `Hb`;
/// `SC1:142` is key `SC1`; `TmRcv10:35:00.12` is key `TmRcv` with a time value.
pub fn log_item(item: &str) -> Option<(&str, &str)> {
    let letters = item.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 {
        return None;
    }
    let rest = &item[letters..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after = &rest[digits..];
    if let Some(value) = after.strip_prefix(':') {
        let is_time = digits == 2
            && value.len() >= 5
            && value.as_bytes()[2] == b':'
            && value.bytes().take(2).all(|b| b.is_ascii_digit());
        if digits == 0 {
            return Some((&item[..letters], value));
        }
        if is_time {
            return Some((&item[..letters], rest));
        }
        return Some((&item[..letters + digits], value));
    }
    Some((&item[..letters], rest))
}

/// The `n`-th (0-based) value of `key` in the query's `Log=` string, URL-decoded. Keys repeat
/// once per folder in Sync requests; `n` picks one.
pub fn log_value(query: &str, key: &str, n: usize) -> Option<String> {
    Parsed::new(query).log_value(key, n)
}

/// The sum over every value of `key` in the `Log=` string (keys repeat once per folder). With
/// `part`, each value is read as Exchange writes change counts, `3a1c0d0s0e0r2A0sd` (a number
/// before each letter code), and the number before `part` is taken (`Srv` and `a`: the server's
/// adds); without, each value is a number (`Att3`, `Attb51200`). `None` when no value is there.
pub fn log_sum(query: &str, key: &str, part: Option<&str>) -> Option<i64> {
    let (_, pairs) = pairs(query);
    let (_, log) = pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("log"))?;
    let mut total: Option<i64> = None;
    for (_, v) in log
        .split('_')
        .filter_map(log_item)
        .filter(|(k, _)| *k == key)
    {
        let n = match part {
            None => v.parse::<i64>().ok(),
            Some(part) => change_count(v, part),
        };
        if let Some(n) = n {
            total = Some(total.unwrap_or(0).saturating_add(n));
        }
    }
    total
}

/// In `3a1c0d...`, the number written before the letter code `part`.
fn change_count(v: &str, part: &str) -> Option<i64> {
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let letters = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if digits == 0 || letters == 0 {
            return None;
        }
        if &rest[digits..digits + letters] == part {
            return rest[..digits].parse().ok();
        }
        rest = &rest[digits + letters..];
    }
    None
}

/// Makes user names comparable: `CONTOSO\jdoe`, `jdoe@contoso.com` and `contoso%5Cjdoe` all
/// become `jdoe` (lower case, no domain).
pub fn normalize_user(s: &str) -> Option<String> {
    with_account(s, |d| Some(d.to_lowercase()))
}

/// `f` of the account part of user name `s` (URL-decoded, without domain, trimmed, case
/// kept), or `None` when there is none: [`normalize_user`] before it lowers the case.
pub(crate) fn with_account<T>(s: &str, f: impl FnOnce(&str) -> Option<T>) -> Option<T> {
    let decoded = percent_decoded(s.trim(), true);
    let d = decoded.trim();
    if d.is_empty() || d == "-" {
        return None;
    }
    let d = d.rsplit('\\').next().unwrap_or(d);
    let d = d.split('@').next().unwrap_or(d);
    let d = d.trim();
    if d.is_empty() {
        return None;
    }
    f(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_base64() {
        // With padding, as most encoders write it, and without.
        let padded = iisql_generator::encode_eas_base64(140, 0, b"v140Devic", "SmartPhone");
        assert!(padded.ends_with('='), "{padded}");
        assert_eq!(param(&padded, "DeviceId").as_deref(), Some("v140Devic"));
        let q = "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l";
        let d = decode_base64_query(q).unwrap();
        assert_eq!(d.version, 140);
        assert_eq!(d.protocol_version(), "14.0");
        assert_eq!(d.locale, 0x0409);
        assert_eq!(param(q, "Cmd").as_deref(), Some("Sync"));
        assert_eq!(param(q, "DeviceId").as_deref(), Some("v140Device"));
        assert_eq!(param(q, "DeviceType").as_deref(), Some("SmartPhone"));
        assert_eq!(param(q, "ProtocolVersion").as_deref(), Some("14.0"));
        assert_eq!(param(q, "User"), None);
    }

    #[test]
    fn base64_with_plus_and_slash() {
        // Device ids whose encoding holds `+` and `/` must still decode.
        for seed in 0u8..=255 {
            let id = [seed, 0xFB, 0xEF, 0xBE, 0x3F, 0xFF, 0x00, 0x7E];
            let blob = iisql_generator::encode_eas_base64(141, 0, &id, "WindowsMail");
            let hex: String = id.iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(param(&blob, "DeviceId"), Some(hex), "{blob}");
        }
    }

    #[test]
    fn binary_device_ids_are_hex() {
        let id = [0x79u8, 0x6A, 0xCD, 0x8C, 0x98, 0x22, 0xBB, 0x3C];
        let blob = iisql_generator::encode_eas_base64(141, 17, &id, "WP8");
        assert_eq!(
            param(&blob, "DeviceId").as_deref(),
            Some("796ACD8C9822BB3C")
        );
        assert_eq!(param(&blob, "Cmd").as_deref(), Some("Settings"));
        assert_eq!(param(&blob, "ProtocolVersion").as_deref(), Some("14.1"));
    }

    #[test]
    fn plain_params() {
        let q = "Cmd=Sync&User=contoso%5Cjdoe&DeviceId=ApplABC&DeviceType=iPhone&Log=V141_Sst4_Hb1680_S1_Error:DeviceNotProvisioned_As:BlockedP_";
        assert_eq!(param(q, "cmd").as_deref(), Some("Sync"));
        assert_eq!(param(q, "User").as_deref(), Some("contoso\\jdoe"));
        assert_eq!(param(q, "ProtocolVersion").as_deref(), Some("14.1"));
        assert_eq!(log_value(q, "Hb", 0).as_deref(), Some("1680"));
        assert_eq!(
            log_value(q, "Error", 0).as_deref(),
            Some("DeviceNotProvisioned")
        );
        assert_eq!(log_value(q, "As", 0).as_deref(), Some("BlockedP"));
        assert_eq!(log_value(q, "S", 0).as_deref(), Some("1"));
        assert_eq!(log_value(q, "Sst", 0).as_deref(), Some("4"));
        assert_eq!(log_value(q, "Nope", 0), None);
        assert_eq!(param("", "Cmd"), None);
    }

    #[test]
    fn log_sums_over_folders() {
        let q = "Cmd=Sync&Log=V161_Fid:1_Ty:Em_Srv:3a1c0d0s0e0r2A0sd_Cli:1a0c0d0f0e0s0fs_Fid:2_Ty:Ca_Srv:1a0c4d0s0e0r0A0sd_Att2_Attb5000_";
        assert_eq!(log_sum(q, "Srv", Some("a")), Some(4));
        assert_eq!(log_sum(q, "Srv", Some("c")), Some(1));
        assert_eq!(log_sum(q, "Srv", Some("A")), Some(2));
        assert_eq!(log_sum(q, "Srv", Some("d")), Some(4));
        assert_eq!(log_sum(q, "Srv", Some("sd")), Some(0));
        assert_eq!(log_sum(q, "Cli", Some("fs")), Some(0));
        assert_eq!(log_sum(q, "Cli", Some("a")), Some(1));
        assert_eq!(log_sum(q, "Att", None), Some(2));
        assert_eq!(log_sum(q, "Attb", None), Some(5000));
        assert_eq!(log_sum(q, "Ssp", None), None);
        assert_eq!(log_sum("Cmd=Sync", "Att", None), None);
    }

    #[test]
    fn log_items_2016_and_repeats() {
        let q = "Cmd=Sync&Log=Ver1:161_SC1:142_Hb:600_Fid:1_Ty:Em_Fid:2_Ty:Ca_TmRcv10:35:00.12_PrxFrom:10.0.0.7_Budget:(A)Owner%3aS-1-5_";
        assert_eq!(log_value(q, "SC1", 0).as_deref(), Some("142"));
        assert_eq!(log_value(q, "Hb", 0).as_deref(), Some("600"));
        assert_eq!(log_value(q, "Ty", 0).as_deref(), Some("Em"));
        assert_eq!(log_value(q, "Ty", 1).as_deref(), Some("Ca"));
        assert_eq!(log_value(q, "TmRcv", 0).as_deref(), Some("10:35:00.12"));
        assert_eq!(log_value(q, "PrxFrom", 0).as_deref(), Some("10.0.0.7"));
        assert_eq!(log_value(q, "Budget", 0).as_deref(), Some("(A)Owner:S-1-5"));
        assert_eq!(param(q, "ProtocolVersion").as_deref(), Some("16.1"));
    }

    #[test]
    fn users_normalise() {
        for u in [
            "CONTOSO\\jdoe",
            "jdoe@contoso.com",
            "contoso%5Cjdoe",
            "JDoe",
        ] {
            assert_eq!(normalize_user(u).as_deref(), Some("jdoe"), "{u}");
        }
        assert_eq!(normalize_user("-"), None);
    }

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode("a+b%20c%5C%zz%4"), "a b c\\%zz%4");
        assert_eq!(url_decode("%+F%2"), "% F%2");
    }

    #[test]
    fn empty_first_value_is_a_pair() {
        let q = "CollectionIdentifier=&Cmd=Sync&DeviceId=X1";
        assert_eq!(param(q, "Cmd").as_deref(), Some("Sync"));
        assert_eq!(param(q, "CollectionIdentifier"), None);
    }
}
