//! The interactive SQL prompt: history, multi-line statements ending in `;`, meta commands,
//! completion of keywords, tables and columns, and Ctrl-C that cancels the running query.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use iisql::chart::ChartKind;

use crate::args::Format;
use crate::exec::{Runner, describe};
use crate::script::is_complete;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "JOIN",
    "LEFT",
    "INNER",
    "ON",
    "WITH",
    "UNION",
    "ALL",
    "DESC",
    "ASC",
    "CREATE",
    "EXTERNAL",
    "TABLE",
    "STORED",
    "LOCATION",
    "OPTIONS",
    "IISW3C",
    "COPY",
    "TO",
    "EXPLAIN",
    "DESCRIBE",
    "SHOW",
    "TABLES",
    "date_trunc",
    "date_bin",
    "lower",
    "upper",
    "regexp_like",
    "split_part",
    "starts_with",
];

/// Completion words shared with the prompt.
#[derive(Default)]
struct ReplHelper {
    words: Arc<Mutex<Vec<String>>>,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let prefix = &line[start..pos];
        if prefix.is_empty() {
            return Ok((start, vec![]));
        }
        let lower = prefix.to_lowercase();
        let words = self.words.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Pair> = words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .map(|w| Pair {
                display: w.clone(),
                replacement: w.clone(),
            })
            .collect();
        out.dedup_by(|a, b| a.display == b.display);
        Ok((start, out))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}
impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}
impl Validator for ReplHelper {}
impl Helper for ReplHelper {}

async fn refresh_words(runner: &Runner, words: &Arc<Mutex<Vec<String>>>) {
    let mut out: Vec<String> = KEYWORDS.iter().map(|s| s.to_string()).collect();
    let ctx = &runner.ctx;
    for catalog in ctx.catalog_names() {
        let Some(cat) = ctx.catalog(&catalog) else {
            continue;
        };
        for schema in cat.schema_names() {
            if schema == "information_schema" {
                continue;
            }
            let Some(sch) = cat.schema(&schema) else {
                continue;
            };
            for t in sch.table_names() {
                if let Ok(Some(table)) = sch.table(&t).await {
                    out.extend(table.schema().fields().iter().map(|f| f.name().clone()));
                }
                out.push(t);
            }
        }
    }
    out.sort();
    out.dedup();
    *words.lock().unwrap_or_else(|p| p.into_inner()) = out;
}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IISQL_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".iisql_history"))
}

const HELP: &str = "\
Statements end with `;` and may span lines. Meta commands:
  \\d            list tables          \\d TABLE   describe a table
  \\dt           list tables          \\timing    toggle timing
  \\format FMT   table|csv|tsv|json|ndjson|chart
  \\x [on|off|auto]  one field per line   \\pset maxrows N  rows shown
  \\pset maxwidth N   columns results fit (0: the terminal's)
  \\pager [on|off|COMMAND]  results longer than the screen in $PAGER (less -S)
  \\run NAME [p=v ...]                run a saved query (\\l lists them)
  \\chart FILE.svg|FILE.png [TYPE] [TITLE]
                draw the last result (TYPE: bar, bar-stacked, column,
                column-stacked, line, area, pie; default: chosen from it)
  \\q            quit                 \\?         this help
Ctrl-C cancels the running query; Ctrl-D quits.";

/// What a meta command asks the loop to do.
enum Meta {
    Quit,
    Sql(String),
    Saved(String, Vec<String>),
    Chart(PathBuf, Option<ChartKind>, Option<String>),
    Done,
}

/// Splits `k=v k2='v 2' k3="v 3"` into `name=value` texts; quotes around a value keep its
/// spaces and are removed.
fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return out;
        }
        let mut p = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            p.push(c);
            if c == '='
                && let Some(q) = chars.next_if(|&c| c == '\'' || c == '"')
            {
                for c in chars.by_ref() {
                    if c == q {
                        break;
                    }
                    p.push(c);
                }
            }
        }
        out.push(p);
    }
}

/// The query `\\dt` runs: every table and view, with the format and file count of those the
/// PATHs were registered as.
fn tables_sql(tables: &[iisql::RegisteredTable]) -> String {
    let list = "SELECT table_name, table_type FROM information_schema.tables \
                WHERE table_schema NOT IN ('information_schema')";
    if tables.is_empty() {
        return format!("{list} ORDER BY table_name");
    }
    let rows: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "('{}', '{}', {})",
                t.name.replace('\'', "''"),
                t.format,
                t.inputs.len()
            )
        })
        .collect();
    format!(
        "WITH inputs(table_name, format, files) AS (VALUES {}) \
         SELECT t.table_name, t.table_type, i.format, i.files \
         FROM ({list}) t LEFT JOIN inputs i ON i.table_name = t.table_name \
         ORDER BY t.table_name",
        rows.join(", ")
    )
}

fn meta(runner: &mut Runner, line: &str) -> Meta {
    let mut parts = line.split_whitespace();
    let cmd = parts.next().unwrap_or("");
    let arg = parts.next();
    match (cmd, arg) {
        ("\\q", _) | ("\\quit", _) => Meta::Quit,
        ("\\?", _) | ("\\h", _) | ("\\help", _) => {
            println!("{HELP}");
            Meta::Done
        }
        ("\\d", None) | ("\\dt", _) => Meta::Sql(tables_sql(&runner.tables)),
        ("\\d", Some(t)) => Meta::Sql(format!("DESCRIBE {t}")),
        ("\\l", _) => {
            for q in runner.catalog.list() {
                println!("{:32} {}", q.name, q.title);
            }
            Meta::Done
        }
        ("\\run", Some(name)) => {
            // What follows the name, with its quotes: `\run q user="J Doe" min_hits=2`.
            let rest = line.trim_start()[cmd.len()..].trim_start()[name.len()..].to_string();
            Meta::Saved(name.to_string(), split_params(&rest))
        }
        ("\\chart", Some(file)) => {
            // `\chart FILE [TYPE] [TITLE...]`: a word that is no chart type starts the title.
            let rest: Vec<&str> = parts.collect();
            let (kind, title_words) = match rest.first().and_then(|w| ChartKind::parse(w)) {
                Some(k) => (Some(k), &rest[1..]),
                None => (None, &rest[..]),
            };
            let title = (!title_words.is_empty()).then(|| title_words.join(" "));
            Meta::Chart(PathBuf::from(file), kind, title)
        }
        ("\\chart", None) => {
            eprintln!("usage: \\chart FILE.svg|FILE.png [TYPE] [TITLE]");
            Meta::Done
        }
        ("\\x", arg) => {
            use crate::fit::Expanded;
            runner.expanded = match arg.map(str::to_ascii_lowercase).as_deref() {
                Some("on") => Expanded::On,
                Some("off") => Expanded::Off,
                Some("auto") => Expanded::Auto,
                None if runner.expanded == Expanded::Off => Expanded::On,
                None => Expanded::Off,
                Some(other) => {
                    eprintln!("\\x {other}: on, off or auto");
                    return Meta::Done;
                }
            };
            println!("Expanded display is {:?}.", runner.expanded);
            Meta::Done
        }
        ("\\pset", Some(_)) => {
            // The setting and its value: the words after the command.
            let mut words = line.split_whitespace().skip(1);
            match (words.next(), words.next().map(str::parse::<usize>)) {
                (Some("maxrows"), Some(Ok(n))) if n > 0 => {
                    runner.max_rows = n;
                    println!("At most {n} rows are shown.");
                }
                (Some("maxwidth"), Some(Ok(n))) => {
                    runner.max_width = (n > 0).then_some(n);
                    match n {
                        0 => println!("Results fit the terminal's width."),
                        n => println!("Results fit {n} columns."),
                    }
                }
                _ => eprintln!("usage: \\pset maxrows N | \\pset maxwidth N (0: the terminal's)"),
            }
            Meta::Done
        }
        ("\\pager", _) => {
            // The rest of the line: a command may have arguments (`\pager less -SR`).
            let rest = line.trim().strip_prefix("\\pager").map(str::trim);
            runner.pager = match rest.filter(|r| !r.is_empty()) {
                Some("off") => None,
                Some("on") | None => {
                    crate::pager::from_env().or(Some(crate::pager::DEFAULT_PAGER.to_string()))
                }
                Some(cmd) => Some(cmd.to_string()),
            };
            match &runner.pager {
                Some(cmd) => println!("Results longer than the screen go through {cmd}."),
                None => println!("Pager is off."),
            }
            Meta::Done
        }
        ("\\timing", _) => {
            runner.timing = !runner.timing;
            println!("Timing is {}.", if runner.timing { "on" } else { "off" });
            Meta::Done
        }
        ("\\format", Some(f)) => {
            match <Format as clap::ValueEnum>::from_str(f, true) {
                Ok(fmt) => {
                    runner.format = fmt;
                    println!("Output format is {f}.");
                }
                Err(_) => {
                    eprintln!("unknown format `{f}` (table, csv, tsv, json, ndjson, chart)")
                }
            }
            Meta::Done
        }
        ("\\format", None) => {
            println!("Output format is {:?}.", runner.format);
            Meta::Done
        }
        _ => {
            eprintln!("unknown command `{cmd}`; \\? lists them");
            Meta::Done
        }
    }
}

/// Runs a statement, cancelling it on Ctrl-C.
async fn run_cancellable(runner: &mut Runner, sql: &str) {
    tokio::select! {
        r = runner.run(sql) => {
            if let Err(e) = r {
                eprintln!("error: {}", describe(&e));
            }
        }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("query cancelled");
        }
    }
}

/// The prompt loop.
pub async fn run_repl(mut runner: Runner) -> rustyline::Result<()> {
    let helper = ReplHelper::default();
    let words = Arc::clone(&helper.words);
    refresh_words(&runner, &words).await;
    let mut rl: Editor<ReplHelper, DefaultHistory> = Editor::new()?;
    rl.set_helper(Some(helper));
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    println!(
        "iisql {}: SQL over IIS logs. \\? for help, \\q to quit.",
        env!("CARGO_PKG_VERSION")
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "iisql> "
        } else {
            "   ..> "
        };
        match rl.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && trimmed.starts_with('\\') {
                    let _ = rl.add_history_entry(trimmed);
                    match meta(&mut runner, trimmed) {
                        Meta::Quit => break,
                        Meta::Sql(sql) => run_cancellable(&mut runner, &sql).await,
                        Meta::Saved(name, params) => {
                            tokio::select! {
                                r = runner.run_saved(&name, &params) => {
                                    if let Err(e) = r {
                                        eprintln!("error: {}", describe(&e));
                                    }
                                }
                                _ = tokio::signal::ctrl_c() => eprintln!("query cancelled"),
                            }
                        }
                        Meta::Chart(path, kind, title) => {
                            tokio::select! {
                                r = runner.chart_last(&path, kind, title) => match r {
                                    Ok(rows) => println!(
                                        "Chart of {rows} row{} written to {}.",
                                        if rows == 1 { "" } else { "s" },
                                        path.display()
                                    ),
                                    Err(e) => eprintln!("error: {}", describe(&e)),
                                },
                                _ = tokio::signal::ctrl_c() => eprintln!("query cancelled"),
                            }
                        }
                        Meta::Done => {}
                    }
                    continue;
                }
                if trimmed.is_empty() && buffer.is_empty() {
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if is_complete(&buffer) {
                    let sql = std::mem::take(&mut buffer);
                    let _ = rl.add_history_entry(sql.trim());
                    for stmt in crate::script::split_statements(&sql) {
                        run_cancellable(&mut runner, &stmt.sql).await;
                    }
                    refresh_words(&runner, &words).await;
                }
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_params;

    #[test]
    fn run_parameters_keep_quoted_spaces() {
        assert_eq!(
            split_params(r#"  user="J Doe" min_hits=2 note='a b=c'  x="" "#),
            vec!["user=J Doe", "min_hits=2", "note=a b=c", "x="]
        );
        assert!(split_params("   ").is_empty());
    }
}
