//! Saved queries read from a folder: headers, parameters and fragments (`-- kind: fragment`,
//! `-- with:`), run in a plain session.

use std::collections::HashMap;

use datafusion::prelude::SessionContext;
use iisql::{Catalog, QueryKind};

/// The first column of every row, as text.
async fn first_column(df: datafusion::dataframe::DataFrame) -> Vec<String> {
    let mut out = Vec::new();
    for batch in df.collect().await.unwrap() {
        for row in 0..batch.num_rows() {
            out.push(
                datafusion::arrow::util::display::array_value_to_string(batch.column(0), row)
                    .unwrap(),
            );
        }
    }
    out
}

const FRAGMENT: &str = "-- name: numbers
-- kind: fragment
-- param: upto int 3 The last number
numbers AS (SELECT n FROM (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t(n) WHERE n <= $upto),
evens AS (SELECT n FROM numbers WHERE n % 2 = 0)
";

/// Writes `files` (name, text) into a new folder and reads it as a catalog.
fn catalog_of(files: &[(&str, &str)]) -> datafusion::error::Result<Catalog> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    Catalog::from_dir(dir.path())
}

#[tokio::test]
async fn a_query_gets_the_common_table_expressions_and_parameters_of_its_fragments() {
    // `a_*.sql` sort before the fragment's file: a query may come before what it uses.
    let catalog = catalog_of(&[
        (
            "a_with.sql",
            "-- name: evens_over\n-- with: numbers\n-- param: min int 0 Smallest\n\
             WITH big AS (SELECT n FROM evens WHERE n > $min)\nSELECT n FROM big ORDER BY n",
        ),
        (
            "a_plain.sql",
            "-- name: all_numbers\n-- with: numbers\n-- param: upto int 5 Overrides\n\
             SELECT count(*) AS c FROM numbers",
        ),
        ("z_numbers.sql", FRAGMENT),
    ])
    .unwrap();
    let names: Vec<_> = catalog.list().iter().map(|q| q.name.clone()).collect();
    assert_eq!(
        names,
        ["all_numbers", "evens_over"],
        "fragments are not queries"
    );
    assert!(catalog.get("numbers").is_none());
    assert!(
        catalog
            .checks()
            .iter()
            .all(|q| q.kind != QueryKind::Fragment)
    );

    let q = catalog.require("evens_over").unwrap();
    let params: Vec<_> = q.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(params, ["min", "upto"]);
    let ctx = SessionContext::new();
    let run = |values: &[(&str, &str)]| {
        let values: HashMap<String, String> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let q = q.clone();
        let ctx = ctx.clone();
        async move { first_column(q.dataframe(&ctx, &values).await.unwrap()).await }
    };
    assert_eq!(run(&[]).await, ["2"]);
    assert_eq!(run(&[("upto", "9"), ("min", "4")]).await, ["6", "8"]);

    // The query's own declaration of a fragment's parameter wins.
    let q = catalog.require("all_numbers").unwrap();
    assert_eq!(q.params.len(), 1);
    assert_eq!(q.params[0].default, "5");
    let rows = first_column(q.dataframe(&ctx, &HashMap::new()).await.unwrap()).await;
    assert_eq!(rows, ["5"]);
}

#[test]
fn a_fragment_no_file_defines_is_an_error_naming_it() {
    let err = catalog_of(&[(
        "q.sql",
        "-- name: lonely\n-- with: numbers, missing_one\nSELECT 1",
    )])
    .unwrap_err()
    .to_string();
    assert!(err.contains("lonely"), "{err}");
    assert!(err.contains("numbers, missing_one"), "{err}");

    let err = catalog_of(&[
        ("f.sql", FRAGMENT),
        (
            "g.sql",
            "-- name: nested\n-- kind: fragment\n-- with: numbers\nx AS (SELECT 1)",
        ),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("cannot use fragments"), "{err}");

    let err = catalog_of(&[("f.sql", FRAGMENT), ("g.sql", FRAGMENT)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("defined twice"), "{err}");
}

#[test]
fn the_bundled_regression_checks_share_one_fragment() {
    let catalog = Catalog::bundled().unwrap();
    for name in [
        "cba_regression_timeline",
        "cba_mapping_failed",
        "cba_require_not_enforced",
    ] {
        let q = catalog.require(name).unwrap();
        assert_eq!(q.with, ["regression_hours"], "{name}");
        assert!(q.sql.contains("regression_hours AS ("), "{name}");
        for p in ["min_requests", "share"] {
            assert!(q.params.iter().any(|own| own.name == p), "{name}: {p}");
        }
    }
}

/// A fragment's `-- shared:` expressions are computed once per diagnosis and per binding of its
/// parameters: checks that bind them differently (a default of their own, or none) each read
/// their own rows, and the findings are those of computing every expression in every check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_results_follow_each_checks_parameters() {
    use iisql::{DiagnoseOptions, diagnose_with};
    let fragment = "-- name: busy
-- kind: fragment
-- shared: per_device, busiest
-- param: min_requests int 1 Fewest requests of a device
per_device AS (SELECT device_key, count(*) AS n FROM activesync GROUP BY device_key),
busy_devices AS (SELECT * FROM per_device WHERE n >= $min_requests),
busiest AS (SELECT count(*) AS devices, max(n) AS most FROM busy_devices)
";
    let check = |name: &str, own: &str| {
        format!(
            "-- name: {name}\n-- kind: check\n-- with: busy\n{own}\
             SELECT devices AS hits, most, (SELECT count(*) FROM per_device) AS all_devices \
             FROM busiest"
        )
    };
    let catalog = catalog_of(&[
        ("busy.sql", fragment),
        ("a.sql", &check("busy_any", "")),
        (
            "b.sql",
            &check("busy_many", "-- param: min_requests int 200 Own default\n"),
        ),
    ])
    .unwrap();
    assert_eq!(
        catalog.fragment("busy").unwrap().shared,
        ["per_device", "busiest"]
    );
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample");
    let evidence = |params: &[(&str, &str)], without_facts: bool| {
        let params: HashMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let catalog = &catalog;
        let sample = &sample;
        async move {
            let ctx = crate::activesync::context(sample).await;
            let options = DiagnoseOptions {
                without_facts,
                ..Default::default()
            };
            let d = diagnose_with(&ctx, catalog, &params, &options)
                .await
                .unwrap();
            let tables = ctx
                .catalog("datafusion")
                .unwrap()
                .schema("public")
                .unwrap()
                .table_names();
            assert!(
                tables.iter().all(|t| !t.starts_with("iisql_shared")),
                "{tables:?}"
            );
            d.findings
                .iter()
                .map(|f| (f.check.clone(), f.evidence.clone()))
                .collect::<Vec<_>>()
        }
    };
    let shared = evidence(&[], false).await;
    assert_eq!(shared, evidence(&[], true).await);
    let by_name: HashMap<_, _> = shared.into_iter().collect();
    let (any, many) = (&by_name["busy_any"][0], &by_name["busy_many"][0]);
    assert_ne!(any[0], many[0], "each binding has its own devices");
    assert_eq!(
        any[2], many[2],
        "per_device does not depend on the parameter"
    );
    // One value for both: one binding.
    let both = evidence(&[("min_requests", "50")], false).await;
    assert_eq!(both, evidence(&[("min_requests", "50")], true).await);
    assert_eq!(both[0].1, both[1].1);
}

#[test]
fn only_a_fragment_shares_results() {
    let err = catalog_of(&[(
        "q.sql",
        "-- name: sharing\n-- shared: x\nWITH x AS (SELECT 1) SELECT * FROM x",
    )])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("sharing") && err.contains("only a fragment"),
        "{err}"
    );
}
