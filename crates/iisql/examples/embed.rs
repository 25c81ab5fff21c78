//! What `iisql PATH`, `-o x.parquet`, `iisql convert` and `iisql diagnose` do, from Rust:
//!
//! ```sh
//! cargo run -p iisql --example embed -- data/sample /tmp/out
//! ```
//!
//! `cargo test` compiles this program, so the README's library example cannot rot.

use datafusion::error::Result;
use iisql::{DiagnoseOptions, IisqlSessionExt, Inputs};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let logs = args.next().unwrap_or_else(|| "data/sample".to_string());
    let out = args.next().unwrap_or_else(|| "iisql-example".to_string());
    std::fs::create_dir_all(&out)?;

    // `iisql PATH`: a table per format found by content, `logs`, the `activesync` view.
    let ctx = iisql::new_context()?;
    let registered = ctx.register_inputs(Inputs::new([logs])).await?;
    for t in &registered.tables {
        println!("{} ({:?}): {} input(s)", t.name, t.format, t.inputs.len());
    }
    let df = ctx
        .sql("SELECT sc_status, count(*) AS hits FROM logs GROUP BY sc_status ORDER BY hits DESC")
        .await?;
    df.show().await?;

    // `-o errors.parquet`, and `iisql convert --to lake` (hive folders by day).
    let errors = ctx.sql("SELECT * FROM logs WHERE sc_status >= 400").await?;
    let rows = ctx
        .write_parquet_file(errors, &format!("{out}/errors.parquet"))
        .await?;
    println!("{rows} error rows written");
    let lake = format!("{out}/lake");
    std::fs::create_dir_all(&lake)?;
    let days = iisql::lake_writer::partition_columns("date");
    let rows = ctx.write_lake("logs", &lake, &days).await?;
    println!("{rows} rows in the lake");

    // `iisql diagnose`.
    let diagnosis = ctx.diagnose_logs(&DiagnoseOptions::default()).await?;
    for f in &diagnosis.findings {
        println!(
            "{:?} {}: {} ({} requests)",
            f.severity, f.check, f.title, f.hits
        );
    }

    // What could not be read: counted, with file and line.
    println!("{}", iisql::scan_log(&ctx).snapshot().summary());
    Ok(())
}
