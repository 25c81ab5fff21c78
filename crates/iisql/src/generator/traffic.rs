//! The healthy baseline: users, their devices, and the requests they make.

/// One request's values; the writer lays them out in the file's `#Fields` order.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// HTTP method.
    pub method: String,
    /// URI stem.
    pub stem: String,
    /// URI query (empty for none).
    pub query: String,
    /// Authenticated user, `None` for anonymous.
    pub user: Option<String>,
    /// Client IP.
    pub c_ip: String,
    /// User agent.
    pub agent: String,
    /// Referer (empty for none).
    pub referer: String,
    /// (status, substatus, win32 status).
    pub status: (u16, u16, u64),
    /// Time taken, ms.
    pub taken: u64,
    /// Host header.
    pub host: String,
    /// Bytes sent.
    pub sc_bytes: u64,
    /// Bytes received.
    pub cs_bytes: u64,
}

/// One mobile device of a user.
#[derive(Debug, Clone)]
pub struct Device {
    /// Index of its user.
    pub user: usize,
    /// DeviceId.
    pub id: String,
    /// DeviceType.
    pub kind: &'static str,
    /// User agent.
    pub agent: String,
    /// Client IP.
    pub ip: String,
    /// Sends base64 queries.
    pub base64: bool,
}

/// Users and devices, the same for every server and day.
pub struct Population {
    /// sAMAccountNames.
    pub users: Vec<String>,
    /// Devices.
    pub devices: Vec<Device>,
}

const DEVICE_KINDS: &[(&str, &str)] = &[
    ("iPhone", "Apple-iPhone15C2/2107.100"),
    ("iPhone", "Apple-iPhone14C4/2006.200"),
    ("iPad", "Apple-iPad13C1/2107.100"),
    ("Android", "Android-Mail/2024.02.18.610"),
    ("SAMSUNGSMS918B", "SAMSUNG-SM-S918B/101.140104"),
    ("Outlook", "Outlook-iOS-Android/1.0"),
    ("WindowsMail", "Microsoft.WindowsMail/17.5.9600.20911"),
];

/// `n` upper-case hexadecimal digits.
pub fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| {
            char::from_digit(rng.u32(0..16), 16)
                .unwrap_or('0')
                .to_ascii_uppercase()
        })
        .collect()
}

/// A random GUID in its usual text form.
pub fn guid(rng: &mut fastrand::Rng) -> String {
    let h = hex(rng, 32).to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A new device of user `user`.
pub fn new_device(rng: &mut fastrand::Rng, user: usize) -> Device {
    let (kind, agent) = DEVICE_KINDS[rng.usize(..DEVICE_KINDS.len())];
    let id = match kind {
        "iPhone" | "iPad" => format!("Appl{}", hex(rng, 11)),
        "Android" => format!("androidc{}", rng.u64(100_000_000..999_999_999)),
        "Outlook" => hex(rng, 32),
        // Windows Mail sends base64 queries with a 16-byte binary DeviceId, logged as hex.
        "WindowsMail" => hex(rng, 32),
        _ => hex(rng, 20),
    };
    Device {
        user,
        id,
        kind,
        agent: agent.to_string(),
        ip: format!("198.51.{}.{}", rng.u8(0..=255), rng.u8(1..=254)),
        base64: kind == "WindowsMail",
    }
}

impl Population {
    /// `users` users with one or two devices each.
    pub fn new(rng: &mut fastrand::Rng, users: u32) -> Self {
        let users: Vec<String> = (1..=users).map(|i| format!("user{i:04}")).collect();
        let mut devices = Vec::new();
        for u in 0..users.len() {
            let n = if rng.f64() < 0.3 { 2 } else { 1 };
            for _ in 0..n {
                devices.push(new_device(rng, u));
            }
        }
        Self { users, devices }
    }
}

/// Encodes an ActiveSync base64 query ([MS-ASHTTP] 2.2.1.1.1): protocol version (e.g. 141 for
/// 14.1), command code, locale 0x0409, DeviceId, no policy key, DeviceType.
pub fn encode_eas_base64(version: u8, command: u8, device_id: &[u8], device_type: &str) -> String {
    let mut b = vec![version, command, 0x09, 0x04, device_id.len() as u8];
    b.extend_from_slice(device_id);
    b.push(0);
    b.push(device_type.len() as u8);
    b.extend_from_slice(device_type.as_bytes());
    base64_encode(&b)
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn hex_bytes(id: &str) -> Vec<u8> {
    id.as_bytes()
        .chunks(2)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .unwrap_or(0)
        })
        .collect()
}

/// ActiveSync commands by weight, with their base64 command codes.
const COMMANDS: &[(f64, &str, u8)] = &[
    (0.40, "Ping", 18),
    (0.30, "Sync", 0),
    (0.05, "FolderSync", 9),
    (0.01, "Provision", 20),
    (0.03, "SendMail", 1),
    (0.01, "SmartReply", 3),
    (0.05, "GetItemEstimate", 14),
    (0.05, "ItemOperations", 19),
    (0.02, "Settings", 17),
    (0.08, "Options", 255),
];

/// Picks a command.
pub fn command(rng: &mut fastrand::Rng) -> (&'static str, u8) {
    let mut p = rng.f64();
    for &(w, name, code) in COMMANDS {
        if p < w {
            return (name, code);
        }
        p -= w;
    }
    ("Sync", 0)
}

/// An ActiveSync request of `dev` for command `cmd`, as it succeeds on a front end.
pub fn eas_request(
    rng: &mut fastrand::Rng,
    pop: &Population,
    dev: &Device,
    cmd: (&str, u8),
) -> Line {
    let user = &pop.users[dev.user];
    let (name, code) = cmd;
    let method = if name == "Options" { "OPTIONS" } else { "POST" };
    let query = if name == "Options" {
        format!("User={user}&DeviceId={}&DeviceType={}", dev.id, dev.kind)
    } else if dev.base64 {
        encode_eas_base64(141, code, &hex_bytes(&dev.id), dev.kind)
    } else {
        format!(
            "Cmd={name}&User={user}&DeviceId={}&DeviceType={}&CorrelationID=<empty>;&cafeReqId={};",
            dev.id,
            dev.kind,
            guid(rng)
        )
    };
    let taken = if name == "Ping" {
        rng.u64(240_000..900_000)
    } else {
        rng.u64(15..2_500)
    };
    Line {
        method: method.to_string(),
        stem: "/Microsoft-Server-ActiveSync/default.eas".to_string(),
        query,
        user: Some(format!("{user}@contoso.com")),
        c_ip: dev.ip.clone(),
        agent: dev.agent.clone(),
        referer: String::new(),
        status: (200, 0, 0),
        taken,
        host: "mail.contoso.com".to_string(),
        sc_bytes: rng.u64(200..60_000),
        cs_bytes: if name == "SendMail" {
            rng.u64(2_000..900_000)
        } else {
            rng.u64(100..4_000)
        },
    }
}

const OUTLOOK: &str = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)";
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

/// One moment of healthy traffic: a request, or a 401 challenge and the request that follows.
pub fn noise(rng: &mut fastrand::Rng, pop: &Population) -> Vec<Line> {
    let r = rng.f64();
    if r < 0.80 {
        let dev = &pop.devices[rng.usize(..pop.devices.len())];
        let cmd = command(rng);
        return vec![eas_request(rng, pop, dev, cmd)];
    }
    let user = pop.users[rng.usize(..pop.users.len())].clone();
    let ip = format!("203.0.113.{}", rng.u8(1..=254));
    let (method, stem, query, agent, referer, challenge) = if r < 0.86 {
        (
            "GET",
            "/owa/",
            String::new(),
            BROWSER,
            "https://mail.contoso.com/owa/",
            false,
        )
    } else if r < 0.91 {
        (
            "POST",
            "/EWS/Exchange.asmx",
            String::new(),
            OUTLOOK,
            "",
            true,
        )
    } else if r < 0.95 {
        let q = format!("MailboxId={}@contoso.com", guid(rng));
        ("POST", "/mapi/emsmdb/", q, OUTLOOK, "", true)
    } else if r < 0.98 {
        (
            "POST",
            "/Autodiscover/Autodiscover.xml",
            String::new(),
            OUTLOOK,
            "",
            true,
        )
    } else {
        let q =
            "Cmd=Options&User=HealthMailbox3f9a2b&DeviceId=AMProbe&DeviceType=AMProbe".to_string();
        (
            "OPTIONS",
            "/Microsoft-Server-ActiveSync/default.eas",
            q,
            "AMProbe/Local/ClientAccess",
            "",
            false,
        )
    };
    let probe = agent.starts_with("AMProbe");
    let ok = Line {
        method: method.to_string(),
        stem: stem.to_string(),
        query,
        user: Some(if probe {
            "HealthMailbox3f9a2b@contoso.com".to_string()
        } else {
            format!("CONTOSO\\{user}")
        }),
        c_ip: if probe { "127.0.0.1".to_string() } else { ip },
        agent: agent.to_string(),
        referer: referer.to_string(),
        status: (200, 0, 0),
        taken: rng.u64(1..800),
        host: "mail.contoso.com".to_string(),
        sc_bytes: rng.u64(200..200_000),
        cs_bytes: rng.u64(100..5_000),
    };
    if challenge && rng.f64() < 0.15 {
        let first = Line {
            user: None,
            status: (401, 2, 5),
            taken: rng.u64(0..5),
            sc_bytes: 1_293,
            ..ok.clone()
        };
        return vec![first, ok];
    }
    vec![ok]
}
