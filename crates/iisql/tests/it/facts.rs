//! Read once, check many: a diagnosis over the per-request facts (the logs read once) finds
//! exactly what running every check over the logs finds, finding by finding and field by
//! field, on the bundled sample and on a generated multi-scenario corpus.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use iisql::facts::{FactsOptions, SLICE_ROWS};
use iisql::{Catalog, DiagnoseOptions, Diagnosis, Stage, diagnose_with};
use iisql_generator::{GeneratorConfig, Scenario, generate};

pub async fn diagnosis(
    dir: &Path,
    without_facts: bool,
    facts: FactsOptions,
) -> (Diagnosis, Vec<Stage>) {
    let (d, stages, _) = diagnosis_answering(dir, without_facts, facts).await;
    (d, stages)
}

/// [`diagnosis`], with how many requests a success answered (from the facts; 0 without).
pub async fn diagnosis_answering(
    dir: &Path,
    without_facts: bool,
    facts: FactsOptions,
) -> (Diagnosis, Vec<Stage>, usize) {
    let ctx = crate::activesync::context(dir).await;
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&stages);
    let options = DiagnoseOptions {
        without_facts,
        observer: Some(Arc::new(move |s: &Stage| {
            seen.lock().unwrap().push(s.clone())
        })),
        facts,
    };
    let d = diagnose_with(
        &ctx,
        &Catalog::bundled().unwrap(),
        &HashMap::new(),
        &options,
    )
    .await
    .unwrap();
    let mut answered = 0;
    if !without_facts {
        // The facts are the view's rows, and the session keeps them for what follows.
        let facts = iisql::facts::materialized(&ctx).expect("facts kept in the session");
        assert_eq!(facts.rows, d.activesync_requests);
        assert!(facts.path().is_dir());
        answered = facts.answered;
    }
    let stages = stages.lock().unwrap().clone();
    (d, stages, answered)
}

/// The facts as a diagnosis computes them by default, in slices of `slice_rows` requests.
pub fn sliced(slice_rows: u64) -> FactsOptions {
    FactsOptions {
        slice_rows,
        ..FactsOptions::default()
    }
}

/// Everything a report prints of a diagnosis, in order.
pub fn printed(d: &Diagnosis) -> String {
    format!(
        "{} requests, {} ActiveSync, checks {:?}\n{:#?}",
        d.requests, d.activesync_requests, d.checks, d.findings
    )
}

async fn same_findings(dir: &Path) -> Diagnosis {
    let (over_logs, _) = diagnosis(dir, true, sliced(SLICE_ROWS)).await;
    let (over_facts, stages, answered) = diagnosis_answering(dir, false, sliced(SLICE_ROWS)).await;
    assert!(!over_logs.findings.is_empty());
    assert_eq!(printed(&over_facts), printed(&over_logs));
    // Small slices: many slice boundaries fall between a challenge and the success that
    // answers it.
    let (small, _, small_answered) = diagnosis_answering(dir, false, sliced(300)).await;
    assert_eq!(printed(&small), printed(&over_logs));
    // The sweep in memory and the window in SQL answer the same requests.
    let by_window = FactsOptions {
        slice_rows: 300,
        by_window: true,
    };
    let (windowed, _, window_answered) = diagnosis_answering(dir, false, by_window).await;
    assert_eq!(printed(&windowed), printed(&over_logs));
    assert!(answered > 0);
    assert_eq!((small_answered, window_answered), (answered, answered));
    // The facts are read before the first check, then the shared results are computed, and
    // every check is announced once, in order.
    assert_eq!(
        stages[..3],
        [Stage::Counting, Stage::ReadingFacts, Stage::SharedResults]
    );
    assert_eq!(stages.last(), Some(&Stage::Done));
    let names: Vec<&str> = stages[3..stages.len() - 1]
        .iter()
        .map(|s| match s {
            Stage::Check { name, .. } => name.as_str(),
            other => panic!("unexpected stage {other:?}"),
        })
        .collect();
    assert_eq!(names, over_facts.checks);
    over_facts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_sample_gives_the_same_findings_from_its_facts() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let d = same_findings(&sample).await;
    assert!(d.findings.len() >= 15, "{}", printed(&d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_scenario_corpus_gives_the_same_findings_from_its_facts() {
    // Three front ends over three days with back ends, every scenario of the sample plus the
    // server-level ones (a front end that accepts instead of requiring, the mapping undone on
    // another), so that devices, servers and hours overlap.
    let dir = tempfile::tempdir().unwrap();
    let mut scenarios = Scenario::sample_set();
    scenarios.push(Scenario::AcceptNotRequire {
        devices: 4,
        server: 2,
        day: None,
    });
    scenarios.push(Scenario::MappingUndone {
        server: 1,
        day: 2,
        hour: 9,
        hours: 15,
    });
    scenarios.push(Scenario::TrustOutage {
        server: 0,
        hours: 3,
    });
    let cfg = GeneratorConfig {
        days: 3,
        servers: 3,
        total_bytes: 3 << 20,
        seed: 11,
        scenarios,
        ..Default::default()
    };
    generate(&cfg, dir.path()).unwrap();
    same_findings(dir.path()).await;
}

/// The count of `sql`'s one row.
async fn count(ctx: &datafusion::prelude::SessionContext, sql: &str) -> i64 {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let column = batches[0].column(0);
    column
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap()
        .value(0)
}

/// The facts keep the successes and the other requests in separate files, with statistics on
/// the status: a query for failures reads none of the successes' row groups, and counts what
/// the same query over the logs counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_read_without_the_successes() {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let ctx = crate::activesync::context(&sample).await;
    let failures_in_logs = count(
        &ctx,
        "SELECT count(*) FROM activesync WHERE sc_status = 403",
    )
    .await;
    assert!(failures_in_logs > 0);
    let facts = iisql::facts::materialize_activesync(&ctx).await.unwrap();
    let (mut successes, mut others) = (0, 0);
    for entry in std::fs::read_dir(facts.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        for group in builder.metadata().row_groups() {
            let status = group
                .columns()
                .iter()
                .find(|c| c.column_path().string() == "sc_status")
                .unwrap();
            assert!(
                status.statistics().is_some(),
                "{name}: no status statistics"
            );
        }
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            let status = arrow::compute::cast(
                batch.column_by_name("sc_status").unwrap(),
                &arrow::datatypes::DataType::Int64,
            )
            .unwrap();
            let status = status
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap();
            for s in status.iter() {
                let success = s.is_some_and(|s| (200..=299).contains(&s));
                if name.ends_with("-ok.parquet") {
                    assert!(success, "{name}: status {s:?}");
                    successes += 1;
                } else {
                    assert!(name.ends_with("-other.parquet"), "{name}");
                    assert!(!success, "{name}: status {s:?}");
                    others += 1;
                }
            }
        }
    }
    assert!(successes > 0 && others > 0, "{successes} {others}");
    assert_eq!(successes + others, facts.rows);
    let sql = "SELECT count(*) FROM activesync WHERE sc_status = 403";
    assert_eq!(count(&ctx, sql).await, failures_in_logs);
    let plan = ctx
        .sql(&format!("EXPLAIN ANALYZE {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let plan = arrow::util::pretty::pretty_format_batches(&plan)
        .unwrap()
        .to_string();
    // `row_groups_pruned_statistics=N total → M matched`: the successes' groups are skipped.
    let pruned = plan
        .split("row_groups_pruned_statistics=")
        .nth(1)
        .unwrap_or_else(|| panic!("no pruning metrics in {plan}"));
    let numbers: Vec<u64> = pruned
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .take(2)
        .map(|w| w.parse().unwrap())
        .collect();
    assert!(numbers[1] < numbers[0], "nothing pruned: {pruned:.80}");
}
