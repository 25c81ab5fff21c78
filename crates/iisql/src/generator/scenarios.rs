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
    /// The CRL/OCSP server is unreachable for an hour (14:00 on the first day): working devices
    /// get 403.13 with CRYPT_E_REVOCATION_OFFLINE.
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
    /// Front end `server` accepts instead of requiring certificates: devices without one get
    /// anonymous 401s there and no 403.7 is ever logged on it.
    AcceptNotRequire {
        /// How many devices.
        devices: u32,
        /// Front-end index.
        server: u32,
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
    /// the last day: every ActiveSync request there becomes an anonymous 401.
    MappingUndone {
        /// Front-end index.
        server: u32,
        /// Hour of the change.
        hour: u32,
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

/// A change to baseline lines (used by [`Scenario::MappingUndone`]).
#[derive(Debug, Clone)]
pub struct Override {
    day: u32,
    from_secs: u32,
    host: Host,
}

impl Override {
    /// Turns a successful ActiveSync request in the override's window into an anonymous 401.
    pub fn apply(&self, day: u32, secs: u32, host: Host, l: &mut Line) {
        if day == self.day
            && secs >= self.from_secs
            && host == self.host
            && l.stem
                .to_ascii_lowercase()
                .starts_with("/microsoft-server-activesync")
            && !l.agent.starts_with("AMProbe")
            && l.status.0 == 200
        {
            l.status = (401, 2, 5);
            l.user = None;
            l.taken = 2;
        }
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

    /// The lines to inject, what they are, and changes to baseline lines.
    pub fn events(
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
            Scenario::AcceptNotRequire { devices, server } => failing_devices(
                rng,
                pop,
                days,
                &[server],
                devices,
                (401, 2, 5),
                "cba_require_not_enforced",
            ),
            Scenario::RevocationOutage { devices } => {
                let mut inj = Injected {
                    check: "cba_revocation_offline",
                    ..Default::default()
                };
                let mut events = Vec::new();
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
                            secs: rng.u32(50_400..54_000),
                            host: Host::Front(rng.u32(0..servers)),
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
            Scenario::MappingUndone { server, hour } => {
                let host = Host::Front(server.min(servers - 1));
                let inj = Injected {
                    check: "cba_regression_timeline",
                    servers: vec![host.ip()],
                    ..Default::default()
                };
                (
                    vec![],
                    inj,
                    vec![Override {
                        day: days - 1,
                        from_secs: hour * 3600,
                        host,
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
