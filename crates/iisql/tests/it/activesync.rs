//! The ActiveSync checks: each saved query over logs holding its scenario plus realistic
//! noise returns exactly the injected devices, users and request counts; a healthy baseline
//! yields no finding; the bundled sample yields every injected scenario and nothing else.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use iisql::{Catalog, diagnose};
use iisql_generator::{GeneratorConfig, Injected, Scenario, generate};

/// A session with `dir`'s logs as `logs` and the `activesync` view over them.
pub async fn context(dir: &Path) -> SessionContext {
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &ctx,
        "logs",
        &[dir.display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    iisql::register_activesync_view(&ctx, "activesync", "logs")
        .await
        .unwrap();
    ctx
}

fn column(batches: &[RecordBatch], name: &str) -> Vec<String> {
    let opts = FormatOptions::default();
    let mut out = vec![];
    for b in batches {
        let c = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        let f = ArrayFormatter::try_new(c.as_ref(), &opts).unwrap();
        for i in 0..b.num_rows() {
            out.push(f.value(i).to_string());
        }
    }
    out
}

fn split_set(values: Vec<String>) -> BTreeSet<String> {
    values
        .iter()
        .flat_map(|v| v.split(',').map(str::to_string))
        .filter(|v| !v.is_empty())
        .collect()
}

/// Generates a small baseline with `scenarios` into a temp dir and runs `check` over it.
async fn run(scenarios: Vec<Scenario>, check: &str) -> (Vec<Injected>, Vec<RecordBatch>) {
    run_sized(scenarios, check, 1_400_000).await
}

/// [`run`] over about `total_bytes` of logs.
async fn run_sized(
    scenarios: Vec<Scenario>,
    check: &str,
    total_bytes: u64,
) -> (Vec<Injected>, Vec<RecordBatch>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        total_bytes,
        seed: 7,
        scenarios,
        ..Default::default()
    };
    let generated = generate(&cfg, dir.path()).unwrap();
    let ctx = context(dir.path()).await;
    let q = Catalog::bundled().unwrap().require(check).unwrap().clone();
    let batches = q
        .dataframe(&ctx, &HashMap::new())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    (generated.injected, batches)
}

fn hits(batches: &[RecordBatch]) -> u64 {
    column(batches, "hits")
        .iter()
        .map(|h| h.parse::<u64>().unwrap())
        .sum()
}

/// Device-level checks: the device set and the request count are exactly what was injected.
async fn device_check(scenario: Scenario, check: &str, extra: Vec<Scenario>) {
    let mut all = vec![scenario];
    all.extend(extra);
    let (injected, batches) = run(all, check).await;
    let inj = &injected[0];
    assert_eq!(inj.check, check);
    let want: BTreeSet<String> = inj.devices.iter().cloned().collect();
    assert_eq!(
        split_set(column(&batches, "device_id")),
        want,
        "{check}: devices"
    );
    assert_eq!(hits(&batches), inj.requests, "{check}: requests");
    if !inj.users.is_empty() && batches.iter().any(|b| b.column_by_name("user").is_some()) {
        // Base64 requests carry no user (it is in the Authorization header), so a device seen
        // only through them has none: the users found are the injected ones, and most of them.
        let users: BTreeSet<String> = inj.users.iter().cloned().collect();
        let found = split_set(column(&batches, "user"));
        assert!(
            found.is_subset(&users),
            "{check}: users {found:?} not in {users:?}"
        );
        assert!(
            found.len() * 2 >= users.len(),
            "{check}: users {found:?} of {users:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_refusals_by_device() {
    device_check(
        Scenario::CertMissing { devices: 4 },
        "cba_cert_missing",
        vec![],
    )
    .await;
    device_check(
        Scenario::CertUntrusted { devices: 3 },
        "cba_cert_untrusted",
        vec![],
    )
    .await;
    device_check(
        Scenario::CertExpired { devices: 2 },
        "cba_cert_expired",
        vec![],
    )
    .await;
    // Revoked certificates are told apart from a revocation outage in the same logs.
    device_check(
        Scenario::CertRevoked { devices: 2 },
        "cba_cert_revoked",
        vec![Scenario::RevocationOutage { devices: 12 }],
    )
    .await;
    device_check(
        Scenario::RevocationOutage { devices: 12 },
        "cba_revocation_offline",
        vec![
            Scenario::CertRevoked { devices: 2 },
            Scenario::CertUntrusted { devices: 2 },
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures_by_device() {
    // A server that requires certificates (403.7 seen there) is where mapping failures show.
    device_check(
        Scenario::MappingFailed { devices: 4 },
        "cba_mapping_failed",
        vec![Scenario::CertMissing { devices: 1 }],
    )
    .await;
    device_check(
        Scenario::PasswordAuth { users: 3 },
        "cba_password_auth_still_active",
        vec![],
    )
    .await;
    device_check(
        Scenario::Lockout,
        "eas_lockout_source",
        vec![Scenario::PasswordAuth { users: 2 }],
    )
    .await;
    device_check(
        Scenario::ServerInconsistency { devices: 3 },
        "cba_server_inconsistency",
        vec![],
    )
    .await;
    device_check(Scenario::AppErrors { devices: 4 }, "eas_app_errors", vec![]).await;
    device_check(
        Scenario::LargeSend { requests: 6 },
        "eas_large_upload_failures",
        vec![],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_and_server_configuration() {
    for (scenario, check) in [
        (Scenario::KcdFailures { users: 6 }, "kcd_failures"),
        (
            Scenario::DoubleTermination { users: 6 },
            "kcd_double_termination",
        ),
    ] {
        let (injected, batches) =
            run(vec![scenario, Scenario::CertMissing { devices: 2 }], check).await;
        let inj = &injected[0];
        assert_eq!(column(&batches, "client_ip"), inj.servers, "{check}");
        assert_eq!(
            split_set(column(&batches, "device_id")),
            inj.devices.iter().cloned().collect()
        );
        assert_eq!(hits(&batches), inj.requests, "{check}");
    }
    for (scenario, check) in [
        (
            Scenario::BackendRequiresCert { requests: 25 },
            "cba_backend_requires_cert",
        ),
        (
            Scenario::LegacyProxy { requests: 20 },
            "legacy_proxy_auth_failures",
        ),
    ] {
        let (injected, batches) =
            run(vec![scenario, Scenario::CertMissing { devices: 2 }], check).await;
        let inj = &injected[0];
        assert_eq!(
            split_set(column(&batches, "server")),
            inj.servers.iter().cloned().collect(),
            "{check}"
        );
        assert_eq!(hits(&batches), inj.requests, "{check}");
    }
    let (injected, batches) = run(
        vec![Scenario::ScopeTooWide { requests: 30 }],
        "cba_scope_too_wide",
    )
    .await;
    assert_eq!(
        column(&batches, "segment")
            .into_iter()
            .collect::<BTreeSet<_>>(),
        injected[0].servers.iter().cloned().collect()
    );
    assert_eq!(hits(&batches), 30);

    let (injected, batches) = run(
        vec![Scenario::AcceptNotRequire {
            devices: 3,
            server: 1,
            day: None,
        }],
        "cba_require_not_enforced",
    )
    .await;
    // One row per day the server accepted.
    assert_eq!(
        column(&batches, "server"),
        vec!["10.0.1.11".to_string(), "10.0.1.11".to_string()]
    );
    assert_eq!(
        split_set(column(&batches, "device_id")),
        injected[0].devices.iter().cloned().collect()
    );
    assert_eq!(hits(&batches), injected[0].requests);

    let (injected, batches) = run(
        vec![Scenario::MappingUndone {
            server: 0,
            day: 1,
            hour: 13,
            hours: 11,
        }],
        "cba_regression_timeline",
    )
    .await;
    assert_eq!(column(&batches, "server"), injected[0].servers);
    assert_eq!(
        column(&batches, "hour"),
        vec!["2025-11-04T13:00:00Z".to_string()]
    );
    // Every refused request of the devices it had served, to the end of the logs.
    assert_eq!(hits(&batches), injected[0].requests);

    // Fixed after four hours: the episode ends there, and holds all four hours' refusals.
    let (injected, batches) = run_sized(
        vec![Scenario::MappingUndone {
            server: 1,
            day: 1,
            hour: 9,
            hours: 4,
        }],
        "cba_regression_timeline",
        4_000_000,
    )
    .await;
    assert_eq!(column(&batches, "server"), injected[0].servers);
    assert_eq!(
        column(&batches, "hour"),
        vec!["2025-11-04T09:00:00Z".to_string()]
    );
    assert_eq!(hits(&batches), injected[0].requests);
    assert!(
        column(&batches, "last_seen")[0].as_str() < "2025-11-04T13:00:00Z",
        "{:?}",
        column(&batches, "last_seen")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_logs_yield_no_finding() {
    // With and without back ends: the noise of both (the same request logged twice, Log= on
    // the back end's line, carrier NAT, probes refused with 403.7, devices told to provision).
    for backend in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = GeneratorConfig {
            total_bytes: 1_000_000,
            seed: 11,
            backend,
            ..Default::default()
        };
        generate(&cfg, dir.path()).unwrap();
        let ctx = context(dir.path()).await;
        let catalog = Catalog::bundled().unwrap();
        let d = diagnose(&ctx, &catalog, &HashMap::new()).await.unwrap();
        let names: Vec<_> = d.findings.iter().map(|f| f.check.clone()).collect();
        assert!(
            names.is_empty(),
            "false alarms on healthy logs (back ends: {backend}): {names:?}"
        );
        assert_eq!(d.checks.len(), catalog.checks().len());
        assert!(d.activesync_requests > 1000);
    }
}

/// The normal challenge: an anonymous 401 that a success of the same device on the same server
/// follows within a minute is not a refusal; the same 401 with no success after it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_that_a_success_follows_is_not_a_refusal() {
    let fields = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n";
    let line = |t: &str, server: &str, dev: &str, ip: &str, user: &str, status: &str| {
        format!(
            "2025-11-10 {t} {server} POST /Microsoft-Server-ActiveSync/default.eas Cmd=Sync&User=u{dev}&DeviceId={dev}&DeviceType=iPhone 443 {user} {ip} Apple-iPhone15C2/2107.100 {status} 15\r\n"
        )
    };
    let (a, b) = ("10.0.1.10", "10.0.1.11");
    let mut text = String::from(fields);
    // Server A requires certificates: a device without one gets 403.7 there.
    text.push_str(&line(
        "08:00:00",
        a,
        "NOCERT",
        "198.51.100.9",
        "-",
        "403 7 5",
    ));
    // Six devices behind a gateway: served by A; on B, Negotiate's first leg (SEC_E_NO_CREDENTIALS)
    // and then in, seconds later, every hour.
    for i in 0..6 {
        let dev = format!("DEV{i}");
        let user = format!("CONTOSO\\u{dev}");
        for h in 8..12 {
            text.push_str(&line(
                &format!("{h:02}:0{i}:00"),
                a,
                &dev,
                "10.9.0.7",
                &user,
                "200 0 0",
            ));
            text.push_str(&line(
                &format!("{h:02}:1{i}:00"),
                b,
                &dev,
                "10.9.0.7",
                "-",
                "401 1 2148074254",
            ));
            text.push_str(&line(
                &format!("{h:02}:1{i}:02"),
                b,
                &dev,
                "10.9.0.7",
                &user,
                "200 0 0",
            ));
        }
    }
    // Anonymous 401s that nothing follows, on A: a certificate that maps to no account.
    for h in 8..12 {
        text.push_str(&line(
            &format!("{h:02}:30:00"),
            a,
            "DEVX",
            "198.51.100.7",
            "-",
            "401 2 5",
        ));
    }
    // On B, a device with a stale password: the anonymous first leg, then its bad password.
    // Password authentication, not a certificate the server fails to ask for.
    for h in 8..12 {
        let ip = "198.51.100.8";
        text.push_str(&line(
            &format!("{h:02}:40:00"),
            b,
            "DEVP",
            ip,
            "-",
            "401 2 5",
        ));
        let user = "CONTOSO\\uDEVP";
        text.push_str(&line(
            &format!("{h:02}:40:01"),
            b,
            "DEVP",
            ip,
            user,
            "401 1 1326",
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("u_ex251110.log"), &text).unwrap();
    let ctx = context(dir.path()).await;
    let catalog = Catalog::bundled().unwrap();
    let run = |name: &'static str| {
        let q = catalog.require(name).unwrap().clone();
        let ctx = ctx.clone();
        async move {
            q.dataframe(&ctx, &HashMap::new())
                .await
                .unwrap()
                .collect()
                .await
                .unwrap()
        }
    };
    let found = run("cba_mapping_failed").await;
    assert_eq!(column(&found, "device_id"), vec!["DEVX".to_string()]);
    assert_eq!(hits(&found), 4);
    let found = run("cba_password_auth_still_active").await;
    assert_eq!(column(&found, "user"), vec!["udevp".to_string()]);
    assert_eq!(hits(&found), 4);
    // The challenged devices are neither refused by B nor failed by their gateway, and B is
    // not taken for a server that accepts instead of requiring certificates.
    for check in [
        "cba_server_inconsistency",
        "kcd_failures",
        "cba_require_not_enforced",
    ] {
        assert_eq!(rows(&run(check).await), Vec::<String>::new(), "{check}");
    }
}

/// The bundled sample: every injected scenario is found, with the answer key's requests,
/// devices and servers, and no other check fires (the lockout's bad passwords are password
/// authentication; the trust outage of one front end is a server inconsistency: both true).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_sample_names_every_injected_scenario() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let truth = generate(
        &GeneratorConfig::sample(),
        tempfile::tempdir().unwrap().path(),
    )
    .unwrap()
    .truth;
    let ctx = context(&sample).await;
    let d = diagnose(&ctx, &Catalog::bundled().unwrap(), &HashMap::new())
        .await
        .unwrap();
    let wrong = crate::confusion::judge_with(
        &[
            (
                "cba_password_auth_still_active",
                "the lockout's bad passwords",
            ),
            ("cba_server_inconsistency", "the trust outage of one server"),
        ],
        &d,
        &truth,
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
    for f in &d.findings {
        if f.check != "cba_scope_too_wide" {
            // Each example comes with its request, which is the line the example names.
            assert_eq!(f.example_lines.len(), f.examples.len(), "{}", f.check);
            for (e, line) in f.examples.iter().zip(&f.example_lines) {
                let (file, row) = e.rsplit_once(':').unwrap();
                let text = std::fs::read_to_string(file).unwrap();
                let raw = text.lines().nth(row.parse::<usize>().unwrap() - 1).unwrap();
                let time = &line[11..19];
                assert!(raw.contains(time), "{}: {raw} / {line}", f.check);
            }
        }
        assert!(!f.why.is_empty(), "{} says why", f.check);
    }
    // By impact: the first finding is the revocation outage, which refuses working devices
    // on one server, and it names that server only.
    assert_eq!(d.findings[0].check, "cba_revocation_offline");
    assert_eq!(d.findings[0].servers, vec!["10.0.1.11".to_string()]);
    assert!(
        d.findings[0].why.contains("10.0.1.11"),
        "{}",
        d.findings[0].why
    );
}

fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = vec![];
    for b in batches {
        let fs: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            out.push(
                fs.iter()
                    .map(|f| f.value(i).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    out
}

/// The six reports over a hand-written front-end and back-end pair with known answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_over_a_known_fixture() {
    let ctx = context(&crate::fixtures().join("eas")).await;
    let catalog = Catalog::bundled().unwrap();
    let run = |name: &'static str| {
        let q = catalog.require(name).unwrap().clone();
        let ctx = ctx.clone();
        async move {
            rows(
                &q.dataframe(&ctx, &HashMap::new())
                    .await
                    .unwrap()
                    .collect()
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(
        run("report_users").await,
        vec![
            // Bytes and commands once per request: the front end's line (the back end logs the
            // same request again).
            // ... and items sent (Srv: adds, changes, associated adds over both folders: 3+1+2
            // and 1), received (Cli: adds, changes), attachments and their bytes.
            "asmith|androidc1|Android|2|1|900|400|0|1|0|0|0|0|0|0|0|0|Not compliant|2025-11-10T09:00:00Z|2025-11-10T09:01:00Z",
            "jdoe|ApplAAA|iPhone|3|1|1500|90600|1|1|1|0|7|1|2|5000|0|0|Compliant|2025-11-10T08:00:00Z|2025-11-10T08:10:00Z",
        ]
    );
    assert_eq!(
        run("report_servers").await,
        vec![
            "CAS01|10.0.1.10|frontend|3|1.0|1500|90600|1",
            "CAS02|10.0.1.11|frontend|2|1.0|900|400|1",
            "MBX01|10.0.2.10|backend|2|2.0|1600|800|1",
        ]
    );
    assert_eq!(
        run("report_hourly").await,
        vec![
            "2025-11-10T08:00:00Z|3|1|1|0",
            "2025-11-10T09:00:00Z|2|1|2|1"
        ]
    );
    assert_eq!(
        run("report_status_codes").await,
        vec![
            "200|0|0|OK|ERROR_SUCCESS: success|5|0.8333",
            "403|7|5|Client certificate required|ERROR_ACCESS_DENIED: access denied|1|0.1667",
        ]
    );
    assert_eq!(
        run("report_policy_compliance").await,
        vec!["Compliant|1|0.5", "Not compliant|1|0.5"]
    );
    assert_eq!(
        run("report_user_agents").await,
        vec![
            "Apple-iPhone15C2/2107.100|3|1|0.0",
            "Android-Mail/2024|2|1|0.5"
        ]
    );
    // And the view itself: tiers, users, Log= values, probes.
    let b = ctx
        .sql("SELECT tier, user, command, protocol_version, eas_status, is_probe, status_full FROM activesync ORDER BY timestamp")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        rows(&b),
        vec![
            "frontend|jdoe|Sync|NULL|NULL|false|200.0",
            "backend|jdoe|Sync|16.1|1|false|200.0",
            "frontend|jdoe|Ping|NULL|NULL|false|200.0",
            "frontend|jdoe|SendMail|NULL|NULL|false|200.0",
            "frontend|asmith|Sync|NULL|NULL|false|200.0",
            "backend|asmith|Sync|16.1|NULL|false|200.0",
            "frontend|asmith|GetItemEstimate|NULL|NULL|false|403.7",
            "frontend|healthmailbox1|Options|NULL|NULL|true|200.0",
        ]
    );
}
