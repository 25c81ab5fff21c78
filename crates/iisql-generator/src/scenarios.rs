//! Failures injected into the healthy baseline, one per signature of the domain reference
//! (`activesync.md` section 4), each reporting exactly what it injected.

use std::collections::BTreeSet;

use super::traffic::{Device, Line, Population, command, eas_request, new_device};
use super::{Event, Host};

/// A failure to inject.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// New devices without a client certificate: 403.7, never a success.
    CertMissing {
        /// How many devices.
        devices: u32,
    },
    /// New devices whose certificate chain is not trusted: 403.16.
    CertUntrusted {
        /// How many devices.
        devices: u32,
    },
    /// New devices with an expired certificate: 403.17.
    CertExpired {
        /// How many devices.
        devices: u32,
    },
    /// New devices with a revoked certificate: 403.13.
    CertRevoked {
        /// How many devices.
        devices: u32,
    },
    /// The CRL/OCSP server is unreachable from the last front end for 40 minutes (14:00 on the
    /// first day): working devices get 403.13 with CRYPT_E_REVOCATION_OFFLINE there.
    RevocationOutage {
        /// How many devices are hit.
        devices: u32,
    },
    /// New devices whose certificate maps to no account: anonymous 401.2 or 403.12, never a
    /// success. A certificate-required server (403.7 seen there) is where this shows.
    MappingFailed {
        /// How many devices.
        devices: u32,
    },
    /// Devices without a certificate (403.7 on every front end) while front end `server`
    /// accepts instead of requiring certificates, on every day or on `day` only: there they
    /// get anonymous 401s and no 403.7 is logged.
    AcceptNotRequire {
        /// How many devices.
        devices: u32,
        /// Front-end index.
        server: u32,
        /// The one day it accepts; `None`: every day.
        day: Option<u32>,
    },
    /// Certificates required on the whole site: Outlook desktop gets 403.7 on EWS, MAPI and
    /// Autodiscover.
    ScopeTooWide {
        /// How many requests.
        requests: u32,
    },
    /// The back end (port 444, `/Proxy/default.eas`) requires certificates: 403.7 from the
    /// front ends' IPs.
    BackendRequiresCert {
        /// How many requests.
        requests: u32,
    },
    /// A legacy (2010) CAS still requires certificates or lacks Windows auth on `/Proxy`:
    /// 403.7 and anonymous 401 from the new front ends.
    LegacyProxy {
        /// How many requests.
        requests: u32,
    },
    /// Basic authentication still enabled on the ActiveSync vdir: bad passwords (401.1 1326)
    /// and successful password logons.
    PasswordAuth {
        /// How many users.
        users: u32,
    },
    /// A forgotten device with an old password locks its user's account: repeated 401.1 1326,
    /// then 401.1 1909 on all the user's devices.
    Lockout,
    /// An MDM gateway that cannot delegate with Kerberos: 401.1 SEC_E_NO_CREDENTIALS for its
    /// users, never a success.
    KcdFailures {
        /// How many users behind the gateway.
        users: u32,
    },
    /// The gateway terminates certificates and Exchange still requires them: 403.7 from it.
    DoubleTermination {
        /// How many users behind the gateway.
        users: u32,
    },
    /// Large sends refused with 413 (client certificate renegotiation, uploadReadAheadSize).
    LargeSend {
        /// How many requests.
        requests: u32,
    },
    /// ActiveSync application errors in `Log=`: blocked or unprovisioned devices.
    AppErrors {
        /// How many devices.
        devices: u32,
    },
    /// `Set-ActiveSyncVirtualDirectory` undid the mapping on front end `server` at `hour` of
    /// `day` for `hours` hours: every successful ActiveSync request there becomes an anonymous
    /// 401, and the devices that had succeeded there stay refused until it is fixed.
    MappingUndone {
        /// Front-end index.
        server: u32,
        /// Day of the change (from 0).
        day: u32,
        /// Hour of the change.
        hour: u32,
        /// How long until it is fixed.
        hours: u32,
    },
    /// Front end `server`'s trust store loses the devices' root CA for `hours` hours from
    /// 13:00 of the first day: every certificate is refused there with 403.16
    /// CERT_E_UNTRUSTEDROOT while the other servers accept them.
    TrustOutage {
        /// Front-end index.
        server: u32,
        /// How long.
        hours: u32,
    },
    /// Working devices that get anonymous 401s on front end 1 while front end 0 serves them.
    ServerInconsistency {
        /// How many devices.
        devices: u32,
    },
}

/// What a scenario injected: the check that must find it and the right answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Injected {
    /// The saved query that finds it.
    pub check: &'static str,
    /// DeviceIds involved.
    pub devices: Vec<String>,
    /// Users involved (normalised).
    pub users: Vec<String>,
    /// Servers involved (names or IPs as the check reports them).
    pub servers: Vec<String>,
    /// Requests injected that the check counts.
    pub requests: u64,
}

/// What an [`Override`] does to the baseline's ActiveSync successes in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Certificate mapping off: an anonymous 401.2, counted only for devices that had
    /// succeeded on the same server before (a regression is theirs).
    MappingOff,
    /// The server refuses every certificate with this (status, substatus, win32 status).
    Refuse(u16, u16, u64),
    /// The server accepts instead of requiring certificates: its 403.7 to devices without
    /// one become anonymous 401s (applied to injected lines too).
    Accept,
}

/// A change to the baseline's successful ActiveSync requests on one server for a while (used
/// by [`Scenario::MappingUndone`] and [`Scenario::TrustOutage`]). The generator counts what it
/// changed into its scenario's [`Injected`].
#[derive(Debug, Clone)]
pub struct Override {
    /// From this second of the whole run (day × 86,400 + second of the day)...
    from: u64,
    /// ...to this one, excluded.
    to: u64,
    host: Host,
    change: Change,
}

impl Override {
    /// Applies the override to a line written at `secs` of `day` by `host`; whether it
    /// changed the line's status. `injected`: a scenario's line, whose own failure stands
    /// (only [`Change::Accept`] turns its 403.7 into a 401, and a device that never succeeds
    /// refused inside a mapping regression or on an Accept day is the server's finding).
    pub fn apply(&self, day: u32, secs: u32, host: Host, injected: bool, l: &mut Line) -> bool {
        let at = day as u64 * 86_400 + secs as u64;
        if at < self.from
            || at >= self.to
            || host != self.host
            || !l
                .stem
                .to_ascii_lowercase()
                .starts_with("/microsoft-server-activesync")
        {
            return false;
        }
        // Exchange's own probes have no certificate: only the SSL setting changes what they get.
        let probe = l.c_ip == "127.0.0.1" || l.agent.to_ascii_lowercase().starts_with("amprobe");
        if probe && self.change != Change::Accept {
            return false;
        }
        let anonymous_401 = l.status.0 == 401 && l.user.is_none();
        if injected {
            match self.change {
                Change::MappingOff
                    if anonymous_401
                        && matches!(
                            l.label,
                            Some("cba_mapping_failed" | "cba_require_not_enforced")
                        ) =>
                {
                    // Refused anyway; while the mapping is off it is the regression's victim.
                    l.label = None;
                    return false;
                }
                Change::Accept if anonymous_401 && l.label == Some("cba_mapping_failed") => {
                    // On an Accept day a certificate that does not map looks like none at all.
                    l.label = Some("cba_require_not_enforced");
                    return false;
                }
                Change::Accept if l.status.0 == 403 && l.status.1 == 7 => {}
                _ => return false,
            }
        }
        // What got past the front end's authentication: successes, 449, server errors.
        let authenticated = matches!(l.status.0, 200..=299 | 449 | 500..=599);
        let (applies, now, label) = match self.change {
            Change::MappingOff => (authenticated, (401, 2, 5), "cba_regression_timeline"),
            Change::Refuse(status, sub, win32) => {
                (authenticated, (status, sub, win32), "cba_cert_untrusted")
            }
            Change::Accept => (
                l.status.0 == 403 && l.status.1 == 7,
                (401, 2, 5),
                "cba_require_not_enforced",
            ),
        };
        if !applies {
            return false;
        }
        l.status = now;
        l.user = None;
        l.taken = 2;
        l.log.clear();
        l.label = (!probe).then_some(label);
        true
    }

    /// What the override does.
    pub fn change(&self) -> Change {
        self.change
    }
}

type Out = (Vec<Event>, Injected, Vec<Override>);

fn distinct_users(rng: &mut fastrand::Rng, pop: &Population, n: u32) -> Vec<usize> {
    let mut set = BTreeSet::new();
    while set.len() < (n as usize).min(pop.users.len()) {
        set.insert(rng.usize(..pop.users.len()));
    }
    set.into_iter().collect()
}

fn existing_devices(rng: &mut fastrand::Rng, pop: &Population, n: u32) -> Vec<Device> {
    let mut set = BTreeSet::new();
    while set.len() < (n as usize).min(pop.devices.len()) {
        set.insert(rng.usize(..pop.devices.len()));
    }
    set.into_iter().map(|i| pop.devices[i].clone()).collect()
}

/// Requests from new failing devices through the day, on random front ends.
fn failing_devices(
    rng: &mut fastrand::Rng,
    pop: &Population,
    days: u32,
    servers: &[u32],
    devices: u32,
    status: (u16, u16, u64),
    check: &'static str,
) -> Out {
    let mut events = Vec::new();
    let mut inj = Injected {
        check,
        ..Default::default()
    };
    for u in distinct_users(rng, pop, devices) {
        let dev = new_device(rng, u);
        inj.devices.push(dev.id.clone());
        inj.users.push(pop.users[u].clone());
        for day in 0..days {
            for _ in 0..rng.u32(6..14) {
                let mut l = {
                    let c = command(rng);
                    eas_request(rng, pop, &dev, c)
                };
                l.status = status;
                l.user = None;
                l.taken = rng.u64(0..15);
                l.label = Some(check);
                let host = Host::Front(servers[rng.usize(..servers.len())]);
                events.push(Event {
                    day,
                    secs: rng.u32(0..86_400),
                    host,
                    line: l,
                });
                inj.requests += 1;
            }
        }
    }
    let mut servers_hit: Vec<String> = events.iter().map(|e| e.host.ip()).collect();
    servers_hit.sort();
    servers_hit.dedup();
    inj.servers = servers_hit;
    (events, inj, vec![])
}

fn gateway_line(
    rng: &mut fastrand::Rng,
    pop: &Population,
    dev: &Device,
    ip: &str,
    status: (u16, u16, u64),
) -> Line {
    let mut l = {
        let c = command(rng);
        eas_request(rng, pop, dev, c)
    };
    l.c_ip = ip.to_string();
    l.user = None;
    l.status = status;
    l.taken = rng.u64(1..30);
    l.agent = dev.agent.clone();
    l
}

impl Scenario {
    /// The scenarios of the bundled sample: every failure that can be told apart from the
    /// others in one set of logs. (`AcceptNotRequire` and `MappingUndone` change how whole
    /// servers behave and are tested in logs of their own.)
    pub fn sample_set() -> Vec<Scenario> {
        vec![
            Scenario::CertMissing { devices: 5 },
            Scenario::CertUntrusted { devices: 3 },
            Scenario::CertExpired { devices: 2 },
            Scenario::CertRevoked { devices: 2 },
            Scenario::RevocationOutage { devices: 12 },
            Scenario::TrustOutage {
                server: 0,
                hours: 3,
            },
            Scenario::MappingFailed { devices: 4 },
            Scenario::ScopeTooWide { requests: 30 },
            Scenario::BackendRequiresCert { requests: 25 },
            Scenario::LegacyProxy { requests: 20 },
            Scenario::PasswordAuth { users: 3 },
            Scenario::Lockout,
            Scenario::KcdFailures { users: 6 },
            Scenario::DoubleTermination { users: 6 },
            Scenario::LargeSend { requests: 8 },
            Scenario::AppErrors { devices: 4 },
            Scenario::ServerInconsistency { devices: 3 },
        ]
    }

    /// The lines to inject, what they are, and changes to baseline lines. Each injected line
    /// that the scenario's check must count is labelled with it ([`Line::label`]).
    pub fn events(
        &self,
        rng: &mut fastrand::Rng,
        pop: &Population,
        days: u32,
        servers: u32,
    ) -> Out {
        let (mut events, inj, overrides) = self.raw_events(rng, pop, days, servers);
        for e in &mut events {
            let counted = match self {
                // The bad passwords; the successes that follow them are not refusals.
                Scenario::PasswordAuth { .. } => e.line.status.0 == 401,
                // The bad passwords before the lockout; the 1909s are its consequence.
                Scenario::Lockout => e.line.status == (401, 1, 1326),
                Scenario::ServerInconsistency { .. } => e.line.status.0 == 401,
                _ => true,
            };
            if e.line.label.is_none() && counted {
                e.line.label = Some(inj.check);
            }
        }
        (events, inj, overrides)
    }

    fn raw_events(
        &self,
        rng: &mut fastrand::Rng,
        pop: &Population,
        days: u32,
        servers: u32,
    ) -> Out {
        let all: Vec<u32> = (0..servers).collect();
        match *self {
            Scenario::CertMissing { devices } => failing_devices(
                rng,
                pop,
                days,
                &all,
                devices,
                (403, 7, 5),
                "cba_cert_missing",
            ),
            Scenario::CertUntrusted { devices } => failing_devices(
                rng,
                pop,
                days,
                &all,
                devices,
                (403, 16, 2_148_204_809),
                "cba_cert_untrusted",
            ),
            Scenario::CertExpired { devices } => failing_devices(
                rng,
                pop,
                days,
                &all,
                devices,
                (403, 17, 2_148_204_801),
                "cba_cert_expired",
            ),
            Scenario::CertRevoked { devices } => failing_devices(
                rng,
                pop,
                days,
                &all,
                devices,
                (403, 13, 2_148_081_680),
                "cba_cert_revoked",
            ),
            Scenario::MappingFailed { devices } => {
                let (mut events, inj, ov) = failing_devices(
                    rng,
                    pop,
                    days,
                    &all,
                    devices,
                    (401, 2, 5),
                    "cba_mapping_failed",
                );
                // Half the devices are denied by the mapper instead (403.12).
                let half: BTreeSet<_> = inj.devices.iter().step_by(2).cloned().collect();
                for e in &mut events {
                    if half.iter().any(|d| e.line.query.contains(d.as_str())) {
                        e.line.status = (403, 12, 5);
                    }
                }
                (events, inj, ov)
            }
            Scenario::AcceptNotRequire {
                devices,
                server,
                day,
            } => {
                let (events, missing, _) = failing_devices(
                    rng,
                    pop,
                    days,
                    &all,
                    devices,
                    (403, 7, 5),
                    "cba_cert_missing",
                );
                let host = Host::Front(server.min(servers - 1));
                let (from, to) = match day {
                    Some(d) => (d as u64 * 86_400, (d as u64 + 1) * 86_400),
                    None => (0, days as u64 * 86_400),
                };
                let inj = Injected {
                    check: "cba_require_not_enforced",
                    servers: vec![host.ip()],
                    users: missing.users,
                    ..Default::default()
                };
                let change = Change::Accept;
                (
                    events,
                    inj,
                    vec![Override {
                        from,
                        to,
                        host,
                        change,
                    }],
                )
            }
            Scenario::RevocationOutage { devices } => {
                let mut inj = Injected {
                    check: "cba_revocation_offline",
                    ..Default::default()
                };
                let mut events = Vec::new();
                let host = Host::Front(servers - 1);
                inj.servers = vec![host.ip()];
                for dev in existing_devices(rng, pop, devices) {
                    inj.devices.push(dev.id.clone());
                    inj.users.push(pop.users[dev.user].clone());
                    for _ in 0..2 {
                        let mut l = {
                            let c = command(rng);
                            eas_request(rng, pop, &dev, c)
                        };
                        l.status = (403, 13, 2_148_081_683);
                        l.user = None;
                        l.taken = rng.u64(20..200);
                        events.push(Event {
                            day: 0,
                            secs: rng.u32(50_400..52_800),
                            host,
                            line: l,
                        });
                        inj.requests += 1;
                    }
                }
                (events, inj, vec![])
            }
            Scenario::ScopeTooWide { requests } => {
                let mut inj = Injected {
                    check: "cba_scope_too_wide",
                    requests: requests as u64,
                    ..Default::default()
                };
                let stems = [
                    "/EWS/Exchange.asmx",
                    "/mapi/emsmdb/",
                    "/Autodiscover/Autodiscover.xml",
                ];
                let mut events = Vec::new();
                for _ in 0..requests {
                    let stem = stems[rng.usize(..stems.len())];
                    let l = Line {
                        method: "POST".into(),
                        stem: stem.into(),
                        c_ip: format!("203.0.113.{}", rng.u8(1..=254)),
                        agent: "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)".into(),
                        status: (403, 7, 5),
                        taken: rng.u64(0..10),
                        host: "mail.contoso.com".into(),
                        sc_bytes: 1_300,
                        cs_bytes: 900,
                        ..Default::default()
                    };
                    events.push(Event {
                        day: rng.u32(0..days),
                        secs: rng.u32(0..86_400),
                        host: Host::Front(rng.u32(0..servers)),
                        line: l,
                    });
                }
                inj.servers = vec!["ews".into(), "mapi".into(), "autodiscover".into()];
                (events, inj, vec![])
            }
            Scenario::BackendRequiresCert { requests } | Scenario::LegacyProxy { requests } => {
                let backend = matches!(self, Scenario::BackendRequiresCert { .. });
                let (host, stem, check) = if backend {
                    (
                        Host::Back(0),
                        "/Microsoft-Server-ActiveSync/Proxy/default.eas",
                        "cba_backend_requires_cert",
                    )
                } else {
                    (
                        Host::Legacy,
                        "/Microsoft-Server-ActiveSync/Proxy",
                        "legacy_proxy_auth_failures",
                    )
                };
                let mut inj = Injected {
                    check,
                    requests: requests as u64,
                    servers: vec![host.ip()],
                    ..Default::default()
                };
                let mut events = Vec::new();
                for i in 0..requests {
                    let dev = &pop.devices[rng.usize(..pop.devices.len())];
                    let mut l = {
                        let c = command(rng);
                        eas_request(rng, pop, dev, c)
                    };
                    l.stem = stem.into();
                    l.c_ip = Host::Front(rng.u32(0..servers)).ip();
                    l.user = None;
                    l.status = if backend || i % 2 == 0 {
                        (403, 7, 5)
                    } else {
                        (401, 2, 5)
                    };
                    l.taken = rng.u64(0..10);
                    events.push(Event {
                        day: rng.u32(0..days),
                        secs: rng.u32(0..86_400),
                        host,
                        line: l,
                    });
                }
                let mut d: Vec<String> = vec![];
                d.sort();
                inj.devices = d;
                (events, inj, vec![])
            }
            Scenario::PasswordAuth { users } => {
                let mut inj = Injected {
                    check: "cba_password_auth_still_active",
                    ..Default::default()
                };
                let mut events = Vec::new();
                for dev in existing_devices(rng, pop, users) {
                    let user = pop.users[dev.user].clone();
                    inj.users.push(user.clone());
                    inj.devices.push(dev.id.clone());
                    for _ in 0..3 {
                        let day = rng.u32(0..days);
                        let secs = rng.u32(0..86_000);
                        let host = Host::Front(rng.u32(0..servers));
                        let mut bad = eas_request(rng, pop, &dev, ("Sync", 0));
                        bad.user = Some(format!("CONTOSO\\{user}"));
                        bad.status = (401, 1, 1326);
                        bad.taken = rng.u64(5..40);
                        let mut good = bad.clone();
                        good.status = (200, 0, 0);
                        events.push(Event {
                            day,
                            secs,
                            host,
                            line: bad,
                        });
                        events.push(Event {
                            day,
                            secs: secs + 30,
                            host,
                            line: good,
                        });
                        inj.requests += 1;
                    }
                }
                (events, inj, vec![])
            }
            Scenario::Lockout => {
                let u = distinct_users(rng, pop, 1)[0];
                let user = pop.users[u].clone();
                let rogue = new_device(rng, u);
                let mut inj = Injected {
                    check: "eas_lockout_source",
                    users: vec![user.clone()],
                    devices: vec![rogue.id.clone()],
                    ..Default::default()
                };
                let mut events = Vec::new();
                let mut t = 8 * 3600;
                for _ in 0..10 {
                    let mut l = eas_request(rng, pop, &rogue, ("Ping", 18));
                    l.user = Some(format!("CONTOSO\\{user}"));
                    l.status = (401, 1, 1326);
                    l.taken = rng.u64(5..40);
                    events.push(Event {
                        day: 0,
                        secs: t,
                        host: Host::Front(rng.u32(0..servers)),
                        line: l,
                    });
                    inj.requests += 1;
                    t += 900;
                }
                let mut devices: Vec<Device> = pop
                    .devices
                    .iter()
                    .filter(|d| d.user == u)
                    .cloned()
                    .collect();
                devices.push(rogue);
                for i in 0..12 {
                    let dev = &devices[i % devices.len()];
                    let mut l = eas_request(rng, pop, dev, ("Sync", 0));
                    l.user = Some(format!("CONTOSO\\{user}"));
                    l.status = (401, 1, 1909);
                    l.taken = rng.u64(5..40);
                    events.push(Event {
                        day: 0,
                        secs: t + i as u32 * 300,
                        host: Host::Front(rng.u32(0..servers)),
                        line: l,
                    });
                }
                (events, inj, vec![])
            }
            Scenario::KcdFailures { users } | Scenario::DoubleTermination { users } => {
                let kcd = matches!(self, Scenario::KcdFailures { .. });
                let (ip, status, check) = if kcd {
                    ("10.9.0.5", (401, 1, 2_148_074_254), "kcd_failures")
                } else {
                    ("10.9.0.6", (403, 7, 5), "kcd_double_termination")
                };
                let mut inj = Injected {
                    check,
                    servers: vec![ip.to_string()],
                    ..Default::default()
                };
                let mut events = Vec::new();
                for u in distinct_users(rng, pop, users) {
                    let dev = new_device(rng, u);
                    inj.users.push(pop.users[u].clone());
                    inj.devices.push(dev.id.clone());
                    for _ in 0..4 {
                        events.push(Event {
                            day: rng.u32(0..days),
                            secs: rng.u32(0..86_400),
                            host: Host::Front(rng.u32(0..servers)),
                            line: gateway_line(rng, pop, &dev, ip, status),
                        });
                        inj.requests += 1;
                    }
                }
                (events, inj, vec![])
            }
            Scenario::LargeSend { requests } => {
                let mut inj = Injected {
                    check: "eas_large_upload_failures",
                    requests: requests as u64,
                    ..Default::default()
                };
                let mut events = Vec::new();
                for _ in 0..requests {
                    let dev = pop.devices[rng.usize(..pop.devices.len())].clone();
                    let cmd = if rng.bool() {
                        ("SendMail", 1)
                    } else {
                        ("SmartReply", 3)
                    };
                    let mut l = eas_request(rng, pop, &dev, cmd);
                    l.status = (413, 0, 0);
                    l.user = None;
                    l.cs_bytes = rng.u64(10_000_000..35_000_000);
                    l.taken = rng.u64(100..2_000);
                    inj.devices.push(dev.id.clone());
                    events.push(Event {
                        day: rng.u32(0..days),
                        secs: rng.u32(0..86_400),
                        host: Host::Front(rng.u32(0..servers)),
                        line: l,
                    });
                }
                inj.devices.sort();
                inj.devices.dedup();
                (events, inj, vec![])
            }
            Scenario::AppErrors { devices } => {
                let mut inj = Injected {
                    check: "eas_app_errors",
                    ..Default::default()
                };
                let mut events = Vec::new();
                let errors = [
                    (449, "Error:DeviceNotProvisioned_As:BlockedP_"),
                    (200, "S142_Error:PolicyRefresh_"),
                    (403, "Error:UserDisabledForSync_"),
                ];
                // Devices that never get through: blocked, unprovisionable or not allowed.
                for u in distinct_users(rng, pop, devices) {
                    let dev = new_device(rng, u);
                    inj.devices.push(dev.id.clone());
                    inj.users.push(pop.users[u].clone());
                    let (status, log) = errors[rng.usize(..errors.len())];
                    for _ in 0..3 {
                        let mut l = eas_request(rng, pop, &dev, ("Sync", 0));
                        if dev.base64 {
                            l.query = format!(
                                "Cmd=Sync&User={}&DeviceId={}&DeviceType={}",
                                pop.users[u], dev.id, dev.kind
                            );
                        }
                        // Written where Exchange writes it: on the back end's line.
                        l.log = format!("V141_{log}");
                        l.status = (status, 0, 0);
                        events.push(Event {
                            day: rng.u32(0..days),
                            secs: rng.u32(0..86_400),
                            host: Host::Front(rng.u32(0..servers)),
                            line: l,
                        });
                        inj.requests += 1;
                    }
                }
                (events, inj, vec![])
            }
            Scenario::MappingUndone {
                server,
                day,
                hour,
                hours,
            } => {
                let host = Host::Front(server.min(servers - 1));
                let from = day.min(days - 1) as u64 * 86_400 + hour as u64 * 3_600;
                let inj = Injected {
                    check: "cba_regression_timeline",
                    servers: vec![host.ip()],
                    ..Default::default()
                };
                let to = from + hours as u64 * 3_600;
                let change = Change::MappingOff;
                (
                    vec![],
                    inj,
                    vec![Override {
                        from,
                        to,
                        host,
                        change,
                    }],
                )
            }
            Scenario::TrustOutage { server, hours } => {
                let host = Host::Front(server.min(servers - 1));
                let from = 13 * 3_600;
                let inj = Injected {
                    check: "cba_cert_untrusted",
                    servers: vec![host.ip()],
                    ..Default::default()
                };
                let to = from + hours as u64 * 3_600;
                let change = Change::Refuse(403, 16, 2_148_204_809);
                (
                    vec![],
                    inj,
                    vec![Override {
                        from,
                        to,
                        host,
                        change,
                    }],
                )
            }
            Scenario::ServerInconsistency { devices } => {
                let mut inj = Injected {
                    check: "cba_server_inconsistency",
                    ..Default::default()
                };
                let mut events = Vec::new();
                for dev in existing_devices(rng, pop, devices) {
                    inj.devices.push(dev.id.clone());
                    inj.users.push(pop.users[dev.user].clone());
                    for i in 0..4 {
                        let mut l = eas_request(rng, pop, &dev, ("Sync", 0));
                        let host = Host::Front(i % 2);
                        if i % 2 == 1 {
                            l.status = (401, 2, 5);
                            l.user = None;
                            inj.requests += 1;
                        }
                        events.push(Event {
                            day: 0,
                            secs: 36_000 + i * 600,
                            host,
                            line: l,
                        });
                    }
                }
                inj.servers = vec![Host::Front(0).ip(), Host::Front(1).ip()];
                (events, inj, vec![])
            }
        }
    }
}
