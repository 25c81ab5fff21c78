//! The confusion matrix of `diagnose`: every incident the generator can inject, alone over
//! healthy traffic, in every pair (overlapping in time, servers and devices) and all together.
//! For each combination the findings are exactly the checks the generator's answer key
//! ([`iisql_generator::Truth`]) names, plus the second findings an incident legitimately
//! produces (listed below with the reason), and each finding counts exactly the requests,
//! devices and servers of the answer key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use iisql::{Catalog, Diagnosis, Finding, diagnose};
use iisql_generator::{GeneratorConfig, Scenario, Truth, generate};

use crate::activesync::context;

/// An incident: the scenario, and the findings it produces besides its answer key's, with
/// why they are right.
struct Incident {
    scenario: Scenario,
    also: &'static [(&'static str, &'static str)],
}

const INCONSISTENT: (&str, &str) = (
    "cba_server_inconsistency",
    "the other front end serves the same devices that day: the servers are configured differently",
);

fn incidents() -> Vec<Incident> {
    let alone = |scenario| Incident {
        scenario,
        also: &[],
    };
    vec![
        alone(Scenario::CertMissing { devices: 3 }),
        alone(Scenario::CertUntrusted { devices: 2 }),
        alone(Scenario::CertExpired { devices: 2 }),
        alone(Scenario::CertRevoked { devices: 2 }),
        // 40 minutes on the second front end, 14:00 of the first day: inside the trust outage
        // of the first front end below.
        alone(Scenario::RevocationOutage { devices: 8 }),
        Incident {
            scenario: Scenario::TrustOutage {
                server: 0,
                hours: 3,
            },
            also: &[INCONSISTENT],
        },
        alone(Scenario::MappingFailed { devices: 3 }),
        alone(Scenario::AcceptNotRequire {
            devices: 3,
            server: 1,
            day: Some(1),
        }),
        alone(Scenario::ScopeTooWide { requests: 20 }),
        alone(Scenario::BackendRequiresCert { requests: 15 }),
        alone(Scenario::LegacyProxy { requests: 12 }),
        alone(Scenario::PasswordAuth { users: 2 }),
        Incident {
            scenario: Scenario::Lockout,
            also: &[(
                "cba_password_auth_still_active",
                "the lockout's bad passwords are password authentication on ActiveSync",
            )],
        },
        alone(Scenario::KcdFailures { users: 6 }),
        alone(Scenario::DoubleTermination { users: 6 }),
        alone(Scenario::LargeSend { requests: 5 }),
        alone(Scenario::AppErrors { devices: 3 }),
        // Eighteen hours on the second front end from 06:00 of the second day.
        Incident {
            scenario: Scenario::MappingUndone {
                server: 1,
                day: 1,
                hour: 6,
                hours: 18,
            },
            also: &[INCONSISTENT],
        },
        alone(Scenario::ServerInconsistency { devices: 3 }),
    ]
}

/// Checks whose `server` column is the front end that logged the requests.
const BY_LOGGING_SERVER: &[&str] = &[
    "cba_cert_untrusted",
    "cba_cert_expired",
    "cba_cert_revoked",
    "cba_revocation_offline",
    "cba_require_not_enforced",
    "cba_regression_timeline",
];

async fn diagnosed(scenarios: Vec<Scenario>) -> (Diagnosis, BTreeMap<&'static str, Truth>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        total_bytes: 1_400_000,
        seed: 5,
        scenarios,
        ..Default::default()
    };
    let generated = generate(&cfg, dir.path()).unwrap();
    let ctx = context(dir.path()).await;
    let catalog = Catalog::bundled().unwrap();
    let d = diagnose(&ctx, &catalog, &HashMap::new()).await.unwrap();
    (d, generated.truth)
}

fn summary(d: &Diagnosis) -> String {
    d.findings
        .iter()
        .map(|f| {
            format!(
                "{} ({} requests, {} devices, servers {:?})",
                f.check,
                f.hits,
                f.devices.len(),
                f.servers
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The differences between what `d` found and what `combo` must give; empty when right.
fn judge(combo: &[&Incident], d: &Diagnosis, truth: &BTreeMap<&'static str, Truth>) -> Vec<String> {
    let also: Vec<(&str, &str)> = combo.iter().flat_map(|i| i.also.iter().copied()).collect();
    judge_with(&also, d, truth)
}

/// The differences between what `d` found and the answer key `truth` plus the second
/// findings `also` (check, reason); empty when right.
pub fn judge_with(
    also: &[(&str, &str)],
    d: &Diagnosis,
    truth: &BTreeMap<&'static str, Truth>,
) -> Vec<String> {
    let extras: BTreeMap<&str, &str> = also.iter().copied().collect();
    let want: BTreeSet<&str> = truth
        .iter()
        .filter(|(_, t)| t.requests > 0)
        .map(|(c, _)| *c)
        .chain(extras.keys().copied())
        .collect();
    let got: BTreeSet<&str> = d.findings.iter().map(|f| f.check.as_str()).collect();
    let mut wrong = Vec::new();
    for c in got.difference(&want) {
        wrong.push(format!("false finding {c}"));
    }
    for c in want.difference(&got) {
        wrong.push(format!("missed {c}"));
    }
    for (check, t) in truth {
        let Some(f) = d.findings.iter().find(|f| f.check == *check) else {
            continue;
        };
        // A check that another incident legitimately feeds too holds at least the key's.
        let shared = extras.contains_key(check);
        wrong.extend(compare(f, t, shared));
    }
    wrong
}

fn compare(f: &Finding, t: &Truth, shared: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    let check = &f.check;
    let devices: BTreeSet<String> = f.devices.iter().cloned().collect();
    let has_devices = f.columns.iter().any(|c| c == "device_id");
    if shared {
        if f.hits < t.requests {
            wrong.push(format!("{check}: {} requests < {}", f.hits, t.requests));
        }
        if has_devices && !t.devices.is_subset(&devices) {
            wrong.push(format!(
                "{check}: devices {devices:?} miss some of {:?}",
                t.devices
            ));
        }
        return wrong;
    }
    if f.hits != t.requests {
        wrong.push(format!("{check}: {} requests, not {}", f.hits, t.requests));
    }
    if has_devices && !t.devices.is_empty() && devices != t.devices {
        wrong.push(format!("{check}: devices {devices:?}, not {:?}", t.devices));
    }
    if BY_LOGGING_SERVER.contains(&check.as_str()) {
        let servers: BTreeSet<String> = f.servers.iter().cloned().collect();
        if servers != t.servers {
            wrong.push(format!("{check}: servers {servers:?}, not {:?}", t.servers));
        }
    }
    wrong
}

async fn run(combos: Vec<Vec<usize>>) {
    let all = incidents();
    let mut failures = Vec::new();
    for combo in combos {
        let chosen: Vec<&Incident> = combo.iter().map(|&i| &all[i]).collect();
        let scenarios = chosen.iter().map(|i| i.scenario.clone()).collect();
        let (d, truth) = diagnosed(scenarios).await;
        let wrong = judge(&chosen, &d, &truth);
        if !wrong.is_empty() {
            let names: Vec<String> = chosen.iter().map(|i| format!("{:?}", i.scenario)).collect();
            failures.push(format!(
                "{}:\n    {}\n    found: {}",
                names.join(" + "),
                wrong.join("\n    "),
                summary(&d)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} combinations wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_incident_alone_gives_its_own_findings() {
    run((0..incidents().len()).map(|i| vec![i]).collect()).await;
}

/// The pairs whose first incident is `a` with `a % 3 == part`: three tests, so that the test
/// harness runs them side by side.
fn pairs(part: usize) -> Vec<Vec<usize>> {
    let n = incidents().len();
    (0..n)
        .filter(|a| a % 3 == part)
        .flat_map(|a| (a + 1..n).map(move |b| vec![a, b]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pair_of_incidents_gives_the_findings_of_both_1() {
    run(pairs(0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pair_of_incidents_gives_the_findings_of_both_2() {
    run(pairs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pair_of_incidents_gives_the_findings_of_both_3() {
    run(pairs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_incident_at_once_gives_every_finding() {
    run(vec![(0..incidents().len()).collect()]).await;
}
