//! The ActiveSync checks: each saved query over logs holding its scenario plus realistic
//! noise returns exactly the injected devices, users and request counts; a healthy baseline
//! yields no finding; the bundled sample yields every injected scenario and nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use iisql::generator::{GeneratorConfig, Injected, Scenario, generate};
use iisql::{Catalog, diagnose};

async fn context(dir: &Path) -> SessionContext {
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
    let dir = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        total_bytes: 600_000,
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
        }],
        "cba_require_not_enforced",
    )
    .await;
    assert_eq!(column(&batches, "server"), vec!["10.0.1.11".to_string()]);
    assert_eq!(
        split_set(column(&batches, "device_id")),
        injected[0].devices.iter().cloned().collect()
    );
    assert_eq!(hits(&batches), injected[0].requests);

    let (injected, batches) = run(
        vec![Scenario::MappingUndone {
            server: 0,
            hour: 13,
        }],
        "cba_regression_timeline",
    )
    .await;
    assert_eq!(column(&batches, "server"), injected[0].servers);
    assert_eq!(
        column(&batches, "hour"),
        vec!["2025-11-04T13:00:00Z".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_logs_yield_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        total_bytes: 1_000_000,
        seed: 11,
        ..Default::default()
    };
    generate(&cfg, dir.path()).unwrap();
    let ctx = context(dir.path()).await;
    let catalog = Catalog::bundled().unwrap();
    let d = diagnose(&ctx, &catalog, &HashMap::new()).await.unwrap();
    let names: Vec<_> = d.findings.iter().map(|f| f.check.clone()).collect();
    assert!(names.is_empty(), "false alarms on healthy logs: {names:?}");
    assert_eq!(d.checks.len(), catalog.checks().len());
    assert!(d.activesync_requests > 1000);
}

/// The bundled sample: every injected scenario is found, with the injected counts, and no
/// other check fires (the lockout implies password authentication is active: both are true).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_sample_names_every_injected_scenario() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let expected = generate(
        &GeneratorConfig::sample(),
        tempfile::tempdir().unwrap().path(),
    )
    .unwrap()
    .injected;
    let ctx = context(&sample).await;
    let d = diagnose(&ctx, &Catalog::bundled().unwrap(), &HashMap::new())
        .await
        .unwrap();
    let found: BTreeMap<String, &iisql::Finding> =
        d.findings.iter().map(|f| (f.check.clone(), f)).collect();
    let mut want: BTreeSet<String> = expected.iter().map(|i| i.check.to_string()).collect();
    want.insert("cba_password_auth_still_active".to_string());
    assert_eq!(found.keys().cloned().collect::<BTreeSet<_>>(), want);
    for inj in &expected {
        let f = found[inj.check];
        let devices: BTreeSet<String> = f.devices.iter().cloned().collect();
        let injected: BTreeSet<String> = inj.devices.iter().cloned().collect();
        if inj.check == "cba_password_auth_still_active" {
            // The lockout's bad passwords are password authentication too.
            assert!(devices.is_superset(&injected), "{}", inj.check);
            assert!(f.hits > inj.requests, "{}", inj.check);
            continue;
        }
        if !injected.is_empty() && !devices.is_empty() {
            assert_eq!(devices, injected, "{}", inj.check);
        }
        assert_eq!(f.hits, inj.requests, "{}", inj.check);
    }
}
