//! Parquet round trip: logs with random layouts and values, converted with `COPY ... TO` and
//! read back, are value-exact with equal row counts.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use proptest::prelude::*;

fn text_rows(batches: &[RecordBatch]) -> Vec<String> {
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

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_string()),
        "[A-Za-z0-9/%+=&._:-]{1,30}",
        "[0-9a-f:]{2,20}%[a-z0-9]{1,5}",
        "[a-zA-Z0-9+%]{100,300}",
    ]
}

fn line() -> impl Strategy<Value = (u8, u32, u16, u64, String, String)> {
    (
        1u8..28,
        0u32..86_400,
        100u16..600,
        any::<u32>().prop_map(u64::from),
        value(),
        value(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn parquet_round_trip_is_value_exact(
        rows in proptest::collection::vec(line(), 1..40),
        widen_at in 0usize..40,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("#Fields: date time cs-uri-stem sc-status sc-win32-status X-Custom\n");
        for (i, (day, secs, status, win32, stem, custom)) in rows.iter().enumerate() {
            if i == widen_at {
                text.push_str("#Fields: date time cs-uri-stem sc-status sc-win32-status X-Custom X-Forwarded-For\n");
            }
            text.push_str(&format!(
                "2024-02-{day:02} {:02}:{:02}:{:02} {stem} {status} {win32} {custom}{}\n",
                secs / 3600, secs / 60 % 60, secs % 60,
                if i >= widen_at { " 203.0.113.9" } else { "" }
            ));
        }
        std::fs::write(dir.path().join("u.log"), text).unwrap();
        let out = dir.path().join("out.parquet");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (before, after) = rt.block_on(async {
            let ctx = iisql::new_context().unwrap();
            iisql::register_logs(&ctx, "logs", &[dir.path().display().to_string()], Default::default())
                .await
                .unwrap();
            let before = ctx.sql("SELECT * FROM logs ORDER BY log_row").await.unwrap().collect().await.unwrap();
            ctx.sql(&format!("COPY (SELECT * FROM logs) TO '{}' STORED AS PARQUET", out.display()))
                .await.unwrap().collect().await.unwrap();
            let after = ctx
                .sql(&format!("SELECT * FROM '{}' ORDER BY log_row", out.display()))
                .await.unwrap().collect().await.unwrap();
            (before, after)
        });
        let b = text_rows(&before);
        prop_assert_eq!(b.len(), rows.len());
        prop_assert_eq!(text_rows(&after), b);
        let schema_before = before[0].schema();
        let schema_after = after[0].schema();
        for f in schema_before.fields() {
            let g = schema_after.field_with_name(f.name()).unwrap();
            prop_assert_eq!(g.data_type(), f.data_type(), "{}", f.name());
        }
    }
}

/// A context over `path` (registered as `logs`) whose queries run in `partitions` partitions
/// and write row groups of up to `group_rows` rows.
async fn context_over(
    path: &std::path::Path,
    partitions: usize,
    group_rows: usize,
    options: iisql::IisW3cOptions,
) -> datafusion::prelude::SessionContext {
    let mut config = iisql::session_config().with_target_partitions(partitions);
    config.options_mut().execution.parquet.max_row_group_size = group_rows;
    let ctx = iisql::new_context_with_config(config).unwrap();
    iisql::register_logs(&ctx, "logs", &[path.display().to_string()], options)
        .await
        .unwrap();
    ctx
}

/// The result of `sql` on `ctx`.
async fn query(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// `df` written by iisql's Parquet writer to `out`; returns the rows written.
async fn write(df: datafusion::prelude::DataFrame, out: &std::path::Path) -> u64 {
    let opts = iisql::parquet_out::parquet_write_options(
        df.task_ctx().session_config().options(),
        df.schema().as_arrow(),
    )
    .unwrap();
    iisql::parquet_writer::write_parquet(df, &out.display().to_string(), opts)
        .await
        .unwrap()
}

/// The row counts of the row groups of the Parquet file at `path`.
fn row_groups(path: &std::path::Path) -> Vec<i64> {
    let file = std::fs::File::open(path).unwrap();
    datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect()
}

#[tokio::test]
async fn every_partition_encodes_its_own_row_groups_of_one_file() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let ctx = context_over(&sample, 3, 700, Default::default()).await;
    let df = ctx.sql("SELECT * FROM logs").await.unwrap();
    let plan = df.clone().create_physical_plan().await.unwrap();
    use datafusion::physical_plan::ExecutionPlanProperties;
    assert_eq!(plan.output_partitioning().partition_count(), 3);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all.parquet");
    let written = write(df, &out).await;

    let want = text_rows(&query(&ctx, "SELECT * FROM logs ORDER BY log_filename, log_row").await);
    assert_eq!(written as usize, want.len());
    assert!(want.len() > 10_000, "{} rows", want.len());
    // Each partition fills its own row groups: all of at most 700 rows, and one not full per
    // partition, its last (a single stream of rows would leave one).
    let groups = row_groups(&out);
    assert!(groups.iter().all(|&n| n <= 700), "{groups:?}");
    let partial = groups.iter().filter(|&&n| n < 700).count();
    assert_eq!(partial, 3, "{groups:?}");
    assert_eq!(groups.iter().sum::<i64>() as usize, want.len());
    // Every row and value, with its type, read back.
    let sql = format!(
        "SELECT * FROM '{}' ORDER BY log_filename, log_row",
        out.display()
    );
    let back = query(&ctx, &sql).await;
    assert_eq!(text_rows(&back), want);
    let table = ctx.table("logs").await.unwrap();
    for f in table.schema().fields() {
        let g = back[0].schema();
        assert_eq!(
            g.field_with_name(f.name()).unwrap().data_type(),
            f.data_type()
        );
    }
}

#[tokio::test]
async fn an_ordered_result_is_written_in_its_order() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let ctx = context_over(&sample, 3, 700, Default::default()).await;
    let sql = "SELECT log_filename, log_row, time_taken FROM logs \
               ORDER BY time_taken DESC, log_filename, log_row";
    let want = text_rows(&query(&ctx, sql).await);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ordered.parquet");
    write(ctx.sql(sql).await.unwrap(), &out).await;
    let back = query(&ctx, &format!("SELECT * FROM '{}'", out.display())).await;
    assert_eq!(text_rows(&back), want);
}

#[tokio::test]
async fn a_new_file_replaces_the_old_and_a_failed_write_keeps_it() {
    let tree = crate::fixtures().join("tree");
    let ctx = context_over(&tree, 2, 700, Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let all = write(ctx.sql("SELECT * FROM logs").await.unwrap(), &out).await;
    let some = write(
        ctx.sql("SELECT * FROM logs WHERE sc_status = 200")
            .await
            .unwrap(),
        &out,
    )
    .await;
    assert!(0 < some && some < all, "{some} of {all}");
    assert_eq!(row_groups(&out).iter().sum::<i64>() as u64, some);
    let before = std::fs::read(&out).unwrap();

    // Strict mode fails at the tree's rejected line: the earlier file stays as it was, and the
    // new one's partial copy is gone.
    let strict = iisql::IisW3cOptions {
        strict: true,
        ..Default::default()
    };
    let ctx = context_over(&tree, 2, 700, strict).await;
    let df = ctx.sql("SELECT * FROM logs").await.unwrap();
    let opts = iisql::parquet_out::parquet_write_options(
        df.task_ctx().session_config().options(),
        df.schema().as_arrow(),
    )
    .unwrap();
    let err = iisql::parquet_writer::write_parquet(df, &out.display().to_string(), opts)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("strict"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.parquet")]);
}
