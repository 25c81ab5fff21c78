//! `iisql generate`: writes sample Exchange IIS logs with the library's generator.

use std::process::ExitCode;

use datafusion::error::{DataFusionError, Result};
use iisql_generator::{GeneratorConfig, Scenario, generate};

use crate::args::GenerateArgs;

/// Parses `4MB`, `1GiB`, `500k`, `1000` into bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1048576.0,
        "g" | "gb" => 1e9,
        "gib" => 1073741824.0,
        _ => return None,
    };
    Some((n * mult) as u64)
}

/// Runs the subcommand.
pub fn run(a: &GenerateArgs) -> Result<ExitCode> {
    let total_bytes = parse_size(&a.size).ok_or_else(|| {
        DataFusionError::Plan(format!("--size: cannot read `{}` (e.g. 4MB, 1GiB)", a.size))
    })?;
    let start = iisql::iis_log::datetime::parse_date(a.start.as_bytes())
        .map(|_| {
            let y = a.start[..4].parse().unwrap_or(2025);
            let m = a.start[5..7].parse().unwrap_or(1);
            let d = a.start[8..10].parse().unwrap_or(1);
            (y, m, d)
        })
        .ok_or_else(|| {
            DataFusionError::Plan(format!("--start: `{}` is not YYYY-MM-DD", a.start))
        })?;
    let cfg = GeneratorConfig {
        start,
        days: a.days,
        servers: a.servers,
        total_bytes,
        seed: a.seed,
        backend: !a.no_backend,
        scenarios: match a.scenarios.as_str() {
            "sample" => Scenario::sample_set(),
            "none" => vec![],
            other => {
                return Err(DataFusionError::Plan(format!(
                    "--scenarios: `{other}` is not `sample` or `none`"
                )));
            }
        },
        ..Default::default()
    };
    let files = generate(&cfg, &a.out)
        .map_err(|e| DataFusionError::Execution(format!("{}: {e}", a.out.display())))?
        .files;
    let files = &files;
    let bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let widened = files.iter().filter(|f| f.widened).count();
    eprintln!(
        "wrote {} files, {} rows, {} bytes ({} widen #Fields mid-file) under {}",
        files.len(),
        rows,
        bytes,
        widened,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
