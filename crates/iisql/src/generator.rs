//! A deterministic generator of realistic Exchange IIS W3C logs: ActiveSync (plain and base64
//! queries), OWA, EWS, MAPI, Autodiscover and health probes, with the normal 401 challenges,
//! devices without a client certificate (403.7), oversized sends (413) and bad passwords,
//! IIS restarts that repeat the header block, and about one file in five widening its
//! `#Fields` mid-file (`cs-host sc-bytes cs-bytes X-Forwarded-For`). The same seed writes the
//! same bytes.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use iis_log::datetime::days_from_civil;

/// The default layout of Exchange 2013+ front ends (IIS 8.5+).
pub const BASE_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
     cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";
/// The fields a widened layout adds.
pub const WIDE_EXTRA: &str = "cs-host sc-bytes cs-bytes X-Forwarded-For";

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// First day (year, month, day).
    pub start: (i32, u32, u32),
    /// Number of days; one file per server per day.
    pub days: u32,
    /// Number of front-end servers (`CAS01`...).
    pub servers: u32,
    /// Approximate total bytes over all files.
    pub total_bytes: u64,
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
    /// Share of files that widen their `#Fields` mid-file.
    pub widen_share: f64,
    /// Number of mailbox users.
    pub users: u32,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            start: (2025, 11, 3),
            days: 2,
            servers: 2,
            total_bytes: 4 << 20,
            seed: 1,
            widen_share: 0.2,
            users: 250,
        }
    }
}

/// One file written.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Data lines written.
    pub rows: u64,
    /// Whether it widens its layout mid-file.
    pub widened: bool,
}

/// One mobile device of a user.
#[derive(Debug, Clone)]
struct Device {
    user: usize,
    id: String,
    kind: &'static str,
    agent: String,
    ip: String,
    has_cert: bool,
    base64: bool,
}

/// Users and devices, the same for every server and day.
struct Population {
    users: Vec<String>,
    devices: Vec<Device>,
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

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| {
            char::from_digit(rng.u32(0..16), 16)
                .unwrap_or('0')
                .to_ascii_uppercase()
        })
        .collect()
}

fn guid(rng: &mut fastrand::Rng) -> String {
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

impl Population {
    fn new(rng: &mut fastrand::Rng, users: u32) -> Self {
        let users: Vec<String> = (1..=users).map(|i| format!("user{i:04}")).collect();
        let mut devices = Vec::new();
        for (u, _) in users.iter().enumerate() {
            let n = if rng.f64() < 0.3 { 2 } else { 1 };
            for _ in 0..n {
                let (kind, agent) = DEVICE_KINDS[rng.usize(..DEVICE_KINDS.len())];
                let id = match kind {
                    "iPhone" | "iPad" => format!("Appl{}", hex(rng, 11)),
                    "Android" => format!("androidc{}", rng.u64(100_000_000..999_999_999)),
                    "Outlook" => hex(rng, 32),
                    _ => hex(rng, 20),
                };
                devices.push(Device {
                    user: u,
                    id,
                    kind,
                    agent: agent.to_string(),
                    ip: format!("198.51.{}.{}", rng.u8(0..=255), rng.u8(1..=254)),
                    has_cert: rng.f64() >= 0.03,
                    base64: kind == "WindowsMail",
                });
            }
        }
        Self { users, devices }
    }
}

/// ActiveSync command codes of [MS-ASHTTP] 2.2.1.1.1.2.
pub const EAS_COMMANDS: &[(u8, &str)] = &[
    (0, "Sync"),
    (1, "SendMail"),
    (2, "SmartForward"),
    (3, "SmartReply"),
    (4, "GetAttachment"),
    (9, "FolderSync"),
    (10, "FolderCreate"),
    (11, "FolderDelete"),
    (12, "FolderUpdate"),
    (13, "MoveItems"),
    (14, "GetItemEstimate"),
    (15, "MeetingResponse"),
    (16, "Search"),
    (17, "Settings"),
    (18, "Ping"),
    (19, "ItemOperations"),
    (20, "Provision"),
    (21, "ResolveRecipients"),
    (22, "ValidateCert"),
];

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

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One request line's values, written in the layout in force.
struct Line<'a> {
    method: &'a str,
    stem: &'a str,
    query: String,
    user: Option<String>,
    c_ip: String,
    agent: String,
    referer: &'a str,
    status: (u16, u16, u64),
    taken: u64,
    host: &'a str,
    sc_bytes: u64,
    cs_bytes: u64,
}

struct FileWriter<'a> {
    out: BufWriter<File>,
    rng: &'a mut fastrand::Rng,
    pop: &'a Population,
    server_ip: String,
    wide: bool,
    date: String,
    bytes: u64,
    rows: u64,
}

impl FileWriter<'_> {
    fn header(&mut self, secs: u32) -> std::io::Result<()> {
        let fields = if self.wide {
            format!("{BASE_FIELDS} {WIDE_EXTRA}")
        } else {
            BASE_FIELDS.to_string()
        };
        let text = format!(
            "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
             #Date: {} {}\r\n#Fields: {fields}\r\n",
            self.date,
            hms(secs)
        );
        self.bytes += text.len() as u64;
        self.out.write_all(text.as_bytes())
    }

    fn write(&mut self, secs: u32, l: &Line<'_>) -> std::io::Result<()> {
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.replace(' ', "+")
            }
        };
        let mut s = format!(
            "{} {} {} {} {} {} 443 {} {} {} {} {} {} {} {}",
            self.date,
            hms(secs),
            self.server_ip,
            l.method,
            l.stem,
            dash(&l.query),
            l.user.as_deref().map_or("-".to_string(), dash),
            if self.wide { "10.0.0.5" } else { &l.c_ip },
            dash(&l.agent),
            dash(l.referer),
            l.status.0,
            l.status.1,
            l.status.2,
            l.taken
        );
        if self.wide {
            s.push_str(&format!(
                " {} {} {} {}",
                l.host, l.sc_bytes, l.cs_bytes, l.c_ip
            ));
        }
        s.push_str("\r\n");
        self.bytes += s.len() as u64;
        self.rows += 1;
        self.out.write_all(s.as_bytes())
    }

    fn line(&mut self) -> Line<'static> {
        let rng = &mut *self.rng;
        let pop = self.pop;
        let r = rng.f64();
        let host = "mail.contoso.com";
        if r < 0.80 {
            let dev = &pop.devices[rng.usize(..pop.devices.len())];
            let user = &pop.users[dev.user];
            let pick = rng.f64();
            let (cmd, code) = match pick {
                p if p < 0.40 => ("Ping", 18),
                p if p < 0.70 => ("Sync", 0),
                p if p < 0.75 => ("FolderSync", 9),
                p if p < 0.76 => ("Provision", 20),
                p if p < 0.79 => ("SendMail", 1),
                p if p < 0.80 => ("SmartReply", 3),
                p if p < 0.85 => ("GetItemEstimate", 14),
                p if p < 0.90 => ("ItemOperations", 19),
                p if p < 0.92 => ("Settings", 17),
                _ => ("OPTIONS", 255),
            };
            let method = if cmd == "OPTIONS" { "OPTIONS" } else { "POST" };
            let query = if cmd == "OPTIONS" {
                format!("User={user}&DeviceId={}&DeviceType={}", dev.id, dev.kind)
            } else if dev.base64 {
                encode_eas_base64(141, code, &hex_bytes(&dev.id), dev.kind)
            } else {
                format!(
                    "Cmd={cmd}&User={user}&DeviceId={}&DeviceType={}&CorrelationID=<empty>;&cafeReqId={};",
                    dev.id,
                    dev.kind,
                    guid(rng)
                )
            };
            let cs_bytes = if cmd == "SendMail" {
                rng.u64(2_000..3_000_000)
            } else {
                rng.u64(100..4_000)
            };
            let (status, user_field, taken) = if !dev.has_cert {
                ((403, 7, 5), None, rng.u64(0..15))
            } else if cmd == "SendMail" && cs_bytes > 2_900_000 {
                ((413, 0, 0), None, rng.u64(0..20))
            } else if rng.f64() < 0.002 {
                ((401, 1, 1326), None, rng.u64(5..40))
            } else {
                let t = if cmd == "Ping" {
                    rng.u64(240_000..900_000)
                } else {
                    rng.u64(15..2_500)
                };
                ((200, 0, 0), Some(format!("{user}@contoso.com")), t)
            };
            return Line {
                method: leak(method),
                stem: "/Microsoft-Server-ActiveSync/default.eas",
                query,
                user: user_field,
                c_ip: dev.ip.clone(),
                agent: dev.agent.clone(),
                referer: "",
                status,
                taken,
                host,
                sc_bytes: rng.u64(200..60_000),
                cs_bytes,
            };
        }
        let user = pop.users[rng.usize(..pop.users.len())].clone();
        let ip = format!("203.0.113.{}", rng.u8(1..=254));
        let (method, stem, query, agent, referer, challenge): (
            &str,
            &str,
            String,
            &str,
            &str,
            bool,
        ) = if r < 0.86 {
            (
                "GET",
                "/owa/",
                String::new(),
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
                "https://mail.contoso.com/owa/",
                false,
            )
        } else if r < 0.91 {
            (
                "POST",
                "/EWS/Exchange.asmx",
                String::new(),
                "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
                "",
                true,
            )
        } else if r < 0.95 {
            (
                "POST",
                "/mapi/emsmdb/",
                format!("MailboxId={}@contoso.com", guid(rng)),
                "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
                "",
                true,
            )
        } else if r < 0.98 {
            (
                "POST",
                "/Autodiscover/Autodiscover.xml",
                String::new(),
                "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
                "",
                true,
            )
        } else {
            (
                "GET",
                "/Microsoft-Server-ActiveSync/default.eas",
                String::new(),
                "AMProbe/Local/ClientAccess",
                "",
                false,
            )
        };
        let probe = agent.starts_with("AMProbe");
        let (status, user_field) = if challenge && rng.f64() < 0.15 {
            ((401, 2, 5), None)
        } else if probe {
            (
                (200, 0, 0),
                Some("HealthMailbox3f9a2b@contoso.com".to_string()),
            )
        } else {
            ((200, 0, 0), Some(format!("CONTOSO\\{user}")))
        };
        Line {
            method: leak(method),
            stem: leak(stem),
            query,
            user: user_field,
            c_ip: if probe { "127.0.0.1".to_string() } else { ip },
            agent: agent.to_string(),
            referer: leak(referer),
            status,
            taken: rng.u64(1..800),
            host,
            sc_bytes: rng.u64(200..200_000),
            cs_bytes: rng.u64(100..5_000),
        }
    }
}

/// Static strings chosen from fixed tables (no allocation is leaked: these are literals).
fn leak(s: &str) -> &'static str {
    const STATIC: &[&str] = &[
        "GET",
        "POST",
        "OPTIONS",
        "/owa/",
        "/EWS/Exchange.asmx",
        "/mapi/emsmdb/",
        "/Autodiscover/Autodiscover.xml",
        "/Microsoft-Server-ActiveSync/default.eas",
        "",
        "https://mail.contoso.com/owa/",
    ];
    STATIC.iter().copied().find(|x| *x == s).unwrap_or("")
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

fn hms(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Writes the logs below `out`: `<out>/CASnn/W3SVC1/u_exYYMMDD.log`.
pub fn generate(cfg: &GeneratorConfig, out: &Path) -> std::io::Result<Vec<GeneratedFile>> {
    let mut rng = fastrand::Rng::with_seed(cfg.seed);
    let pop = Population::new(&mut rng, cfg.users.max(1));
    let files = (cfg.days.max(1) * cfg.servers.max(1)) as u64;
    let per_file = (cfg.total_bytes / files).max(1);
    let first = days_from_civil(cfg.start.0, cfg.start.1, cfg.start.2);
    let mut written = Vec::new();
    for day in 0..cfg.days.max(1) {
        let (y, m, d) = civil_from_days(first + day as i32);
        for s in 0..cfg.servers.max(1) {
            let server = format!("CAS{:02}", s + 1);
            let dir = out.join(&server).join("W3SVC1");
            fs::create_dir_all(&dir)?;
            let path = dir.join(format!("u_ex{:02}{m:02}{d:02}.log", y % 100));
            let widen = rng.f64() < cfg.widen_share;
            let widen_at = rng.u32(20_000..60_000);
            let restarts: Vec<u32> = (0..rng.usize(0..3)).map(|_| rng.u32(1..86_000)).collect();
            let mut w = FileWriter {
                out: BufWriter::new(File::create(&path)?),
                rng: &mut rng,
                pop: &pop,
                server_ip: format!("10.0.1.{}", 10 + s),
                wide: false,
                date: format!("{y:04}-{m:02}-{d:02}"),
                bytes: 0,
                rows: 0,
            };
            w.header(0)?;
            // Estimated lines from the mean line length (~250 bytes); time advances evenly.
            let lines = (per_file / 250).max(1);
            let step = 86_400.0 / lines as f64;
            let mut t = 0.0f64;
            let mut done_widen = false;
            let mut pending_restarts = restarts.clone();
            while w.bytes < per_file {
                let secs = (t as u32).min(86_399);
                if widen && !done_widen && secs >= widen_at {
                    w.wide = true;
                    done_widen = true;
                    w.header(secs)?;
                }
                if let Some(i) = pending_restarts.iter().position(|&r| r <= secs) {
                    pending_restarts.remove(i);
                    w.header(secs)?;
                }
                let l = w.line();
                w.write(secs, &l)?;
                t += step * (0.5 + w.rng.f64());
            }
            w.out.flush()?;
            written.push(GeneratedFile {
                path,
                bytes: w.bytes,
                rows: w.rows,
                widened: done_widen,
            });
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_encodes() {
        // [MS-ASHTTP]: Cmd=Sync, DeviceId v140Device, DeviceType SmartPhone, protocol 14.0.
        assert_eq!(
            encode_eas_base64(140, 0, b"v140Device", "SmartPhone"),
            "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l"
        );
    }

    #[test]
    fn civil_round_trip() {
        for d in [-1000, 0, 19_782, 20_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn deterministic() {
        let a = tempfile_dir("a");
        let b = tempfile_dir("b");
        let cfg = GeneratorConfig {
            total_bytes: 200_000,
            ..Default::default()
        };
        let fa = generate(&cfg, &a).unwrap();
        let fb = generate(&cfg, &b).unwrap();
        assert_eq!(fa.len(), 4);
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(fs::read(&x.path).unwrap(), fs::read(&y.path).unwrap());
        }
        let _ = fs::remove_dir_all(a);
        let _ = fs::remove_dir_all(b);
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("iisql-gen-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }
}
