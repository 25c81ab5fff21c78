//! Ballista's in-process cluster (a scheduler and an executor on loopback ports): the same SQL,
//! saved queries and diagnosis as local execution, on the generated sample corpus and the real
//! logs beside the checkout.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use ballista_core::extension::SessionConfigExt;
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SessionContext;
use datafusion::physical_plan::displayable;
use iisql::{Catalog, IisW3cOptions};

use crate::common::{collect_rows, real_dir, sample_dir};

/// The SQL run on both sides: iisql's functions, the `activesync` view, joins, windows,
/// subqueries and time buckets.
const QUERIES: &[&str] = &[
    "SELECT count(*) AS n, sum(sc_bytes) AS bytes, sum(time_taken) AS ms FROM logs",
    "SELECT sc_status, sc_substatus, sc_win32_status, count(*) AS n FROM logs GROUP BY 1, 2, 3",
    "SELECT s_computername, date_trunc('hour', timestamp) AS hour, count(*) AS n \
     FROM logs GROUP BY 1, 2",
    "SELECT iis_status_text(sc_status, sc_substatus) AS what, \
     win32_error_text(sc_win32_status) AS why, count(*) AS n FROM logs GROUP BY 1, 2",
    "SELECT device_id, device_type, command, status_full, count(*) AS n FROM activesync \
     WHERE sc_status >= 400 GROUP BY 1, 2, 3, 4",
    "SELECT user, count(DISTINCT client_ip) AS ips, approx_distinct(device_id) AS devices \
     FROM activesync GROUP BY 1",
    "SELECT a.s_computername, a.n, b.n AS failures FROM \
     (SELECT s_computername, count(*) AS n FROM logs GROUP BY 1) a LEFT JOIN \
     (SELECT s_computername, count(*) AS n FROM logs WHERE sc_status >= 400 GROUP BY 1) b \
     USING (s_computername)",
    "SELECT cs_uri_stem, n, rank() OVER (ORDER BY n DESC, cs_uri_stem) AS r FROM \
     (SELECT cs_uri_stem, count(*) AS n FROM logs GROUP BY 1) t",
    "SELECT log_filename, min(log_row) AS first, max(log_row) AS last, count(*) AS n \
     FROM logs GROUP BY 1",
    "SELECT * FROM logs WHERE sc_status = 403 AND sc_substatus = 7 ORDER BY log_filename, log_row",
];

/// A local iisql context and one on the cluster, over the same logs.
async fn contexts(paths: &[String]) -> (SessionContext, SessionContext) {
    let local = iisql::new_context().unwrap();
    iisql::register_detected(&local, paths, IisW3cOptions::default())
        .await
        .unwrap();
    iisql::register_activesync_view(&local, "activesync", "logs")
        .await
        .unwrap();

    let config = iisql::session_config();
    let cluster = iisql_distributed::standalone_context(config).await.unwrap();
    iisql::register_detected(&cluster, paths, IisW3cOptions::default())
        .await
        .unwrap();
    let wrapped = iisql_distributed::distribute_tables(&cluster)
        .await
        .unwrap();
    assert!(wrapped.contains(&"logs".to_string()), "{wrapped:?}");
    // Jobs are planned by Ballista's static planner (see `iisql_distributed::session`).
    assert!(
        !cluster
            .state()
            .config()
            .ballista_adaptive_query_planner_enabled()
    );
    iisql::register_activesync_view(&cluster, "activesync", "logs")
        .await
        .unwrap();
    (local, cluster)
}

/// The plan of `sql` in `ctx`, as text.
async fn physical_plan(ctx: &SessionContext, sql: &str) -> String {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    displayable(plan.as_ref()).indent(true).to_string()
}

/// Runs `test` on a runtime whose threads have Ballista's 32 MiB stacks: the scheduler plans and
/// serializes deep plans (the `activesync` view) recursively, beyond the default 2 MiB.
fn on_cluster_runtime(test: impl std::future::Future<Output = ()>) {
    // `RUST_LOG=ballista=debug` shows the scheduler's and executor's log on stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 * 1024 * 1024)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

/// How long one query may take on the cluster before the test fails naming it: a lost task
/// leaves a Ballista job waiting for ever.
const PER_QUERY: Duration = Duration::from_secs(150);

/// The rows of `df` run on the cluster, or a failure naming `what` when it does not finish.
async fn cluster_rows(
    what: &str,
    df: impl Future<Output = DataFrame>,
    ordered: bool,
) -> Vec<String> {
    eprintln!("cluster: {what}");
    match tokio::time::timeout(PER_QUERY, async { collect_rows(df.await, ordered).await }).await {
        Ok(rows) => rows,
        Err(_) => panic!("{what} did not finish on the cluster in {PER_QUERY:?}"),
    }
}

#[test]
fn the_cluster_answers_as_local_execution_does() {
    on_cluster_runtime(answers_as_local_execution())
}

async fn answers_as_local_execution() {
    let (local, cluster) = contexts(&[sample_dir()]).await;
    // The cluster really runs the queries: its plan is a Ballista job.
    let plan = physical_plan(&cluster, QUERIES[0]).await;
    assert!(plan.contains("DistributedQueryExec"), "{plan}");
    assert!(
        !physical_plan(&local, QUERIES[0])
            .await
            .contains("DistributedQueryExec")
    );

    let started = Instant::now();
    let mut total_rows = 0;
    for sql in QUERIES {
        let want = collect_rows(local.sql(sql).await.unwrap(), false).await;
        let got = cluster_rows(sql, async { cluster.sql(sql).await.unwrap() }, false).await;
        assert!(!want.is_empty(), "{sql}");
        assert_eq!(got, want, "{sql}");
        total_rows += got.len();
    }
    eprintln!(
        "cluster: {} queries, {total_rows} result rows in {:.2} s",
        QUERIES.len(),
        started.elapsed().as_secs_f64()
    );

    // Every saved query, with its default parameters.
    let catalog = Catalog::bundled().unwrap();
    let started = Instant::now();
    let none = HashMap::new();
    for q in catalog.list() {
        let want = collect_rows(q.dataframe(&local, &none).await.unwrap(), false).await;
        let what = format!("saved query {}", q.name);
        let got = cluster_rows(
            &what,
            async { q.dataframe(&cluster, &none).await.unwrap() },
            false,
        )
        .await;
        assert_eq!(got, want, "saved query {}", q.name);
    }
    eprintln!(
        "cluster: {} saved queries in {:.2} s",
        catalog.list().len(),
        started.elapsed().as_secs_f64()
    );

    // The diagnosis: the same findings, with the same counts and evidence.
    let started = Instant::now();
    let want = iisql::diagnose(&local, &catalog, &none).await.unwrap();
    eprintln!("cluster: diagnose");
    let got = tokio::time::timeout(4 * PER_QUERY, iisql::diagnose(&cluster, &catalog, &none))
        .await
        .expect("diagnose finishes on the cluster")
        .unwrap();
    assert!(!want.findings.is_empty());
    assert_eq!(got.requests, want.requests);
    assert_eq!(got.activesync_requests, want.activesync_requests);
    let summary = |d: &iisql::Diagnosis| {
        d.findings
            .iter()
            .map(|f| {
                (
                    f.check.clone(),
                    f.rows,
                    f.hits,
                    f.users.clone(),
                    f.evidence.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&got), summary(&want));
    eprintln!(
        "cluster: diagnose ({} findings) in {:.2} s",
        got.findings.len(),
        started.elapsed().as_secs_f64()
    );

    // `SELECT * FROM 'file.log'` reads on the cluster too.
    let file = format!("{}/CAS02/W3SVC1/u_ex251104.log", sample_dir());
    let sql = format!("SELECT sc_status, count(*) FROM '{file}' GROUP BY 1");
    let plan = physical_plan(&cluster, &sql).await;
    assert!(plan.contains("DistributedQueryExec"), "{plan}");
    let want = collect_rows(local.sql(&sql).await.unwrap(), false).await;
    let got = cluster_rows(&sql, async { cluster.sql(&sql).await.unwrap() }, false).await;
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

#[test]
fn the_cluster_reads_the_real_logs_as_local_execution_does() {
    on_cluster_runtime(reads_the_real_logs())
}

async fn reads_the_real_logs() {
    let Some(real) = real_dir() else {
        eprintln!("../shared/data/real-iis is not beside the checkout; skipped");
        return;
    };
    let (local, cluster) = contexts(&[real]).await;
    let started = Instant::now();
    for sql in [
        "SELECT count(*) AS n, sum(sc_status) AS s, count(DISTINCT log_filename) AS files FROM logs",
        "SELECT sc_status, cs_method, count(*) AS n FROM logs GROUP BY 1, 2",
        "SELECT date_trunc('day', timestamp) AS day, count(*) AS n, max(cs_user_agent) AS ua \
         FROM logs GROUP BY 1",
    ] {
        let want = collect_rows(local.sql(sql).await.unwrap(), false).await;
        let got = cluster_rows(sql, async { cluster.sql(sql).await.unwrap() }, false).await;
        assert!(!want.is_empty(), "{sql}");
        assert_eq!(got, want, "{sql}");
    }
    eprintln!(
        "cluster: 3 queries over the real logs in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// What an `iisql-scheduler` does with a client's query: a session made by the scheduler's
/// session builder from its config updated with the client's settings (which say not to
/// create the default catalog, as any session derived from another does).
#[tokio::test]
async fn the_scheduler_makes_iisql_sessions_from_client_settings() {
    use ballista_core::extension::SessionConfigHelperExt;
    // No scheduler listens there: a client context connects only when a query runs.
    let client = iisql_distributed::remote_context("df://127.0.0.1:9", iisql::session_config())
        .await
        .unwrap();
    let settings = client.state().config().to_key_value_pairs();
    let config = iisql_distributed::scheduler_config().update_from_key_value_pair(&settings);
    let state = iisql_distributed::iisql_state(config).unwrap();
    let ctx = SessionContext::new_with_state(state);
    let rows = collect_rows(
        ctx.sql("SELECT iis_status_text(403, 7) AS t")
            .await
            .unwrap(),
        true,
    )
    .await;
    assert_eq!(rows.len(), 1);
}
