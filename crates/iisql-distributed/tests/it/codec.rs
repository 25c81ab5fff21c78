//! The codecs without a cluster: plans written to bytes and read back run to the same rows.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use datafusion::execution::context::SessionContext;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use iisql::IisW3cOptions;
use iisql_distributed::proto::MAGIC;
use iisql_distributed::{IisqlLogicalCodec, IisqlPhysicalCodec, distribute_tables};

use crate::common::{rows, sample_dir};

const QUERY: &str = "SELECT sc_status, sc_substatus, count(*) AS hits, sum(sc_bytes) AS bytes, \
     min(timestamp) AS first, max(cs_uri_stem) AS uri FROM logs GROUP BY 1, 2";

async fn context(paths: &[String], options: IisW3cOptions) -> SessionContext {
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(&ctx, "logs", paths, options)
        .await
        .unwrap();
    ctx
}

/// The plan read back from bytes, and whether an iisql node was among them.
fn physical_round_trip(
    plan: Arc<dyn ExecutionPlan>,
    ctx: &SessionContext,
) -> (Arc<dyn ExecutionPlan>, bool) {
    let codec = IisqlPhysicalCodec::default();
    let bytes = physical_plan_to_bytes_with_extension_codec(Arc::clone(&plan), &codec).unwrap();
    let ours = bytes.windows(MAGIC.len()).any(|w| w == MAGIC);
    let back =
        physical_plan_from_bytes_with_extension_codec(&bytes, &ctx.task_ctx(), &codec).unwrap();
    (back, ours)
}

async fn physical_rows_both_ways(ctx: &SessionContext, sql: &str) -> (Vec<String>, Vec<String>) {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let (back, ours) = physical_round_trip(Arc::clone(&plan), ctx);
    assert!(ours, "the scan went through iisql's codec");
    assert_eq!(
        displayable(plan.as_ref()).indent(true).to_string(),
        displayable(back.as_ref()).indent(true).to_string(),
        "the plan reads back as it was"
    );
    let before = rows(&collect(plan, ctx.task_ctx()).await.unwrap(), false);
    let after = rows(&collect(back, ctx.task_ctx()).await.unwrap(), false);
    (before, after)
}

#[tokio::test]
async fn a_scan_read_back_from_bytes_reads_the_same_rows() {
    let ctx = context(&[sample_dir()], IisW3cOptions::default()).await;
    let (before, after) = physical_rows_both_ways(&ctx, QUERY).await;
    assert!(before.len() > 5, "{before:?}");
    assert_eq!(before, after);
}

#[tokio::test]
async fn checkpoint_ranges_and_compression_travel_with_the_scan() {
    let file = format!("{}/CAS01/W3SVC1/u_ex251103.log", sample_dir());
    let bytes = std::fs::read(&file).unwrap();
    // The first 300 lines, as a checkpoint would give them.
    let end = memchr_nth(&bytes, 300) + 1;
    let options = IisW3cOptions {
        ranges: Some(Arc::new(HashMap::from([(file.clone(), (0, end as u64))]))),
        ..Default::default()
    };
    let ctx = context(std::slice::from_ref(&file), options).await;
    let sql = "SELECT count(*) AS n, max(log_row) AS last FROM logs";
    let (before, after) = physical_rows_both_ways(&ctx, sql).await;
    assert_eq!(before, after);
    let whole = context(std::slice::from_ref(&file), IisW3cOptions::default()).await;
    let (all, _) = physical_rows_both_ways(&whole, sql).await;
    assert_ne!(before, all, "the range read fewer lines than the file has");

    // A gzip copy: the scan's compression is not in DataFusion's protobuf, the codec keeps it.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("u_ex251103.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&bytes).unwrap();
    enc.finish().unwrap();
    let zipped = context(&[gz.display().to_string()], IisW3cOptions::default()).await;
    let (before, after) = physical_rows_both_ways(&zipped, sql).await;
    assert_eq!(before, after);
    assert_eq!(before, all, "the gzip copy reads as the plain file");
}

fn memchr_nth(bytes: &[u8], n: usize) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(n - 1)
        .map(|(i, _)| i)
        .expect("enough lines")
}

#[tokio::test]
async fn a_log_table_read_back_from_bytes_reads_the_same_rows() {
    let ctx = context(&[sample_dir()], IisW3cOptions::default()).await;
    let sql = "SELECT cs_username, count(*) FROM logs WHERE sc_status = 403 GROUP BY 1";
    // DataFusion writes a ListingTable only for its own formats.
    let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
    let err = logical_plan_to_bytes_with_extension_codec(&plan, &IisqlLogicalCodec::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown file format"), "{err}");

    assert_eq!(
        distribute_tables(&ctx).await.unwrap(),
        vec!["logs".to_string()]
    );
    let plan = ctx.sql(sql).await.unwrap().into_optimized_plan().unwrap();
    let codec = IisqlLogicalCodec::default();
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
    let back =
        logical_plan_from_bytes_with_extension_codec(&bytes, &ctx.task_ctx(), &codec).unwrap();
    assert_eq!(
        format!("{}", plan.display_indent()),
        format!("{}", back.display_indent())
    );
    let before = rows(
        &ctx.execute_logical_plan(plan)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap(),
        false,
    );
    let after = rows(
        &ctx.execute_logical_plan(back)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap(),
        false,
    );
    assert!(!before.is_empty());
    assert_eq!(before, after);
}
