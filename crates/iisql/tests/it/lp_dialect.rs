//! Log Parser queries of the shapes real scripts use, translated and run over the bundled
//! sample, give the same answers as the same questions written in DataFusion SQL.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use iisql::lp_dialect::translate;

async fn context() -> SessionContext {
    let ctx = iisql::new_context().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample");
    iisql::register_logs(&ctx, "logs", &[sample], Default::default())
        .await
        .unwrap();
    ctx
}

/// Every row's values as text (column names left out: Log Parser names them its way).
fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let f: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(f.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}

async fn run(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    let df = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows(&df.collect().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_parser_queries_answer_like_datafusion_sql() {
    let ctx = context().await;
    let cases = [
        // Hits by URL, the classic.
        (
            "SELECT TOP 10 cs-uri-stem, COUNT(*) AS Hits FROM ex*.log \
             GROUP BY cs-uri-stem ORDER BY Hits DESC, cs-uri-stem",
            "SELECT cs_uri_stem, count(*) FROM logs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        ),
        // Status breakdown with substatus and win32 status.
        (
            "SELECT sc-status, sc-substatus, sc-win32-status, COUNT(*) FROM u_ex*.log \
             GROUP BY sc-status, sc-substatus, sc-win32-status \
             ORDER BY sc-status, sc-substatus, sc-win32-status",
            "SELECT sc_status, sc_substatus, sc_win32_status, count(*) FROM logs \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        ),
        // A QUANTIZE time series over TO_TIMESTAMP(date, time).
        (
            "SELECT QUANTIZE(TO_TIMESTAMP(date, time), 3600) AS Hour, COUNT(*) AS Hits \
             FROM x.log GROUP BY Hour ORDER BY Hour",
            "SELECT date_trunc('hour', timestamp), count(*) FROM logs GROUP BY 1 ORDER BY 1",
        ),
        // EXTRACT_VALUE over ActiveSync query strings, with a Log Parser value list.
        (
            "SELECT EXTRACT_VALUE(cs-uri-query, 'DeviceType') AS DeviceType, COUNT(*) AS Hits \
             FROM x.log WHERE cs-uri-stem LIKE '/Microsoft-Server-ActiveSync%' \
             AND sc-status IN (401; 403) GROUP BY DeviceType ORDER BY Hits DESC, DeviceType",
            "SELECT regexp_match(cs_uri_query, '(?:^|&)DeviceType=([^&]*)')[1], count(*) \
             FROM logs WHERE cs_uri_stem ILIKE '/Microsoft-Server-ActiveSync%' \
             AND sc_status IN (401, 403) GROUP BY 1 ORDER BY 2 DESC, 1",
        ),
        // Date and time fields, user agents in brackets, comments.
        (
            "SELECT date, COUNT(DISTINCT [cs(User-Agent)]) /* agents */ FROM x.log // per day
             GROUP BY date ORDER BY date",
            "SELECT CAST(timestamp AS DATE), count(DISTINCT cs_user_agent) FROM logs \
             GROUP BY 1 ORDER BY 1",
        ),
        // Shares with PROPCOUNT, string functions, USING.
        (
            "SELECT sc-status, MUL(PROPCOUNT(*), 100.0) AS Pct FROM x.log \
             GROUP BY sc-status ORDER BY sc-status",
            "SELECT sc_status, 100.0 * count(*) / sum(count(*)) OVER () FROM logs \
             GROUP BY 1 ORDER BY 1",
        ),
        (
            "SELECT TOP 5 Ext, COUNT(*) AS N USING TO_LOWERCASE(EXTRACT_EXTENSION(cs-uri-stem)) AS Ext \
             FROM x.log GROUP BY Ext ORDER BY N DESC, Ext",
            "SELECT lower(CASE WHEN strpos(split_part(cs_uri_stem, '/', -1), '.') > 0 \
                    THEN split_part(split_part(cs_uri_stem, '/', -1), '.', -1) ELSE '' END) AS ext, \
                    count(*) FROM logs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
        ),
        (
            "SELECT STRCAT(cs-method, STRCAT(' ', TO_STRING(sc-status))) AS K, COUNT(*) FROM x.log \
             WHERE time-taken > 100 GROUP BY K HAVING COUNT(*) > 2 ORDER BY K",
            "SELECT concat(cs_method, ' ', CAST(sc_status AS VARCHAR)), count(*) FROM logs \
             WHERE time_taken > 100 GROUP BY 1 HAVING count(*) > 2 ORDER BY 1",
        ),
    ];
    for (lp, sql) in cases {
        let t = translate(lp).unwrap();
        let got = run(&ctx, &t.sql).await;
        let want = run(&ctx, sql).await;
        assert!(!want.is_empty(), "{sql}: no rows");
        assert_eq!(got.len(), want.len(), "{lp}\n=> {}", t.sql);
        for (g, w) in got.iter().zip(&want) {
            // Shares are real numbers: compare them to 1e-9.
            let same = g.iter().zip(w).all(|(a, b)| {
                a == b
                    || matches!((a.parse::<f64>(), b.parse::<f64>()),
                        (Ok(x), Ok(y)) if (x - y).abs() < 1e-9)
            });
            assert!(same, "{lp}\n=> {}\n{g:?} != {w:?}", t.sql);
        }
    }
}
