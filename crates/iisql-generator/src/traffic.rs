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
    /// What the back end appends as `&Log=` when it logs this request (empty: made up there).
    pub log: String,
    /// The ActiveSync device that sent it (empty for other clients); not written, it lets
    /// the generator count what an incident did to each device.
    pub device: String,
    /// The check that must count this request (set on what an incident injected or
    /// changed); not written: it is the generator's answer key ([`super::Truth`]).
    pub label: Option<&'static str>,
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
        // A quarter of the devices reach the servers through a mobile carrier's NAT: a few
        // addresses shared by dozens of devices each.
        ip: if rng.f64() < 0.25 {
            format!("100.64.0.{}", rng.u8(1..=6))
        } else {
            format!("198.51.{}.{}", rng.u8(0..=255), rng.u8(1..=254))
        },
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
    // Some clients and proxies send the path in lower case; IIS logs it as received.
    let stem = if rng.f64() < 0.1 {
        "/microsoft-server-activesync/default.eas"
    } else {
        "/Microsoft-Server-ActiveSync/default.eas"
    };
    Line {
        method: method.to_string(),
        stem: stem.to_string(),
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
        log: String::new(),
        device: dev.id.clone(),
        label: None,
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
        let mut l = eas_request(rng, pop, dev, cmd);
        if cmd.0 == "Options" && rng.f64() < 0.3 {
            // Some devices ask for the options with no query at all: nothing in the log says
            // which device asked.
            l.query.clear();
            l.device.clear();
        }
        if cmd.0 == "SendMail" && rng.f64() < 0.01 {
            // A one-off server error on a small message among the device's successes: neither
            // a size limit nor a device problem.
            l.status = (500, 0, 0);
            l.log = format!("V161_Sz:{}_S1_Error:ServerError_", l.cs_bytes.min(90_000));
            l.cs_bytes = l.cs_bytes.min(90_000);
        }
        if rng.f64() < 0.004 {
            // A device whose policy changed: 449 (provision first), Provision, then on.
            let mut first = eas_request(rng, pop, dev, ("Sync", 0));
            first.status = (449, 0, 0);
            first.taken = rng.u64(5..60);
            let provision = eas_request(rng, pop, dev, ("Provision", 20));
            return vec![first, provision, l];
        }
        return vec![l];
    }
    if r < 0.83 {
        return probe(rng);
    }
    let user = pop.users[rng.usize(..pop.users.len())].clone();
    let ip = format!("203.0.113.{}", rng.u8(1..=254));
    let (method, stem, query, agent, referer, challenge) = if r < 0.87 {
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
    } else {
        (
            "POST",
            "/Autodiscover/Autodiscover.xml",
            String::new(),
            OUTLOOK,
            "",
            true,
        )
    };
    let ok = Line {
        method: method.to_string(),
        stem: stem.to_string(),
        query,
        user: Some(format!("CONTOSO\\{user}")),
        c_ip: ip,
        agent: agent.to_string(),
        referer: referer.to_string(),
        status: (200, 0, 0),
        taken: rng.u64(1..800),
        host: "mail.contoso.com".to_string(),
        sc_bytes: rng.u64(200..200_000),
        cs_bytes: rng.u64(100..5_000),
        log: String::new(),
        device: String::new(),
        label: None,
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

/// Exchange's own monitoring: Managed Availability probes (`AMProbe`, HealthMailbox users) and
/// Test-ActiveSyncConnectivity (`extest_` users), from the server itself. On a front end that
/// requires client certificates the probes have none: 403.7, or the anonymous challenge first.
fn probe(rng: &mut fastrand::Rng) -> Vec<Line> {
    let (agent, user) = match rng.u32(0..4) {
        0 => (
            "AMProbe/Local/ClientAccess",
            "HealthMailbox3f9a2b@contoso.com",
        ),
        1 => ("AMProbe/Local/ClientAccess", "CONTOSO\\HealthMailbox3f9a2b"),
        2 => (
            "AMPROBE/Local/ActiveSyncCTP",
            "HealthMailboxc1d2e3@contoso.com",
        ),
        _ => (
            "TestActiveSyncConnectivity",
            "CONTOSO\\extest_5f2a9c1b8e334",
        ),
    };
    let account = user.rsplit('\\').next().unwrap_or(user);
    let account = account.split('@').next().unwrap_or(account);
    let ok = Line {
        method: "OPTIONS".into(),
        stem: "/Microsoft-Server-ActiveSync/default.eas".into(),
        query: format!("Cmd=Options&User={account}&DeviceId=AMProbe&DeviceType=AMProbe"),
        user: Some(user.to_string()),
        c_ip: "127.0.0.1".into(),
        agent: agent.into(),
        status: (200, 0, 0),
        taken: rng.u64(1..300),
        host: "localhost".into(),
        sc_bytes: rng.u64(200..600),
        cs_bytes: rng.u64(100..400),
        ..Default::default()
    };
    match rng.u32(0..3) {
        0 => vec![Line {
            user: None,
            status: (403, 7, 5),
            ..ok
        }],
        1 => vec![
            Line {
                user: None,
                status: (401, 2, 5),
                ..ok.clone()
            },
            ok,
        ],
        _ => vec![ok],
    }
}

/// The `Log=` string an Exchange 2016 back end appends to an ActiveSync request it served
/// (`activesync.md` 1.4): protocol version, host, folder and sync items, status, mailbox server.
pub fn backend_log(rng: &mut fastrand::Rng, command: &str, status: u16) -> String {
    let mut log = String::from("V161_Ver1:161_HH:mail.contoso.com_");
    match command {
        "Sync" => log.push_str(&format!(
            "Fc1_Fid:{}_Ty:Em_Filt2_St:S_Sk{}_Sks{}_Srv:{}a0c0d0s0e0r0A0sd_Cli:0a0c0d0f0e0s0fs_",
            rng.u32(1..9),
            rng.u32(1..999_999),
            rng.u32(1..999_999),
            rng.u32(0..4)
        )),
        "Ping" => log.push_str(&format!("Hb:{}_", [480, 900, 1680][rng.usize(..3)])),
        "Provision" => log.push_str("Pk3761849382_Pa1_"),
        _ => {}
    }
    if status == 449 {
        log.push_str("Error:DeviceNotProvisioned_As:AllowedG_");
    } else if command == "Ping" && rng.f64() < 0.02 {
        // Routine: two Pings of one device overlapped.
        log.push_str("S8_Error:PingCollisionDetected_");
    } else {
        log.push_str("S1_");
    }
    log.push_str(&format!(
        "Mbx:MBX0{}.contoso.com_Dc:DC01.contoso.com_Throttle0_Fet{}_",
        rng.u32(1..3),
        rng.u32(5..900)
    ));
    log
}
