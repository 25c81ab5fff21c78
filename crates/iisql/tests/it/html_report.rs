//! The HTML diagnosis report from the library: a finding's timeline counts the finding's own
//! requests, and log text on the page is escaped.

use std::collections::HashMap;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use iisql::html_report::{timeline_sql, timelines};
use iisql::{Catalog, diagnose, html_report};
use iisql_generator::{GeneratorConfig, Scenario, generate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timelines_count_each_findings_requests_and_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GeneratorConfig {
        total_bytes: 1_400_000,
        seed: 11,
        scenarios: vec![
            Scenario::CertMissing { devices: 4 },
            Scenario::CertExpired { devices: 2 },
        ],
        ..Default::default()
    };
    generate(&cfg, dir.path()).unwrap();
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &ctx,
        "logs",
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    iisql::register_activesync_view(&ctx, "activesync", "logs")
        .await
        .unwrap();
    let catalog = Catalog::bundled().unwrap();
    let mut d = diagnose(&ctx, &catalog, &HashMap::new()).await.unwrap();
    let checks: Vec<&str> = d.findings.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(checks, ["cba_cert_missing", "cba_cert_expired"]);

    // Every bundled check has a timeline; over these logs each adds up to its finding's hits.
    for q in catalog.checks() {
        assert!(!q.timeline.is_empty(), "{} has no timeline", q.name);
    }
    for f in &d.findings {
        let sql = timeline_sql(&catalog, f, "hour").unwrap();
        assert!(sql.contains("device_id IN ("), "{sql}");
        let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let total: i64 = b
            .iter()
            .map(|b| {
                let c = b.column_by_name("requests").unwrap();
                let a = c.as_primitive::<Int64Type>();
                (0..a.len()).map(|i| a.value(i)).sum::<i64>()
            })
            .sum();
        assert_eq!(total as u64, f.hits, "{}: {sql}", f.check);
    }
    // The report counts them all in one scan, to the same totals.
    let all = timelines(&ctx, &catalog, &d.findings, "hour")
        .await
        .unwrap();
    for (f, t) in d.findings.iter().zip(&all) {
        let total: f64 = t.as_ref().unwrap().iter().map(|(_, n)| n).sum();
        assert_eq!(total as u64, f.hits, "{}", f.check);
    }

    // Text from the logs is escaped wherever it lands.
    let evil = "<script>alert('x')</script>";
    d.findings[0].evidence[0][0] = evil.to_string();
    d.findings[0].example_lines = vec![format!("GET /{evil}")];
    d.findings[0].users = vec![evil.to_string()];
    let page = html_report(&ctx, &catalog, &d).await.unwrap();
    assert!(!page.contains("<script"), "unescaped log text");
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert_eq!(page.matches("<section class=\"finding\"").count(), 2);
    assert_eq!(page.matches("<svg ").count(), 5);
}
