//! Real IIS logs that nobody on this project wrote (`../shared/data/real-iis/`): every data line
//! must come out as a row or a reported reject, per file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use datafusion::arrow::array::{AsArray, Int64Array};
use datafusion::arrow::datatypes::Int64Type;

fn real_iis() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real-iis");
    dir.is_dir()
        .then(|| dir.canonicalize().expect("canonical path"))
}

/// Data lines counted independently of the parser: not blank (after removing NUL padding and
/// whitespace) and not a directive.
fn count_data_lines(bytes: &[u8]) -> u64 {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\n')
        .map(|l| {
            let l: Vec<u8> = l.iter().copied().filter(|&b| b != 0).collect();
            String::from_utf8_lossy(&l).trim().to_string()
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count() as u64
}

fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "log") {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_line_is_a_row_or_a_reported_reject() {
    let Some(dir) = real_iis() else {
        eprintln!("SKIPPED: ../shared/data/real-iis is not beside the checkout");
        return;
    };
    let mut files = Vec::new();
    walk(&dir, &mut files);
    assert!(
        files.len() > 1000,
        "expected the 1,114 real files, found {}",
        files.len()
    );
    let expected: BTreeMap<String, u64> = files
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                count_data_lines(&std::fs::read(f).unwrap()),
            )
        })
        .collect();

    let ctx = iisql::new_context().unwrap();
    let log = iisql::scan_log(&ctx);
    iisql::register_logs(
        &ctx,
        "logs",
        &[dir.display().to_string()],
        Default::default(),
    )
    .await
    .unwrap();
    let batches = ctx
        .sql("SELECT log_filename, count(*) AS n FROM logs GROUP BY log_filename")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for b in &batches {
        let names = b.column(0).as_string_view();
        let counts: &Int64Array = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            got.insert(names.value(i).to_string(), counts.value(i) as u64);
        }
    }
    let report = log.snapshot();
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    for r in report.rejects.iter().filter(|r| !r.reason.row_kept()) {
        *rejected.entry(r.file.to_string()).or_default() += 1;
    }
    assert_eq!(report.rejects_not_kept, 0);

    let mut total_rows = 0;
    let mut total_lines = 0;
    for (file, lines) in &expected {
        let rows = got.get(file).copied().unwrap_or(0);
        let rej = rejected.get(file).copied().unwrap_or(0);
        assert_eq!(rows + rej, *lines, "{file}: {rows} rows + {rej} rejects");
        total_rows += rows;
        total_lines += lines;
    }
    assert_eq!(report.stats.rows, total_rows);
    assert_eq!(report.files as usize, files.len());
    eprintln!(
        "real-iis: {} files, {total_lines} data lines, {total_rows} rows, {} rejected: {}",
        files.len(),
        report.stats.rejected,
        report.summary()
    );
    for r in report.rejects.iter().take(20) {
        eprintln!("  {r}");
    }
}

/// Rows per table (and rejected lines) of a query over `table`.
async fn count(ctx: &datafusion::prelude::SessionContext, sql: &str) -> i64 {
    let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    b[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_log_files_folder_is_told_apart_by_content() {
    let Some(dir) = real_iis() else {
        eprintln!("SKIPPED: ../shared/data/real-iis is not beside the checkout");
        return;
    };
    let logfiles = dir.join("know-it-peru__WebKnowIT/logs/LogFiles");
    let ctx = iisql::new_context().unwrap();
    let log = iisql::scan_log(&ctx);
    let tables =
        iisql::register_detected(&ctx, &[logfiles.display().to_string()], Default::default())
            .await
            .unwrap();
    let names: Vec<_> = tables.iter().map(|t| (t.name.as_str(), t.format)).collect();
    assert_eq!(
        names,
        [
            ("ftp", iisql::iis_log::LogFormat::IisW3c),
            ("logs", iisql::iis_log::LogFormat::IisW3c)
        ]
    );
    let ftp = &tables[0];
    assert_eq!(ftp.inputs.len(), 3, "FTPSVC1 and FTPSVC2: {:?}", ftp.inputs);
    assert!(ftp.inputs.iter().all(|f| f.contains("/FTPSVC")));
    assert!(tables[1].inputs.iter().all(|f| f.contains("/W3SVC")));
    // Every FTP data line is a row, with the FTP fields as columns; none rejected.
    let mut ftp_lines = 0;
    for f in &ftp.inputs {
        ftp_lines += count_data_lines(&std::fs::read(f).unwrap());
    }
    let rows = count(&ctx, "SELECT count(*) FROM ftp").await;
    assert_eq!(rows as u64, ftp_lines);
    let sessions = count(
        &ctx,
        "SELECT count(DISTINCT x_session) FROM ftp WHERE cs_method = 'ControlChannelOpened'",
    )
    .await;
    assert!(sessions > 0);
    let web_columns = count(
        &ctx,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'logs' \
         AND column_name IN ('x_session', 'x_fullpath')",
    )
    .await;
    assert_eq!(web_columns, 0, "the web table has no FTP columns");
    let report = log.snapshot();
    assert_eq!(
        report
            .rejects
            .iter()
            .filter(|r| r.file.contains("/FTPSVC"))
            .count(),
        0,
        "{}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_w3c_format_reads_every_real_file_like_iisw3c() {
    let Some(dir) = real_iis() else {
        eprintln!("SKIPPED: ../shared/data/real-iis is not beside the checkout");
        return;
    };
    let path = [dir.display().to_string()];
    let ctx = iisql::new_context().unwrap();
    iisql::register_logs(&ctx, "iisw3c", &path, Default::default())
        .await
        .unwrap();
    let w3c = iisql::IisW3cOptions::default().with_format(iisql::iis_log::LogFormat::W3c);
    iisql::register_logs(&ctx, "w3c", &path, w3c).await.unwrap();
    // The same rows, times, statuses, URLs and agents (the generic format sniffs types:
    // sc_status is a whole number there too). Four real user agents are written in double
    // quotes, which the generic format takes off (Log Parser's dQuotes): compared without.
    let q = |t: &str| {
        format!(
            "SELECT count(*) AS n, count(timestamp) AS t, sum(CAST(sc_status AS BIGINT)) AS s, \
             count(DISTINCT cs_uri_stem) AS u, sum(length(btrim(cs_user_agent, '\"'))) AS a \
             FROM {t}"
        )
    };
    let a = ctx
        .sql(&q("iisw3c"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let b = ctx.sql(&q("w3c")).await.unwrap().collect().await.unwrap();
    assert_eq!(a, b);
    let quoted = |t: &str| format!("SELECT count(*) FROM {t} WHERE cs_user_agent LIKE '\"%'");
    assert_eq!(count(&ctx, &quoted("iisw3c")).await, 4);
    assert_eq!(count(&ctx, &quoted("w3c")).await, 0);
    // Typed from the data: an FTP file whose first rows log `-` for the status does not make
    // the status text.
    let ints = count(
        &ctx,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'w3c' \
         AND column_name IN ('sc_status', 'sc_substatus', 'sc_win32_status', 'time_taken', 's_port') \
         AND data_type = 'Int64'",
    )
    .await;
    assert_eq!(ints, 5);
    let rows = count(&ctx, "SELECT count(*) FROM w3c").await;
    assert!(rows > 90_000, "{rows}");
}

/// Real logs without ActiveSync traffic: the facts are empty, the diagnosis over them is the
/// diagnosis over the logs (every request counted, no finding), and nothing fails on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_logs_diagnosed_from_their_facts_as_from_the_logs() {
    let Some(dir) = real_iis() else {
        return;
    };
    let slices = iisql::facts::SLICE_ROWS;
    let (over_logs, _) = crate::facts::diagnosis(&dir, true, crate::facts::sliced(slices)).await;
    let (over_facts, _) = crate::facts::diagnosis(&dir, false, crate::facts::sliced(slices)).await;
    assert!(over_logs.requests > 100_000, "{}", over_logs.requests);
    assert_eq!(over_facts.activesync_requests, 0);
    assert!(over_facts.findings.is_empty());
    assert_eq!(
        crate::facts::printed(&over_facts),
        crate::facts::printed(&over_logs)
    );
}

/// On every query string, user agent and user name of the real logs, the faster forms the
/// `activesync` view uses answer what the plain ones do: `eas_request`'s fields parsed once,
/// `is_probe_user`, and the user agent's first seven characters lowered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_query_strings_parse_once_as_one_field_at_a_time() {
    let Some(dir) = real_iis() else {
        eprintln!("SKIPPED: ../shared/data/real-iis is not beside the checkout");
        return;
    };
    let ctx = iisql::new_context().unwrap();
    iisql::register_detected(&ctx, &[dir.display().to_string()], Default::default())
        .await
        .unwrap();
    let differ = |fast: &str, plain: &str| {
        format!("CASE WHEN ({fast}) IS DISTINCT FROM ({plain}) THEN 1 ELSE 0 END")
    };
    let field = |name: &str, plain: &str| differ(&format!("get_field(r, '{name}')"), plain);
    let checks = [
        field("user", "eas_param(cs_uri_query, 'User')"),
        field("device_id", "eas_param(cs_uri_query, 'DeviceId')"),
        field("device_type", "eas_param(cs_uri_query, 'DeviceType')"),
        field("cmd", "eas_param(cs_uri_query, 'Cmd')"),
        field(
            "protocol_version",
            "eas_param(cs_uri_query, 'ProtocolVersion')",
        ),
        field(
            "eas_status",
            "coalesce(eas_log(cs_uri_query, 'SC1'), eas_log(cs_uri_query, 'S'))",
        ),
        field("error", "eas_log(cs_uri_query, 'Error')"),
        field("access_state", "eas_log(cs_uri_query, 'As')"),
        differ(
            "is_probe_user(cs_username)",
            "starts_with(normalize_user(cs_username), 'healthmailbox')
             OR starts_with(normalize_user(cs_username), 'extest_')",
        ),
        differ(
            "starts_with(lower(substr(cs_user_agent, 1, 7)), 'amprobe')",
            "starts_with(lower(cs_user_agent), 'amprobe')",
        ),
    ];
    let sql = format!(
        "SELECT count(cs_uri_query) + count(cs_user_agent) AS texts, {} AS differ
         FROM (SELECT *, eas_request(cs_uri_query) AS r FROM logs)",
        checks.map(|c| format!("sum({c})")).join(" + ")
    );
    let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let texts = b[0].column(0).as_primitive::<Int64Type>().value(0);
    let differ = b[0].column(1).as_primitive::<Int64Type>().value(0);
    assert!(texts > 1000, "{texts} query strings and user agents");
    assert_eq!(differ, 0);
}
