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
