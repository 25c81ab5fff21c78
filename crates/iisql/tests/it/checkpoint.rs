//! Checkpoints over object storage: logs in a bucket (an in-memory object store here; S3 is
//! tested by `crates/iisql-cli/tests/cloud/stores.sh`) are read incrementally like local files.

use std::sync::Arc;

use datafusion::execution::context::SessionContext;
use iisql::IisW3cOptions;
use iisql::checkpoint::Checkpoint;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

const HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n\
                      #Fields: date time cs-method cs-uri-stem sc-status\n";

fn lines(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| format!("2025-11-03 10:00:{:02} GET /p{i} 200\n", i % 60))
        .collect()
}

async fn put(store: &InMemory, name: &str, text: &str) {
    store
        .put(
            &Path::from(name),
            PutPayload::from(text.as_bytes().to_vec()),
        )
        .await
        .unwrap();
}

/// The URIs a run reads (a fresh session, as each `iisql` run is) in order, with the
/// checkpoint `cp`; the checkpoint after it; the objects read from their start again.
async fn run(store: &Arc<InMemory>, cp: &Checkpoint) -> (Vec<String>, Checkpoint, Vec<String>) {
    let ctx = &context(store);
    let urls = ["memory://bucket/logs/".to_string()];
    let inc = cp.plan_all(ctx, &[], &urls).await.unwrap();
    let options = IisW3cOptions {
        ranges: Some(Arc::new(inc.ranges)),
        ..Default::default()
    };
    iisql::register_logs(ctx, "logs", &urls, options)
        .await
        .unwrap();
    let batches = ctx
        .sql("SELECT cs_uri_stem FROM logs ORDER BY log_filename, log_row")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let uris = iisql_rows(&batches);
    (uris, inc.next, inc.restarted)
}

fn iisql_rows(batches: &[datafusion::arrow::array::RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let col = datafusion::arrow::compute::cast(
            b.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let col = col
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap();
        out.extend(col.iter().map(|v| v.unwrap_or("NULL").to_string()));
    }
    out
}

fn context(store: &Arc<InMemory>) -> SessionContext {
    let ctx = iisql::new_context().unwrap();
    ctx.register_object_store(
        &url::Url::parse("memory://bucket").unwrap(),
        Arc::clone(store) as Arc<dyn ObjectStore>,
    );
    ctx
}

#[tokio::test]
async fn objects_are_read_incrementally_like_local_files() {
    let store = Arc::new(InMemory::new());
    // Three complete lines and one being written (the log grows by appending: the next
    // upload starts with these bytes).
    let whole = format!("{HEADER}{}", lines(0, 6));
    let partial = &whole[..format!("{HEADER}{}", lines(0, 3)).len() + 12];
    put(&store, "logs/u_ex251103.log", partial).await;
    let (first, cp, _) = run(&store, &Checkpoint::default()).await;
    assert_eq!(first, ["/p0", "/p1", "/p2"]);
    let mark = &cp.files["memory://bucket/logs/u_ex251103.log"];
    assert!(mark.offset > 0 && mark.offset < mark.size);

    // Re-uploaded with more lines (the partial one finished), and a new day's object.
    put(
        &store,
        "logs/u_ex251103.log",
        &format!("{HEADER}{}", lines(0, 6)),
    )
    .await;
    put(
        &store,
        "logs/u_ex251104.log",
        &format!("{HEADER}{}", lines(10, 12)),
    )
    .await;
    let (second, cp, restarted) = run(&store, &cp).await;
    assert_eq!(second, ["/p3", "/p4", "/p5", "/p10", "/p11"]);
    assert!(restarted.is_empty());

    // Nothing new: nothing read.
    let (third, cp, _) = run(&store, &cp).await;
    assert!(third.is_empty(), "{third:?}");

    // Replaced by another log (another head): read from its start, and said so.
    put(
        &store,
        "logs/u_ex251103.log",
        &format!("#Software: IIS\n{HEADER}{}", lines(20, 22)),
    )
    .await;
    let (fourth, cp, restarted) = run(&store, &cp).await;
    assert_eq!(fourth, ["/p20", "/p21"]);
    assert_eq!(restarted, ["memory://bucket/logs/u_ex251103.log"]);

    // A deleted object is forgotten; the checkpoint file round-trips the URLs.
    store
        .delete(&Path::from("logs/u_ex251104.log"))
        .await
        .unwrap();
    let (_, cp, _) = run(&store, &cp).await;
    assert!(!cp.files.contains_key("memory://bucket/logs/u_ex251104.log"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cp.json");
    cp.save(&file).unwrap();
    assert_eq!(Checkpoint::load(&file).unwrap(), cp);
}
