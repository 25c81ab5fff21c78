//! The Rust API: register_logs, the session, the scan log, projection and errors.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::physical_plan::displayable;
use iisql::IisW3cOptions;
use iisql::IisqlSessionExt;

use crate::fixtures;

async fn count(ctx: &datafusion::prelude::SessionContext, sql: &str) -> i64 {
    let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    b[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn register_logs_reads_a_folder_tree_and_reports_rejects() {
    let ctx = iisql::new_context().unwrap();
    let tree = fixtures().join("tree");
    iisql::register_logs(
        &ctx,
        "logs",
        &[tree.display().to_string()],
        IisW3cOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(count(&ctx, "SELECT count(*) FROM logs").await, 8);
    let report = iisql::scan_log(&ctx).snapshot();
    assert_eq!(report.files, 2);
    assert_eq!(report.stats.rows, 8);
    assert_eq!(report.stats.rejected, 1);
    let r = &report.rejects[0];
    assert!(r.file.ends_with("tree/W3SVC1/u_ex240115.log"), "{}", r.file);
    assert_eq!(r.line, 14);
    assert_eq!(report.summary(), "8 rows from 2 files; 1 line rejected");
}

#[tokio::test]
async fn embedding_into_a_foreign_context() {
    let ctx = datafusion::prelude::SessionContext::new();
    iisql::register_iis(&ctx).unwrap();
    let tree = fixtures().join("tree");
    ctx.sql(&format!(
        "CREATE EXTERNAL TABLE t STORED AS IISW3C LOCATION '{}'",
        tree.join("W3SVC2/u_ex240116.log").display()
    ))
    .await
    .unwrap();
    assert_eq!(count(&ctx, "SELECT count(*) FROM t").await, 2);
    // A folder given to register_logs is searched recursively whatever the session's settings.
    iisql::register_logs(
        &ctx,
        "all",
        &[tree.display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(count(&ctx, "SELECT count(*) FROM all").await, 8);
}

#[tokio::test]
async fn projection_reaches_the_scan() {
    let ctx = iisql::new_context().unwrap();
    let tree = fixtures().join("tree");
    iisql::register_logs(
        &ctx,
        "logs",
        &[tree.display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let plan = ctx
        .sql("SELECT cs_method FROM logs WHERE sc_status = 200")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(
        // The WHERE is applied by the scan, which returns only the column the query selects.
        text.contains("projection=[cs_method]")
            && text.contains("predicate=sc_status@")
            && !text.contains("FilterExec")
            && text.contains("file_type=iisw3c"),
        "{text}"
    );
    // A LIMIT reaches the scan too.
    let plan = ctx
        .sql("SELECT cs_method FROM logs LIMIT 3")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(
        text.contains("limit=3") && text.contains("file_type=iisw3c"),
        "{text}"
    );
    // ...and the scan stops early: a LIMIT over a 20 MB file reads a chunk or two of it.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("#Fields: date time c-ip cs-uri-stem sc-status\n");
    while text.len() < 20 << 20 {
        text.push_str("2024-03-01 00:00:00 10.0.0.1 /a/rather/long/path/to/a/page 200\n");
    }
    std::fs::write(dir.path().join("u_ex1.log"), &text).unwrap();
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &ctx,
        "big",
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let log = iisql::scan_log(&ctx);
    log.reset();
    let b = ctx
        .sql("SELECT cs_uri_stem FROM big LIMIT 3")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    let read = log.bytes_read();
    assert!(read > 0 && read < 8 << 20, "{read} bytes read for LIMIT 3");
}

#[tokio::test]
async fn max_errors_and_strict_stop_the_scan() {
    let ctx = iisql::new_context().unwrap();
    let file = fixtures()
        .join("headerless/short.log")
        .display()
        .to_string();
    iisql::register_logs(
        &ctx,
        "t",
        &[&file],
        IisW3cOptions::default().with_max_errors(1),
    )
    .await
    .unwrap();
    let err = ctx
        .sql("SELECT * FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("too many rejected lines: 2 > max_errors 1"),
        "{msg}"
    );
    assert!(msg.contains("short.log:1:"), "{msg}");

    iisql::register_logs(
        &ctx,
        "s",
        &[&file],
        IisW3cOptions::default().with_strict(true),
    )
    .await
    .unwrap();
    let err = ctx
        .sql("SELECT * FROM s")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("strict mode"), "{err}");
}

#[tokio::test]
async fn missing_and_empty_paths_are_clear_errors() {
    let ctx = iisql::new_context().unwrap();
    let err = iisql::register_logs(&ctx, "t", &["/no/such/dir"], Default::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("/no/such/dir: no such file or directory"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = iisql::register_logs(
        &ctx,
        "t",
        &[empty.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no .log files found"), "{err}");
}

#[tokio::test]
async fn count_star_converts_no_column() {
    let ctx = iisql::new_context().unwrap();
    let tree = fixtures().join("tree");
    iisql::register_logs(
        &ctx,
        "logs",
        &[tree.display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let plan = ctx
        .sql("SELECT count(*) FROM logs")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(!text.contains("projection=[timestamp"), "{text}");
    let b = ctx
        .sql("SELECT log_row FROM logs ORDER BY log_row LIMIT 2")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        b[0].column(0).as_primitive::<Int64Type>().values().to_vec(),
        vec![5, 5]
    );
    // Converting no value shows: an unreadable value is not met by count(*), and is by a query
    // that reads its column.
    let (_dir, ctx) = one_file_table(
        "#Fields: date time sc-status\n2024-01-01 00:00:00 abc\n2024-01-01 00:00:01 200\n",
    )
    .await;
    let log = iisql::scan_log(&ctx);
    for (sql, invalid) in [
        ("SELECT count(*) FROM t", 0),
        ("SELECT count(sc_status) FROM t", 1),
    ] {
        log.reset();
        ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let r = log.snapshot();
        assert_eq!(
            (r.stats.rows, r.stats.invalid_values),
            (2, invalid),
            "{sql}"
        );
    }
}

/// A context with table `t` over one log file of `text`.
async fn one_file_table(text: &str) -> (tempfile::TempDir, datafusion::prelude::SessionContext) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("u_ex1.log"), text).unwrap();
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &ctx,
        "t",
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    (dir, ctx)
}

/// A query that scans one file twice, reading other columns each time (a UNION, the
/// `activesync` view joined with itself), counts every unreadable value once.
#[tokio::test]
async fn values_read_by_two_scans_of_one_file_all_count() {
    let (_dir, ctx) = one_file_table(
        "#Fields: date time sc-status time-taken\n2024-01-01 00:00:00 200 1\n\
         2024-01-01 00:00:01 200 x\n2024-01-01 00:00:02 abc 3\n2024-01-01 00:00:03 200 y\n",
    )
    .await;
    let log = iisql::scan_log(&ctx);
    for sql in [
        "SELECT count(sc_status) AS n FROM t UNION ALL SELECT count(time_taken) FROM t",
        "SELECT count(time_taken) AS n FROM t UNION ALL SELECT count(sc_status) FROM t",
        "SELECT count(sc_status), count(time_taken) FROM t",
    ] {
        log.reset();
        ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let r = log.snapshot();
        assert_eq!(r.stats.invalid_values, 3, "{sql}");
        let lines: Vec<u64> = r.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines.len(), 3, "{sql}: {lines:?}");
    }
}

#[tokio::test]
async fn custom_fields_of_any_file_become_columns() {
    // DataFusion infers a multi-path table from its first path only; register_logs must not.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.log"),
        "#Fields: date time c-ip\n2024-01-01 00:00:00 1.1.1.1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.log"),
        "#Fields: date time c-ip X-Forwarded-For\n2024-01-01 00:00:01 10.0.0.5 2.2.2.2\n",
    )
    .unwrap();
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &ctx,
        "logs",
        &[dir.path().display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        count(&ctx, "SELECT count(x_forwarded_for) FROM logs").await,
        1
    );
}

#[tokio::test]
async fn a_line_rejected_by_several_scans_counts_once() {
    let ctx = iisql::new_context().unwrap();
    let file = fixtures()
        .join("headerless/short.log")
        .display()
        .to_string();
    iisql::register_logs(
        &ctx,
        "t",
        &[&file],
        IisW3cOptions::default().with_max_errors(2),
    )
    .await
    .unwrap();
    // Three scans of the same two rejected lines: still 2 lines, within max_errors.
    let sql = "SELECT count(*) FROM (SELECT * FROM t UNION ALL SELECT * FROM t UNION ALL SELECT * FROM t)";
    assert_eq!(count(&ctx, sql).await, 0);
    let report = iisql::scan_log(&ctx).snapshot();
    assert_eq!(
        (report.files, report.stats.rejected, report.rejects.len()),
        (1, 2, 2)
    );
}

#[tokio::test]
async fn custom_fields_of_the_fields_option_become_columns() {
    let ctx = iisql::new_context().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("h.log"),
        "2024-01-01 00:00:00 10.0.0.5 203.0.113.7\n",
    )
    .unwrap();
    let opts = IisW3cOptions::default().with_fields("date time c-ip X-Forwarded-For");
    iisql::register_logs(&ctx, "t", &[dir.path().display().to_string()], opts)
        .await
        .unwrap();
    assert_eq!(
        count(
            &ctx,
            "SELECT count(*) FROM t WHERE x_forwarded_for = '203.0.113.7'"
        )
        .await,
        1
    );
}

/// A log of `lines` rows (stems `/{stem}/{i}`) in a temp folder, and a running scan of
/// `column` over it with one partition: (folder, file, text, context, stream).
async fn scan_of_a_large_file(
    stem: &str,
    lines: usize,
    column: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    String,
    datafusion::prelude::SessionContext,
    datafusion::physical_plan::SendableRecordBatchStream,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex1.log");
    let mut text = String::from("#Fields: date time c-ip cs-uri-stem sc-status\n");
    for i in 0..lines {
        text.push_str(&format!(
            "2024-03-01 00:00:{:02} 10.0.0.1 /{stem}/{i} 200\n",
            i % 60
        ));
    }
    std::fs::write(&path, &text).unwrap();
    let ctx =
        iisql::new_context_with_config(iisql::session_config().with_target_partitions(1)).unwrap();
    iisql::register_logs(&ctx, "t", &[path.display().to_string()], Default::default())
        .await
        .unwrap();
    let stream = ctx
        .sql(&format!("SELECT {column} FROM t"))
        .await
        .unwrap()
        .execute_stream()
        .await
        .unwrap();
    (dir, path, text, ctx, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_truncated_while_it_is_scanned() {
    use futures::StreamExt;
    // One partition: the file is read in order, so what has been read when the first batch
    // arrives is known (one chunk), and the cut below lies beyond it.
    let (_dir, path, text, ctx, mut stream) =
        scan_of_a_large_file("page", 200_000, "log_row").await;
    // Cut the file mid-line, well past what the scan has read when its first batch arrives
    // (one 2 MiB chunk): in line 150,001, after its third field.
    let line_start = text.match_indices('\n').nth(150_000).unwrap().0 + 1;
    let cut = line_start + "2024-03-01 00:00:00 10.0".len();
    let mut rows = 0;
    let mut truncated = false;
    while let Some(batch) = stream.next().await {
        rows += batch.expect("no error from a truncated file").num_rows();
        if !truncated {
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(cut as u64).unwrap();
            truncated = true;
        }
    }
    assert_eq!(rows, 150_000);
    let report = iisql::scan_log(&ctx).snapshot();
    let s = report.stats;
    assert_eq!(
        s.lines,
        s.rows + s.rejected + s.directives + s.blank_lines + s.nul_lines
    );
    assert_eq!((s.rows, s.rejected, s.lines), (150_000, 1, 150_002));
    // The cut line is reported as an incomplete last line, not as a row.
    let rejects: Vec<_> = report
        .rejects
        .iter()
        .map(|r| (r.line, r.byte_offset as usize, r.reason.clone()))
        .collect();
    assert_eq!(
        rejects,
        vec![(
            150_002,
            line_start,
            iisql::iis_log::RejectReason::IncompleteLastLine {
                expected: 5,
                found: 3
            }
        )]
    );
}

#[tokio::test]
async fn a_file_replaced_while_it_is_scanned_is_read_as_it_was_opened() {
    use futures::StreamExt;
    // One partition: one open of the file (byte ranges of a large file are opened one by one).
    let (dir, path, _, ctx, mut stream) = scan_of_a_large_file("old", 100_000, "cs_uri_stem").await;
    let mut rows = 0;
    let mut replaced = false;
    let mut stems = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("no error from a replaced file");
        rows += batch.num_rows();
        let col = batch.column(0).as_string_view();
        stems += col
            .iter()
            .filter(|v| v.is_some_and(|v| v.starts_with("/old/")))
            .count();
        if !replaced {
            // Log rotation tools write a new file and rename it over the old one.
            let new = dir.path().join("u_ex1.log.new");
            std::fs::write(&new, "#Fields: date time c-ip cs-uri-stem sc-status\n2024-03-02 00:00:00 1.1.1.1 /new 200\n").unwrap();
            std::fs::rename(&new, &path).unwrap();
            replaced = true;
        }
    }
    // The scan reads the file it opened, whole and unmixed.
    assert_eq!((rows, stems), (100_000, 100_000));
    assert!(iisql::scan_log(&ctx).snapshot().rejects.is_empty());
}

#[test]
fn iisql_functions_never_replace_a_datafusion_function() {
    // Log Parser's SUBSTR is 0-based, SQL's 1-based: ours is lp_substr, and no iisql function
    // takes the name (or an alias) of one DataFusion has.
    let plain = datafusion::prelude::SessionContext::new();
    let state = plain.state();
    let builtin = state.scalar_functions();
    for f in iisql::functions::all_functions() {
        for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
            assert!(
                !builtin.contains_key(name),
                "{name} would replace DataFusion's function"
            );
        }
    }
    assert!(builtin.contains_key("substr"));
}

#[tokio::test]
async fn fields_directives_across_inference_blocks_become_columns() {
    // Inference reads a local file in blocks of 256 KiB: directives that straddle the block
    // ends at 4 and 8 MiB, and one after NUL padding at 12 MiB, are all seen.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex251103.log");
    let mut text = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
                    #Fields: date time cs-uri-stem sc-status\r\n"
        .to_string();
    // Rows of each layout: the fields added so far hold `a`, `b`.
    let row = |stem: &str, extra: &str| format!("2025-11-03 10:00:00 /{stem} 200{extra}\r\n");
    let mut rows = 0;
    let mut extra = String::new();
    for (window_end, directive, value) in [
        (
            4usize << 20,
            "#Fields: date time cs-uri-stem sc-status X-Late\r\n",
            " a",
        ),
        (
            8 << 20,
            "#Fields: date time cs-uri-stem sc-status X-Late X-Later\r\n",
            " b",
        ),
    ] {
        let line = row("Microsoft-Server-ActiveSync/default.eas", &extra);
        let target = window_end - directive.len() / 2;
        while text.len() + 2 * line.len() < target {
            text.push_str(&line);
            rows += 1;
        }
        // A last row long enough to end exactly at `target`.
        let short = row("", &extra).len();
        text.push_str(&row(&"x".repeat(target - text.len() - short), &extra));
        rows += 1;
        // The directive begins before the window's end and ends after it.
        assert!(text.len() < window_end && text.len() + directive.len() > window_end);
        text.push_str(directive);
        extra.push_str(value);
    }
    let line = row("owa/", &extra);
    let mut later = 0;
    while text.len() + line.len() < (12 << 20) - 8 {
        text.push_str(&line);
        later += 1;
    }
    let mut bytes = text.into_bytes();
    bytes.resize(12 << 20, 0);
    bytes.extend_from_slice(
        b"#Fields: date time cs-uri-stem sc-status X-Late X-Later X-After-Crash\r\n\
          2025-11-03 11:00:00 /owa/ 200 a b c\r\n",
    );
    rows += later + 1;
    std::fs::write(&path, bytes).unwrap();

    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(
        &ctx,
        "logs",
        &[path.display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(count(&ctx, "SELECT count(*) FROM logs").await, rows);
    assert_eq!(iisql::scan_log(&ctx).snapshot().stats.rejected, 0);
    assert_eq!(
        count(&ctx, "SELECT count(*) FROM logs WHERE x_later = 'b'").await,
        later + 1
    );
    assert_eq!(
        count(
            &ctx,
            "SELECT count(*) FROM logs WHERE x_late = 'a' AND x_after_crash = 'c'"
        )
        .await,
        1
    );
}

/// `Inputs` sets up what `iisql PATH` does: a table per format found, the only one also as
/// `logs`, the `activesync` view over web logs; one named table; a checkpoint that reads only
/// what is new.
#[tokio::test]
async fn inputs_register_what_the_cli_sets_up() {
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let sample = sample.canonicalize().unwrap().display().to_string();

    // Web logs: `logs` and the view.
    let ctx = iisql::new_context().unwrap();
    let reg = ctx
        .register_inputs(iisql::Inputs::new([sample.clone()]))
        .await
        .unwrap();
    let names: Vec<&str> = reg.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["logs"]);
    assert!(reg.local_bytes > 1_000_000, "{}", reg.local_bytes);
    let rows = count(&ctx, "SELECT count(*) FROM logs").await;
    assert!(rows > 10_000, "{rows}");
    assert!(count(&ctx, "SELECT count(*) FROM activesync").await > 0);

    // HTTPERR only: its own table, `logs` as its alias, no `activesync` (not web logs).
    let ctx = iisql::new_context().unwrap();
    let httperr = fixtures()
        .join("formats/httperr1.log")
        .display()
        .to_string();
    let reg = ctx
        .register_inputs(iisql::Inputs::new([httperr]))
        .await
        .unwrap();
    let names: Vec<&str> = reg.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["httperr", "logs"]);
    assert_eq!(
        count(&ctx, "SELECT count(*) FROM httperr").await,
        count(&ctx, "SELECT count(*) FROM logs").await
    );
    assert!(ctx.table("activesync").await.is_err());

    // One table under the name asked for, with the view over it.
    let ctx = iisql::new_context().unwrap();
    let inputs = iisql::Inputs {
        table: Some("farm".to_string()),
        ..iisql::Inputs::new([sample.clone()])
    };
    let reg = ctx.register_inputs(inputs).await.unwrap();
    assert_eq!(reg.logs_table, "farm");
    assert_eq!(count(&ctx, "SELECT count(*) FROM farm").await, rows);
    assert!(count(&ctx, "SELECT count(*) FROM activesync").await > 0);

    // A checkpoint: the first run reads everything; once its `next` is saved, a second run
    // reads nothing new. A third run at the same time as the second is refused (locked).
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let checkpointed = || iisql::Inputs {
        checkpoint: Some(cp.clone()),
        ..iisql::Inputs::new([sample.clone()])
    };
    let ctx = iisql::new_context().unwrap();
    let reg = ctx.register_inputs(checkpointed()).await.unwrap();
    assert_eq!(count(&ctx, "SELECT count(*) FROM logs").await, rows);
    let planned = reg.checkpoint.unwrap();
    assert!(planned.new_bytes > 0);
    planned.next.save(&planned.path).unwrap();
    drop(planned);
    let ctx = iisql::new_context().unwrap();
    let reg = ctx.register_inputs(checkpointed()).await.unwrap();
    assert_eq!(count(&ctx, "SELECT count(*) FROM logs").await, 0);
    let ctx2 = iisql::new_context().unwrap();
    let err = ctx2.register_inputs(checkpointed()).await.unwrap_err();
    assert!(err.to_string().contains("cp.json"), "{err}");
    drop(reg);
}

/// Under a memory limit, a grouped aggregation on two partitions whose repartition cannot
/// reserve memory finishes (DataFusion 55's repartition spill pool could stop such a query for
/// ever, apache/datafusion#24883): iisql's bounded pool never refuses a repartition, and the
/// aggregation still runs within the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_pool_never_stops_a_repartition() {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(iisql::memory::bounded_pool(2 << 20))
        .build_arc()
        .unwrap();
    let config = iisql::session_config()
        .with_target_partitions(2)
        .with_batch_size(64);
    let ctx = iisql::new_context_with_runtime(config, runtime).unwrap();
    ctx.sql(
        "CREATE TABLE t AS SELECT v % 13 AS g, \
         concat('trace-', CAST(v % 337 AS VARCHAR), '-0123456789abcdef0123456789abcdef') AS id \
         FROM generate_series(1, 40000) AS s(v)",
    )
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    for attempt in 0..12 {
        let run = async {
            let df = ctx
                .sql("SELECT g, count(DISTINCT id) AS n FROM t GROUP BY g")
                .await?;
            df.collect().await
        };
        let batches = tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .unwrap_or_else(|_| panic!("attempt {attempt} did not finish"))
            .unwrap();
        let groups: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(groups, 13, "attempt {attempt}");
    }
}

/// A session bounded as `diagnose` runs (the bounded pool, with `fit_config`'s merge
/// reservations) diagnoses the bundled sample within 16 MB, where DataFusion's 10 MB per sort
/// and partition filled a 32 MB pool, and finds what an unbounded session finds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_session_diagnoses_as_an_unbounded_one() {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let limit = 16 << 20;
    // The floor grows with the partitions (each sort needs a batch): pinned for any machine.
    let config = || iisql::session_config().with_target_partitions(2);
    let runtime = iisql::memory::bounded_runtime(limit).unwrap();
    assert_eq!(
        runtime.disk_manager.max_spill_merge_fan_in(),
        iisql::memory::SPILL_MERGE_FAN_IN
    );
    let bounded =
        iisql::new_context_with_runtime(iisql::memory::fit_config(config(), limit), runtime)
            .unwrap();
    let unbounded =
        iisql::new_context_with_runtime(config(), RuntimeEnvBuilder::new().build_arc().unwrap())
            .unwrap();
    let mut printed = Vec::new();
    for ctx in [&bounded, &unbounded] {
        ctx.register_inputs(iisql::Inputs::new([sample.to_string_lossy().into_owned()]))
            .await
            .unwrap();
        let catalog = iisql::Catalog::bundled().unwrap();
        let d = iisql::diagnose(ctx, &catalog, &std::collections::HashMap::new())
            .await
            .unwrap();
        assert!(!d.findings.is_empty());
        printed.push(crate::facts::printed(&d));
    }
    assert_eq!(printed[0], printed[1]);
}

/// What `iisql convert` writes, from the library: the sample written as a lake partitioned by
/// day (hive folders), read back with the same rows, times and clients per day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_written_from_the_library_reads_back_as_its_logs() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let ctx = iisql::new_context().unwrap();
    ctx.register_inputs(iisql::Inputs::new([sample.to_string_lossy().into_owned()]))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("lake").display().to_string();
    std::fs::create_dir_all(&dir).unwrap();
    let parts = iisql::lake_writer::partition_columns("date");
    let rows = iisql::lake_writer::write_lake(&ctx, "logs", &dir, &parts)
        .await
        .unwrap();
    let total = count(&ctx, "SELECT count(*) FROM logs").await;
    assert_eq!(rows as i64, total);
    assert!(std::path::Path::new(&dir).join("date=2025-11-03").is_dir());

    let back = iisql::new_context().unwrap();
    iisql::lake::register_lake(&back, "logs", &[dir.as_str()])
        .await
        .unwrap();
    let summary = "SELECT date, count(*), sum(time_taken), count(DISTINCT c_ip) FROM {} \
                   GROUP BY 1 ORDER BY 1";
    let text = |batches: Vec<datafusion::arrow::record_batch::RecordBatch>| {
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    };
    let logs = ctx.sql(&summary.replace("{}", "logs")).await.unwrap();
    let lake = back.sql(&summary.replace("{}", "logs")).await.unwrap();
    assert_eq!(
        text(lake.collect().await.unwrap()),
        text(logs.collect().await.unwrap())
    );

    let err = iisql::lake_writer::write_lake(&ctx, "logs", &dir, &["site".to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--partition-by site"), "{err}");
}
