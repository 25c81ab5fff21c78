//! `iisql queries` and `iisql diagnose`: listing saved queries and printing a diagnosis for a
//! person (text) or a program (JSON).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use iisql::catalog::QueryKind;
use iisql::scan_log::thousands;
use iisql::{Diagnosis, Severity};
use serde_json::{Value, json};

use crate::args::{DiagnoseArgs, OutputArgs, QueriesArgs, ReportFormat};
use crate::exec::parse_params;

/// `iisql queries` / `iisql queries show NAME`.
pub fn queries(a: &QueriesArgs) -> Result<ExitCode> {
    let catalog = crate::setup::catalog(a.queries.as_deref())?;
    match (a.action.as_deref(), a.name.as_deref()) {
        (None, _) | (Some("list"), _) => {
            let list = catalog.list();
            let width = list.iter().map(|q| q.name.len()).max().unwrap_or(4);
            let mut out = std::io::stdout().lock();
            for q in list {
                let kind = match q.kind {
                    QueryKind::Check => format!("check/{}", q.severity),
                    QueryKind::Report => "report".to_string(),
                    QueryKind::Fragment => "fragment".to_string(),
                };
                writeln!(out, "{:width$}  {:15}  {}", q.name, kind, q.title)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        (Some("show"), Some(name)) => {
            std::io::stdout()
                .lock()
                .write_all(catalog.require(name)?.text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        (Some("show"), None) => Err(DataFusionError::Plan(
            "usage: iisql queries show NAME".into(),
        )),
        (Some(other), _) => Err(DataFusionError::Plan(format!(
            "unknown action `{other}` (iisql queries [show NAME])"
        ))),
    }
}

/// `iisql diagnose`.
pub async fn diagnose(a: &DiagnoseArgs) -> Result<ExitCode> {
    let fail_on = Severity::parse(&a.fail_on).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "--fail-on: unknown severity `{}` (info, low, medium, high, critical)",
            a.fail_on
        ))
    })?;
    if a.input.paths.is_empty() {
        return Err(DataFusionError::Plan(
            "diagnose needs at least one PATH".into(),
        ));
    }
    let output = OutputArgs::table();
    let mut runner = crate::setup::setup_with_memory(
        &a.input,
        &output,
        a.queries.as_deref(),
        Some(crate::setup::ANALYSIS_MEMORY),
    )
    .await?;
    let params: HashMap<String, String> = parse_params(&a.params)?;
    let (progress, observer) = crate::progress::Progress::diagnosis(
        Arc::clone(&runner.log),
        runner.total_bytes,
        !a.input.quiet,
    );
    let observer = if a.input.timing {
        timed(observer)
    } else {
        observer
    };
    let options = iisql::DiagnoseOptions {
        // A cluster's executors cannot read facts written to this machine's temporary folder.
        without_facts: runner.cluster,
        observer: Some(observer),
        ..Default::default()
    };
    let d = iisql::diagnose_with(&runner.ctx, &runner.catalog, &params, &options).await;
    progress.finish();
    let d = d?;
    if let Some(path) = &a.html {
        let page = iisql::html_report(&runner.ctx, &runner.catalog, &d).await?;
        std::fs::write(path, page).map_err(|e| {
            DataFusionError::Execution(format!("cannot write {}: {e}", path.display()))
        })?;
        if !a.input.quiet {
            eprintln!("HTML report written to {}", path.display());
        }
    }
    match a.format {
        // Log text (user agents, query strings) never reaches the reader as control characters.
        ReportFormat::Text => {
            let text = crate::output::visible(&text_report(&d, runner.cluster)).into_owned();
            // At a terminal, prose wraps and log lines are cut to its width.
            let width = std::io::stdout()
                .is_terminal()
                .then(crate::fit::stdout_width)
                .flatten()
                .map(|w| runner.max_width.unwrap_or(w));
            match width {
                Some(w) => {
                    let text = crate::fit::fit_lines(&text, w);
                    let height = crate::pager::stdout_height();
                    crate::pager::show(text, height, runner.pager.as_deref()).await?;
                }
                None => print!("{text}"),
            }
        }
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json_report(&d, runner.cluster))
                .map_err(|e| DataFusionError::External(Box::new(e)))?
        ),
    }
    if !a.input.quiet && d.scan.stats.rejected > 0 {
        eprintln!("{} (use --rejects FILE)", d.scan.summary());
    }
    runner.commit_checkpoint_read()?;
    Ok(if d.worst().is_some_and(|w| w >= fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `observer`, and on standard error how long each stage took (`--timing`).
fn timed(observer: iisql::diagnose::StageObserver) -> iisql::diagnose::StageObserver {
    let last = std::sync::Mutex::new(None::<(iisql::Stage, std::time::Instant)>);
    Arc::new(move |stage: &iisql::Stage| {
        observer(stage);
        if let Ok(mut last) = last.lock() {
            if let Some((previous, start)) = last.take() {
                eprintln!(
                    "{:>8.3} s  {}",
                    start.elapsed().as_secs_f64(),
                    crate::progress::stage_text(&previous)
                );
            }
            *last = Some((stage.clone(), std::time::Instant::now()));
        }
    })
}

fn list(v: &[String], max: usize) -> String {
    let mut s = v.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > max {
        s.push_str(&format!(" and {} more", v.len() - max));
    }
    s
}

/// The report for a person. `cluster`: the logs were read by a cluster's executors, whose
/// file and reject counts stay in their logs.
pub fn text_report(d: &Diagnosis, cluster: bool) -> String {
    let mut s = String::new();
    let source = if cluster {
        "read on the cluster".to_string()
    } else if d.scan.files == 0 && d.requests > 0 {
        // No log was scanned: the rows came from a Parquet lake.
        "from Parquet".to_string()
    } else {
        format!("from {} files", thousands(d.scan.files))
    };
    s.push_str(&format!(
        "iisql diagnose: {} requests ({} ActiveSync) {source}; {} checks run.\n",
        thousands(d.requests),
        thousands(d.activesync_requests),
        d.checks.len()
    ));
    if d.findings.is_empty() {
        s.push_str(&format!(
            "\nNo problems found. Checked: {}.\n",
            d.checks.join(", ")
        ));
        return s;
    }
    s.push_str(&format!(
        "{} finding{}:\n",
        d.findings.len(),
        if d.findings.len() == 1 { "" } else { "s" }
    ));
    for (i, f) in d.findings.iter().enumerate() {
        s.push_str(&format!(
            "\n{}. [{}] {} ({})\n",
            i + 1,
            f.severity.to_string().to_uppercase(),
            f.title,
            f.check
        ));
        s.push_str(&format!(
            "   {} requests in {} result rows",
            thousands(f.hits),
            f.rows
        ));
        if let (Some(a), Some(b)) = (&f.first_seen, &f.last_seen) {
            s.push_str(&format!(", first {a}, last {b}"));
        }
        s.push('\n');
        if !f.users.is_empty() {
            s.push_str(&format!(
                "   users ({}): {}\n",
                f.users.len(),
                list(&f.users, 8)
            ));
        }
        if !f.devices.is_empty() {
            s.push_str(&format!(
                "   devices ({}): {}\n",
                f.devices.len(),
                list(&f.devices, 8)
            ));
        }
        if !f.servers.is_empty() {
            s.push_str(&format!(
                "   servers ({}): {}\n",
                f.servers.len(),
                list(&f.servers, 8)
            ));
        }
        for (i, e) in f.examples.iter().enumerate() {
            s.push_str(&format!("   e.g. {e}\n"));
            if let Some(line) = f.example_lines.get(i) {
                s.push_str(&format!("        {}\n", shorten(line, 220)));
            }
        }
        if !f.why.is_empty() {
            s.push_str(&format!("   Why this finding: {}\n", f.why));
        }
        if !f.means.is_empty() {
            s.push_str(&format!("   What it means: {}\n", f.means));
        }
        if !f.next.is_empty() {
            s.push_str(&format!("   Check next: {}\n", f.next));
        }
    }
    s
}

/// `s` cut to about `max` characters, with `...` where it was cut.
fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// The report for a program.
/// `cluster`: the logs were read by a cluster's executors; the file and reject counts, which
/// stay in their logs, are `null`.
pub fn json_report(d: &Diagnosis, cluster: bool) -> Value {
    let (files, rejected) = if cluster {
        (Value::Null, Value::Null)
    } else {
        (json!(d.scan.files), json!(d.scan.stats.rejected))
    };
    json!({
        "requests": d.requests,
        "activesync_requests": d.activesync_requests,
        "files": files,
        "rejected_lines": rejected,
        "checks": d.checks,
        "findings": d.findings.iter().map(|f| json!({
            "check": f.check,
            "title": f.title,
            "severity": f.severity.to_string(),
            "rows": f.rows,
            "hits": f.hits,
            "users": f.users,
            "devices": f.devices,
            "servers": f.servers,
            "first_seen": f.first_seen,
            "last_seen": f.last_seen,
            "examples": f.examples,
            "example_lines": f.example_lines,
            "columns": f.columns,
            "evidence": f.evidence,
            "why": f.why,
            "means": f.means,
            "next": f.next,
        })).collect::<Vec<_>>(),
    })
}
