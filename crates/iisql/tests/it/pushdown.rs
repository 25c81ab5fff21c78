//! A `WHERE` applied inside the scan: the plan loses its `FilterExec`, and every answer equals
//! the one DataFusion computes over the same rows held in memory.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::datasource::MemTable;
use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample")
}

/// The answer's rows, one line each (column names, which name the table, left out).
async fn rows(ctx: &SessionContext, sql: &str) -> String {
    let batches: Vec<RecordBatch> = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let values: Vec<String> = b
                .columns()
                .iter()
                .map(|c| array_value_to_string(c, r).unwrap())
                .collect();
            out.push(values.join(" | "));
        }
    }
    out.join("\n")
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let p = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    displayable(p.as_ref()).indent(true).to_string()
}

/// The table `logs` over `path`, and `mem`: the same rows, read once into memory.
async fn logs_and_memory(path: &str) -> SessionContext {
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(&ctx, "logs", &[path.to_string()], Default::default())
        .await
        .unwrap();
    let all = ctx.table("logs").await.unwrap();
    let schema = Arc::new(all.schema().as_arrow().clone());
    let batches = all.collect().await.unwrap();
    let mem = MemTable::try_new(schema, vec![batches]).unwrap();
    ctx.register_table("mem", Arc::new(mem)).unwrap();
    ctx
}

const QUERIES: &[&str] = &[
    "SELECT sc_status, sc_substatus, count(*) AS n FROM {t} \
     WHERE starts_with(lower(cs_uri_stem), '/microsoft-server-activesync') \
     GROUP BY 1, 2 ORDER BY n DESC, 1, 2",
    "SELECT count(*) FROM {t} WHERE lower(cs_uri_stem) LIKE '/microsoft-server-activesync%'",
    "SELECT log_filename, log_row, cs_uri_query FROM {t} \
     WHERE starts_with(lower(cs_uri_stem), '/microsoft-server-activesync') \
     AND sc_status IN (401, 403) ORDER BY 1, 2",
    "SELECT date_trunc('hour', timestamp) AS h, count(*) FROM {t} \
     WHERE sc_status = 403 AND sc_substatus = 7 GROUP BY 1 ORDER BY 1",
    "SELECT count(*), sum(time_taken) FROM {t} WHERE sc_status >= 400 OR cs_username IS NULL",
    "SELECT cs_username, timestamp FROM {t} WHERE timestamp >= '2025-11-03T12:00:00' \
     AND cs_method = 'POST' ORDER BY 2, 1 LIMIT 7",
    "SELECT count(*) FROM {t} WHERE sc_win32_status <> 0 AND time_taken > 1000",
    "SELECT count(*) FROM {t} WHERE cs_uri_stem = 'nothing'",
    "SELECT c_ip, count(*) FROM {t} WHERE date = DATE '2025-11-04' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
];

#[tokio::test]
async fn the_scan_applies_the_where_and_answers_as_datafusion_does() {
    let ctx = logs_and_memory(&sample().display().to_string()).await;
    for q in QUERIES {
        let scan = q.replace("{t}", "logs");
        let physical = plan(&ctx, &scan).await;
        assert!(!physical.contains("FilterExec"), "{scan}\n{physical}");
        assert!(physical.contains("predicate="), "{scan}\n{physical}");
        let memory = q.replace("{t}", "mem");
        assert_eq!(rows(&ctx, &scan).await, rows(&ctx, &memory).await, "{scan}");
    }
    // Something was found: the comparisons are not between empty answers.
    let n = rows(
        &ctx,
        "SELECT count(*) FROM logs WHERE sc_status = 403 AND sc_substatus = 7",
    )
    .await;
    assert!(n != "0" && !n.is_empty(), "{n}");
}

#[tokio::test]
async fn conditions_the_scan_cannot_take_stay_in_a_filter() {
    let ctx = logs_and_memory(&sample().display().to_string()).await;
    // random() gives another answer each time: not pushed; the other condition is.
    let p = plan(
        &ctx,
        "SELECT count(*) FROM logs WHERE random() < 2 AND sc_status = 200",
    )
    .await;
    assert!(p.contains("FilterExec: random()"), "{p}");
    assert!(p.contains("predicate=sc_status"), "{p}");
}

#[tokio::test]
async fn lowering_a_prefix_is_exact_for_non_ascii_values() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("u_ex250101.log");
    // U+212A KELVIN SIGN lowers to an ASCII `k`; U+0130 lowers to `i` and a combining dot.
    std::fs::write(
        &log,
        "#Fields: date time cs-uri-stem sc-status\n\
         2025-01-01 00:00:00 /\u{212A}ey 200\n\
         2025-01-01 00:00:01 /Key 200\n\
         2025-01-01 00:00:02 /\u{130}tem 200\n\
         2025-01-01 00:00:03 /ke 200\n\
         2025-01-01 00:00:04 /\u{e9}t\u{e9} 200\n\
         2025-01-01 00:00:05 - 200\n",
    )
    .unwrap();
    let ctx = logs_and_memory(&log.display().to_string()).await;
    for q in [
        "SELECT cs_uri_stem FROM {t} WHERE starts_with(lower(cs_uri_stem), '/key') ORDER BY 1",
        "SELECT cs_uri_stem FROM {t} WHERE lower(cs_uri_stem) LIKE '/i%' ORDER BY 1",
        "SELECT count(*) FROM {t} WHERE NOT starts_with(lower(cs_uri_stem), '/k')",
    ] {
        let scan = q.replace("{t}", "logs");
        assert!(plan(&ctx, &scan).await.contains("predicate="));
        assert_eq!(
            rows(&ctx, &scan).await,
            rows(&ctx, &q.replace("{t}", "mem")).await,
            "{scan}"
        );
    }
    let both = rows(
        &ctx,
        "SELECT count(*) AS n FROM logs WHERE starts_with(lower(cs_uri_stem), '/key')",
    )
    .await;
    assert_eq!(both, "2");
}

#[tokio::test]
async fn rows_a_filter_drops_are_still_counted() {
    let ctx = logs_and_memory(&sample().display().to_string()).await;
    let log = iisql::scan_log(&ctx);
    let before = log.snapshot().stats.rows;
    rows(
        &ctx,
        "SELECT count(*) FROM logs WHERE cs_uri_stem = 'nothing'",
    )
    .await;
    assert_eq!(log.snapshot().stats.rows, before);
    assert!(before > 0);
}
