//! # iisql-generator
//!
//! A deterministic generator of realistic Exchange IIS W3C logs for samples, tests and
//! benchmarks. The baseline is a healthy certificate-based-authentication deployment:
//! ActiveSync devices (plain and base64 queries) that succeed, OWA, EWS, MAPI and Autodiscover
//! with their normal 401 challenge followed by success, and Managed Availability probes; IIS
//! restarts repeat the header block and about one front-end file in five widens its `#Fields`
//! mid-file ([`WIDE_FIELDS`]). [`Scenario`]s inject the failures
//! of `../shared/design/activesync.md` section 4, and report what they injected
//! ([`Injected`]) so tests know the right answer. The same configuration writes the same bytes.

mod scenarios;
mod traffic;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use iis_log::datetime::days_from_civil;

pub use scenarios::{Change, Injected, Override, Scenario};

pub use traffic::encode_eas_base64;
use traffic::{Line, Population};

/// The default layout of Exchange 2013+ servers (IIS 8.5+).
pub const BASE_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
     cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";
/// The layout of Exchange 2010 servers (IIS 7.x): no `cs(Referer)`.
pub const LEGACY_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
     cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken";
/// A widened layout, in the order IIS writes fields: `cs-host` before `sc-status`, the byte
/// counts before `time-taken`, custom fields last. Readers that map by position alone read the
/// lines after the change from the wrong columns.
pub const WIDE_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
     cs-username c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status \
     sc-bytes cs-bytes time-taken X-Forwarded-For";

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// First day (year, month, day).
    pub start: (i32, u32, u32),
    /// Number of days; one file per server per day.
    pub days: u32,
    /// Number of front-end servers (`CAS01`...).
    pub servers: u32,
    /// Approximate bytes of baseline traffic over all files.
    pub total_bytes: u64,
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
    /// Share of front-end files that widen their `#Fields` mid-file (0.2: the third of every
    /// five).
    pub widen_share: f64,
    /// Whether the back ends log too: every ActiveSync request a front end passes on appears
    /// again on a back end (`MBXnn/W3SVC2`, port 444, `/Proxy/default.eas`, with `Log=`), as
    /// on Exchange 2013 and later.
    pub backend: bool,
    /// Number of mailbox users.
    pub users: u32,
    /// Failures to inject.
    pub scenarios: Vec<Scenario>,
}

impl GeneratorConfig {
    /// The bundled sample (`iisql generate --size 4MB --seed 1 --scenarios sample`): two front
    /// ends over two days, 4 MB of healthy traffic, and
    /// [`Scenario::sample_set`] injected.
    pub fn sample() -> Self {
        Self {
            scenarios: Scenario::sample_set(),
            // `iisql generate --size 4MB`.
            total_bytes: 4_000_000,
            ..Default::default()
        }
    }
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
            backend: true,
            users: 250,
            scenarios: Vec::new(),
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

/// What a run wrote and injected.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The files.
    pub files: Vec<GeneratedFile>,
    /// What each scenario injected.
    pub injected: Vec<Injected>,
    /// The answer key: per check, the requests written that it must count
    /// ([`traffic::Line::label`]), after every scenario and override.
    pub truth: BTreeMap<&'static str, Truth>,
}

/// What one check must find in the generated logs: the labelled requests written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Truth {
    /// Requests (each once: a request passed on to a back end counts on its front end).
    pub requests: u64,
    /// Their devices (DeviceIds).
    pub devices: BTreeSet<String>,
    /// The addresses of the servers that logged them.
    pub servers: BTreeSet<String>,
}

impl Truth {
    fn record(&mut self, host: Host, l: &Line) {
        self.requests += 1;
        if !l.device.is_empty() {
            self.devices.insert(l.device.clone());
        }
        self.servers.insert(host.ip());
    }
}

/// Which server a line is logged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// Front end `CASnn` (index from 0): Default Web Site, port 443.
    Front(u32),
    /// Back end `MBXnn`: Exchange Back End, port 444.
    Back(u32),
    /// An Exchange 2010 CAS in coexistence.
    Legacy,
}

impl Host {
    /// Server name.
    pub fn name(self) -> String {
        match self {
            Host::Front(i) => format!("CAS{:02}", i + 1),
            Host::Back(i) => format!("MBX{:02}", i + 1),
            Host::Legacy => "CAS2010".to_string(),
        }
    }

    /// Server IP address.
    pub fn ip(self) -> String {
        match self {
            Host::Front(i) => format!("10.0.1.{}", 10 + i),
            Host::Back(i) => format!("10.0.2.{}", 10 + i),
            Host::Legacy => "10.0.3.10".to_string(),
        }
    }

    fn site(self) -> &'static str {
        match self {
            Host::Back(_) => "W3SVC2",
            _ => "W3SVC1",
        }
    }
}

/// A line placed in time: day index, second of the day, server.
#[derive(Debug, Clone)]
pub struct Event {
    /// Day index from the first day.
    pub day: u32,
    /// Second of the day.
    pub secs: u32,
    /// The server that logs it.
    pub host: Host,
    /// The request.
    pub line: Line,
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

fn hms(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

struct FileWriter {
    out: BufWriter<File>,
    host: Host,
    wide: bool,
    date: String,
    bytes: u64,
    rows: u64,
    /// Whether this server writes ActiveSync's `Log=` (back ends, or every server when there
    /// are no back ends).
    logs_eas: bool,
}

impl FileWriter {
    fn header(&mut self, secs: u32) -> std::io::Result<()> {
        let fields = match (self.host, self.wide) {
            (Host::Legacy, _) => LEGACY_FIELDS.to_string(),
            (_, true) => WIDE_FIELDS.to_string(),
            _ => BASE_FIELDS.to_string(),
        };
        let software = if self.host == Host::Legacy {
            "7.5"
        } else {
            "10.0"
        };
        let text = format!(
            "#Software: Microsoft Internet Information Services {software}\r\n#Version: 1.0\r\n\
             #Date: {} {}\r\n#Fields: {fields}\r\n",
            self.date,
            hms(secs)
        );
        self.bytes += text.len() as u64;
        self.out.write_all(text.as_bytes())
    }

    fn write(&mut self, secs: u32, l: &Line) -> std::io::Result<()> {
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.replace(' ', "+")
            }
        };
        let port = match self.host {
            Host::Back(_) => 444,
            _ => 443,
        };
        // Back ends append the request's `Log=` (plain queries; where a back end would put it
        // after a base64 query is not documented).
        let query = if self.logs_eas && !l.log.is_empty() && l.query.contains('=') {
            format!("{}&Log={}", l.query, l.log)
        } else {
            l.query.clone()
        };
        let mut s = format!(
            "{} {} {} {} {} {} {port} {} {} {}",
            self.date,
            hms(secs),
            self.host.ip(),
            l.method,
            l.stem,
            dash(&query),
            l.user.as_deref().map_or("-".to_string(), dash),
            if self.wide { "10.0.0.5" } else { &l.c_ip },
            dash(&l.agent),
        );
        if self.host != Host::Legacy {
            s.push(' ');
            s.push_str(&dash(&l.referer));
        }
        if self.wide {
            s.push_str(&format!(
                " {} {} {} {} {} {} {} {}",
                l.host, l.status.0, l.status.1, l.status.2, l.sc_bytes, l.cs_bytes, l.taken, l.c_ip
            ));
        } else {
            s.push_str(&format!(
                " {} {} {} {}",
                l.status.0, l.status.1, l.status.2, l.taken
            ));
        }
        s.push_str("\r\n");
        self.bytes += s.len() as u64;
        self.rows += 1;
        self.out.write_all(s.as_bytes())
    }
}

/// The line a back end logs for a request front end `fe` passed on to it: the ActiveSync
/// requests that got past the front end's authentication (not its 401/403.x/413 refusals, not
/// the probes, which the front end answers itself).
fn backend_line(rng: &mut fastrand::Rng, fe: Host, l: &Line) -> Option<Line> {
    let eas = l
        .stem
        .to_ascii_lowercase()
        .starts_with("/microsoft-server-activesync");
    let probe = l.agent.to_ascii_lowercase().starts_with("amprobe") || l.c_ip == "127.0.0.1";
    let passed = matches!(l.status.0, 200..=299 | 449 | 500..=599) || !l.log.is_empty();
    if !eas || probe || !passed {
        return None;
    }
    let command = l
        .query
        .split('&')
        .find_map(|p| p.strip_prefix("Cmd="))
        .unwrap_or("Options")
        .to_string();
    // The front end's own parameters stay behind.
    let query: Vec<&str> = l
        .query
        .split('&')
        .filter(|p| !p.starts_with("CorrelationID=") && !p.starts_with("cafeReqId="))
        .collect();
    let log = if l.log.is_empty() {
        traffic::backend_log(rng, &command, l.status.0)
    } else {
        l.log.clone()
    };
    Some(Line {
        stem: "/Microsoft-Server-ActiveSync/Proxy/default.eas".into(),
        query: query.join("&"),
        c_ip: fe.ip(),
        taken: l.taken.saturating_sub(rng.u64(1..10)),
        log,
        // The request counts once, on its front end.
        label: None,
        ..l.clone()
    })
}

/// Writes the logs below `out`: `<out>/CASnn/W3SVC1/u_exYYMMDD.log` for front ends,
/// `<out>/MBXnn/W3SVC2/...` for back ends and `<out>/CAS2010/W3SVC1/...` for a legacy CAS
/// (these two only when a scenario logs there).
pub fn generate(cfg: &GeneratorConfig, out: &Path) -> std::io::Result<Generated> {
    let mut rng = fastrand::Rng::with_seed(cfg.seed);
    let pop = Population::new(&mut rng, cfg.users.max(1));
    let servers = cfg.servers.max(1);
    let days = cfg.days.max(1);
    // Scenario events, by (day, host), in time order.
    let mut events: BTreeMap<(u32, Host), Vec<Event>> = BTreeMap::new();
    let mut injected = Vec::new();
    let mut overrides = Vec::new();
    for (i, s) in cfg.scenarios.iter().enumerate() {
        let mut srng = fastrand::Rng::with_seed(
            cfg.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1)),
        );
        let (evs, inj, ov) = s.events(&mut srng, &pop, days, servers);
        for e in evs {
            events.entry((e.day, e.host)).or_default().push(e);
        }
        injected.push(inj);
        overrides.extend(ov.into_iter().map(|o| (i, o)));
    }
    for v in events.values_mut() {
        v.sort_by_key(|e| e.secs);
    }
    // The devices each server has served so far (a mapping regression counts theirs), and the
    // devices each override changed.
    let mut served: HashSet<(Host, String)> = HashSet::new();
    let mut changed: Vec<BTreeSet<String>> = vec![BTreeSet::new(); injected.len()];
    let mut truth: BTreeMap<&'static str, Truth> = BTreeMap::new();
    // With back ends, about half of the bytes are theirs (their lines carry Log=).
    let share = if cfg.backend { 0.5 } else { 1.0 };
    let per_file =
        ((cfg.total_bytes as f64 * share) as u64 / (days as u64 * servers as u64)).max(1);
    let first = days_from_civil(cfg.start.0, cfg.start.1, cfg.start.2);
    let mut written = Vec::new();
    let mut front_files = 0u64;
    let mut hosts: Vec<Host> = (0..servers).map(Host::Front).collect();
    if cfg.backend {
        hosts.extend((0..servers).map(Host::Back));
    }
    for (_, h) in events.keys() {
        if !hosts.contains(h) {
            hosts.push(*h);
        }
    }
    for day in 0..days {
        let (y, m, d) = civil_from_days(first + day as i32);
        for &host in &hosts {
            let noise = matches!(host, Host::Front(_));
            let mut evs = events.remove(&(day, host)).unwrap_or_default();
            // Back-end lines were added as the front ends were written: put them in time order.
            evs.sort_by_key(|e| e.secs);
            let mut evs = evs.into_iter().peekable();
            let mut passed_on: Vec<Event> = Vec::new();
            let mut pass_on = |rng: &mut fastrand::Rng, secs: u32, l: &Line| {
                if let (true, Host::Front(i)) = (cfg.backend, host)
                    && let Some(b) = backend_line(rng, host, l)
                {
                    passed_on.push(Event {
                        day,
                        secs,
                        host: Host::Back(i),
                        line: b,
                    });
                }
            };
            if !noise && evs.peek().is_none() {
                continue;
            }
            let dir = out.join(host.name()).join(host.site());
            fs::create_dir_all(&dir)?;
            let path = dir.join(format!("u_ex{:02}{m:02}{d:02}.log", y % 100));
            // Exactly one front-end file in 1/widen_share widens (the middle one of each run).
            let period = if cfg.widen_share > 0.0 {
                (1.0 / cfg.widen_share).round().max(1.0) as u64
            } else {
                0
            };
            let widen = noise && period > 0 && front_files % period == period / 2;
            if noise {
                front_files += 1;
            }
            let widen_at = rng.u32(20_000..60_000);
            let mut restarts: Vec<u32> = if noise {
                (0..rng.usize(0..3)).map(|_| rng.u32(1..86_000)).collect()
            } else {
                vec![]
            };
            let mut w = FileWriter {
                out: BufWriter::new(File::create(&path)?),
                host,
                wide: false,
                date: format!("{y:04}-{m:02}-{d:02}"),
                bytes: 0,
                rows: 0,
                logs_eas: matches!(host, Host::Back(_)) || !cfg.backend,
            };
            w.header(0)?;
            if noise {
                let lines = (per_file / 250).max(1);
                let step = 86_400.0 / lines as f64;
                let mut t = 0.0f64;
                let mut noise_bytes = 0;
                while noise_bytes < per_file {
                    let secs = (t as u32).min(86_399);
                    while let Some(mut e) = evs.next_if(|e| e.secs <= secs) {
                        for (i, ov) in &overrides {
                            if ov.apply(day, e.secs, host, true, &mut e.line)
                                && e.line.label.is_some()
                            {
                                injected[*i].requests += 1;
                                changed[*i].insert(e.line.device.clone());
                            }
                        }
                        w.write(e.secs, &e.line)?;
                        note_written(&mut served, &mut truth, host, &e.line);
                        pass_on(&mut rng, e.secs, &e.line);
                    }
                    if widen && !w.wide && secs >= widen_at {
                        w.wide = true;
                        w.header(secs)?;
                    }
                    if let Some(i) = restarts.iter().position(|&r| r <= secs) {
                        restarts.remove(i);
                        w.header(secs)?;
                    }
                    let before = w.bytes;
                    for mut l in traffic::noise(&mut rng, &pop) {
                        for (i, ov) in &overrides {
                            if !ov.apply(day, secs, host, false, &mut l) {
                                continue;
                            }
                            if ov.change() == Change::MappingOff
                                && !served.contains(&(host, served_key(&l)))
                            {
                                // A device that never succeeded here did not regress.
                                l.label = None;
                            }
                            if l.label.is_some() {
                                injected[*i].requests += 1;
                                changed[*i].insert(l.device.clone());
                            }
                        }
                        w.write(secs, &l)?;
                        note_written(&mut served, &mut truth, host, &l);
                        pass_on(&mut rng, secs, &l);
                    }
                    noise_bytes += w.bytes - before;
                    t += step * (0.5 + rng.f64());
                }
            }
            for mut e in evs {
                for (i, ov) in &overrides {
                    if ov.apply(day, e.secs, host, true, &mut e.line) && e.line.label.is_some() {
                        injected[*i].requests += 1;
                        changed[*i].insert(e.line.device.clone());
                    }
                }
                w.write(e.secs, &e.line)?;
                note_written(&mut served, &mut truth, host, &e.line);
                pass_on(&mut rng, e.secs, &e.line);
            }
            w.out.flush()?;
            for e in passed_on {
                events.entry((day, e.host)).or_default().push(e);
            }
            written.push(GeneratedFile {
                path,
                bytes: w.bytes,
                rows: w.rows,
                widened: w.wide,
            });
        }
    }
    for (inj, devices) in injected.iter_mut().zip(changed) {
        if !devices.is_empty() {
            inj.devices = devices.into_iter().collect();
        }
    }
    Ok(Generated {
        files: written,
        injected,
        truth,
    })
}

/// Records a line `host` wrote: in the answer key if labelled, and that `host` served its
/// device if it is a device's success.
fn note_written(
    served: &mut HashSet<(Host, String)>,
    truth: &mut BTreeMap<&'static str, Truth>,
    host: Host,
    l: &Line,
) {
    if let Some(check) = l.label {
        truth.entry(check).or_default().record(host, l);
    }
    if (200..300).contains(&l.status.0) && !l.agent.starts_with("AMProbe") {
        served.insert((host, served_key(l)));
    }
}

/// The device a request is known by, as the `activesync` view's `device_key` knows it: its
/// DeviceId, or for a request without one, its address and user agent.
fn served_key(l: &Line) -> String {
    if l.device.is_empty() {
        format!("{} {}", l.c_ip, l.agent)
    } else {
        l.device.clone()
    }
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
        let base = std::env::temp_dir().join(format!("iisql-gen-{}", std::process::id()));
        let cfg = GeneratorConfig {
            total_bytes: 200_000,
            scenarios: vec![Scenario::CertMissing { devices: 2 }],
            ..Default::default()
        };
        let a = generate(&cfg, &base.join("a")).unwrap();
        let b = generate(&cfg, &base.join("b")).unwrap();
        // Two days of two front ends and their two back ends.
        assert_eq!(a.files.len(), 8);
        for (x, y) in a.files.iter().zip(&b.files) {
            assert_eq!(fs::read(&x.path).unwrap(), fs::read(&y.path).unwrap());
        }
        assert_eq!(a.injected[0].devices.len(), 2);
        let _ = fs::remove_dir_all(base);
    }
}
