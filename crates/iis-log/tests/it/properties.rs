use proptest::prelude::*;

use crate::{concat, read, strings};

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_string()),
        "[A-Za-z0-9/%+=&._:-]{1,40}",
        "[0-9a-f:]{2,20}%[a-z0-9]{1,5}",
        "[a-zA-Z0-9+%]{200,400}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Values written as W3C text under random custom layouts read back as the same values,
    /// whatever the chunk size.
    #[test]
    fn custom_fields_round_trip(
        n_fields in 1usize..6,
        rows in proptest::collection::vec(proptest::collection::vec(value(), 6), 0..20),
        chunk in 1usize..300,
        crlf in any::<bool>(),
    ) {
        let names: Vec<String> = (0..n_fields).map(|i| format!("X-Custom-{i}")).collect();
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("#Fields: {}{nl}", names.join(" "));
        for r in &rows {
            text.push_str(&r[..n_fields].join(" "));
            text.push_str(nl);
        }
        let (schema, read) = read(text.as_bytes(), chunk);
        prop_assert_eq!(read.stats.rows as usize, rows.len());
        prop_assert_eq!(read.stats.rejected, 0);
        if rows.is_empty() {
            return Ok(());
        }
        let b = concat(&schema, &read);
        for (i, _) in names.iter().enumerate() {
            let got = strings(&b, &format!("x_custom_{i}"));
            let want: Vec<Option<String>> = rows
                .iter()
                .map(|r| if r[i] == "-" { None } else { Some(r[i].clone()) })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
