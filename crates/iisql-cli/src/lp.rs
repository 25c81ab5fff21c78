//! `iisql lp`: a Log Parser command line, run on iisql. The query is Log Parser SQL (or
//! `file:query.sql?p1=v1+p2=v2`), translated by [`iisql::lp_dialect`]; LogParser.exe's common
//! switches are accepted where they make sense.

use std::process::ExitCode;
use std::time::Instant;

use datafusion::error::{DataFusionError, Result};
use iisql::lp_dialect::{parse_file_query, substitute, translate_for};

use crate::args::{Format, InputArgs, LpArgs, LpsArgs, OutputArgs};

fn bad(msg: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(msg.to_string())
}

fn on(v: &str) -> bool {
    v.is_empty() || v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("auto")
}

/// Whether Log Parser SQL converts times between UTC and local time (`TO_LOCALTIME`,
/// `TO_UTCTIME`), which needs a zone.
pub fn uses_local_time(query: &str) -> bool {
    let q = query.to_ascii_lowercase();
    q.contains("to_localtime") || q.contains("to_utctime")
}

/// This machine's IANA time zone, which Log Parser's `TO_LOCALTIME` uses: `TZ` when it names
/// one, else the system's setting; UTC when neither can be read.
pub fn host_zone() -> String {
    let valid = |z: &str| z.parse::<chrono_tz::Tz>().is_ok();
    std::env::var("TZ")
        .ok()
        .map(|z| z.trim_start_matches(':').to_string())
        .filter(|z| valid(z))
        .or_else(|| iana_time_zone::get_timezone().ok().filter(|z| valid(z)))
        .unwrap_or_else(|| "UTC".to_string())
}

/// Says on stderr which zone local times use when the query did not choose one.
pub fn note_host_zone(zone: &str, quiet: bool) {
    if !quiet {
        eprintln!(
            "iisql: TO_LOCALTIME and TO_UTCTIME use this machine's time zone, {zone} \
             (-tz:ZONE or --time-zone ZONE to choose another)"
        );
    }
}

/// Refuses an `INTO` target that `why` (a library's query, a parameter) set when it leaves
/// the current folder: an absolute path, a drive, `..`, or a URL.
fn check_into(into: &str, why: &str) -> Result<()> {
    let path = std::path::Path::new(into);
    let outside = path.is_absolute()
        || into.contains(':')
        || into.starts_with(['/', '\\'])
        || into.split(['/', '\\']).any(|part| part == "..");
    if outside {
        return Err(bad(format!(
            "INTO {into}: {why} writes outside the current folder; write the query's INTO on \
             the command line yourself to write there"
        )));
    }
    Ok(())
}

/// Whether `arg` is a query: after its leading `--` comment lines and `/* */` blocks, it
/// starts with SELECT.
fn starts_a_query(arg: &str) -> bool {
    let mut rest = arg.trim_start();
    loop {
        if let Some(line) = rest.strip_prefix("--") {
            rest = line.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(block) = rest.strip_prefix("/*") {
            rest = block.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            return rest
                .get(..6)
                .is_some_and(|w| w.eq_ignore_ascii_case("select"));
        }
    }
}

/// `iisql lp [SWITCHES] QUERY [PATH...]`.
pub async fn run(a: &LpArgs) -> Result<ExitCode> {
    let mut query = None;
    let mut paths = Vec::new();
    let mut output = OutputArgs::table();
    let mut quiet = false;
    let mut stats = false;
    let mut explain = false;
    let mut max_errors = None;
    let mut params: Vec<(String, String)> = Vec::new();
    let mut time_zone = None;
    let mut input_format = None;
    for arg in &a.args {
        if arg == "--explain" || arg == "-explain" {
            explain = true;
            continue;
        }
        // A query that starts with a `--` comment line is not a switch.
        let a_query = query.is_none() && starts_a_query(arg);
        let switch = arg.strip_prefix('-').filter(|s| !s.is_empty() && !a_query);
        if let Some(sw) = switch {
            let (k, v) = sw.split_once(':').unwrap_or((sw, ""));
            match k.to_ascii_lowercase().as_str() {
                "i" => {
                    let format: iisql::iis_log::LogFormat =
                        v.parse().map_err(|e: String| bad(format!("-i:{v}: {e}")))?;
                    input_format = Some(format.name().to_string());
                }
                "o" => {
                    output.format = match v.to_ascii_uppercase().as_str() {
                        "" | "NAT" | "DATAGRID" => Format::Table,
                        "CSV" => Format::Csv,
                        "TSV" => Format::Tsv,
                        "JSON" => Format::Json,
                        "CHART" => Format::Chart,
                        other => {
                            return Err(bad(format!(
                                "-o:{other} is not supported (NAT, CSV, TSV, JSON, CHART; \
                                 Parquet with INTO file.parquet)"
                            )));
                        }
                    }
                }
                "q" => quiet = on(v),
                "stats" => stats = on(v),
                "e" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| bad(format!("-e:{v}: not a number")))?;
                    max_errors = u64::try_from(n).ok();
                }
                // Folders are always searched recursively; pages are never cut.
                "recurse" | "rtp" => {}
                "headers" => {
                    if !on(v) {
                        return Err(bad(
                            "-headers:OFF is not supported: iisql always writes a header",
                        ));
                    }
                }
                "charttype" => {
                    output.chart_type = Some(
                        iisql::chart::ChartKind::parse(v)
                            .ok_or_else(|| bad(format!("-chartType:{v}: unknown chart type")))?,
                    );
                }
                "charttitle" => output.chart_title = Some(v.to_string()),
                // The zone of TO_LOCALTIME, which Log Parser takes from the machine.
                "tz" => time_zone = Some(v.to_string()),
                "param" => {
                    let (pk, pv) = v
                        .split_once('=')
                        .ok_or_else(|| bad(format!("-param:{v}: not name=value")))?;
                    params.push((pk.to_string(), pv.to_string()));
                }
                other => {
                    return Err(bad(format!(
                        "-{other}: not a switch iisql lp knows (-i, -o, -q, -e, -stats, \
                         -recurse, -headers, -rtp, -chartType, -chartTitle, -param, -tz, --explain)"
                    )));
                }
            }
        } else if query.is_none() {
            query = Some(arg.clone());
        } else {
            paths.push(arg.clone());
        }
    }
    let Some(query) = query else {
        return Err(bad(
            "usage: iisql lp [SWITCHES] \"SELECT ... FROM ...\" [PATH...]",
        ));
    };
    let text = match parse_file_query(&query) {
        Some((file, p)) => {
            params.extend(p);
            std::fs::read_to_string(&file).map_err(|e| bad(format!("cannot read {file}: {e}")))?
        }
        None => query,
    };
    let format = match &input_format {
        Some(f) => f.parse().map_err(bad)?,
        None => iisql::iis_log::LogFormat::IisW3c,
    };
    let t = translate_for(&substitute(&text, &params), format)?;
    // An INTO the user did not write on this command line (a library's, or one a parameter
    // made) writes only below the current folder, and says so.
    if let Some(into) = t
        .into
        .as_ref()
        .filter(|i| !i.eq_ignore_ascii_case("stdout"))
    {
        let written = !a.from_library
            && (params.is_empty()
                || translate_for(&text, format).is_ok_and(|raw| raw.into == t.into));
        if !written {
            let why = if a.from_library {
                "the library's query"
            } else {
                "a parameter"
            };
            check_into(into, why)?;
            if !quiet && !explain {
                eprintln!("iisql: writing {into} ({why} says INTO)");
            }
        }
    }
    if explain {
        println!("{}", t.sql);
        if !t.from.is_empty() {
            println!("-- FROM: {}", t.from.join(", "));
        }
        if let Some(i) = &t.into {
            println!("-- INTO: {i}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Paths on the command line stand for Log Parser Studio's [LOGFILEPATH], or replace FROM.
    if paths.is_empty() {
        paths = t.from.clone();
    }
    if paths.is_empty() {
        return Err(bad(
            "no logs: the query's FROM is [LOGFILEPATH]; give PATH...",
        ));
    }
    let into = t.into.clone().filter(|i| !i.eq_ignore_ascii_case("stdout"));
    if let Some(into) = into
        .as_ref()
        .filter(|i| !crate::multiplex::is_multiplexed(i))
    {
        output.output = Some(into.into());
    }
    // Log Parser converts local times with the machine's zone: so does its dialect here.
    let time_zone = match time_zone {
        None if uses_local_time(&text) => {
            let zone = host_zone();
            note_host_zone(&zone, quiet);
            Some(zone)
        }
        given => given,
    };
    let input = InputArgs {
        paths,
        input_format,
        table: Some("logs".into()),
        fields: None,
        compression: None,
        max_errors,
        strict: false,
        max_line_bytes: None,
        checkpoint: None,
        rejects: None,
        partitions: None,
        time_zone,
        cluster: None,
        memory_limit: None,
        timing: false,
        quiet,
    };
    let start = Instant::now();
    let mut runner = crate::setup::setup(&input, &output, None).await?;
    match into.filter(|i| crate::multiplex::is_multiplexed(i)) {
        Some(into) => runner.run_multiplexed(&t.sql, &into).await?,
        None => runner.run(&t.sql).await?,
    }
    if stats && !quiet {
        let r = runner.log.snapshot();
        eprintln!(
            "Statistics:\n-----------\nElements processed: {}\nElements rejected:  {}\nExecution time:     {:.2} seconds",
            r.stats.rows,
            r.stats.rejected,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `iisql lps import LIBRARY.xml` / `iisql lps run LIBRARY.xml "Query Name" [SWITCHES] PATH...`.
pub async fn lps(a: &LpsArgs) -> Result<ExitCode> {
    let file = a.library.display().to_string();
    let xml =
        std::fs::read_to_string(&a.library).map_err(|e| bad(format!("cannot read {file}: {e}")))?;
    let queries = iisql::lps::parse_library(&file, &xml)?;
    match a.action.as_str() {
        "import" | "list" => {
            use std::io::Write;
            let width = queries
                .iter()
                .map(|q| q.name.len())
                .max()
                .unwrap_or(4)
                .min(60);
            let mut out = std::io::stdout().lock();
            for q in &queries {
                let ty = if q.supported() {
                    q.log_type.clone()
                } else {
                    format!("{} (not readable yet)", q.log_type)
                };
                writeln!(out, "{:width$}  {:12}  {}", q.name, ty, q.description)?;
            }
            writeln!(out, "({} queries in {file})", queries.len())?;
            Ok(ExitCode::SUCCESS)
        }
        "run" => {
            let Some((name, rest)) = a.rest.split_first() else {
                return Err(bad(
                    "usage: iisql lps run LIBRARY.xml \"Query Name\" PATH...",
                ));
            };
            let q = iisql::lps::find(&queries, name)?;
            let Some(format) = q.input_format() else {
                return Err(bad(format!(
                    "`{}` reads {} logs; iisql reads IISW3CLOG, W3CLOG, HTTPERRLOG, IISLOG and \
                     NCSALOG",
                    q.name, q.log_type
                )));
            };
            // The log type's format, the switches, then the query, then the paths for
            // [LOGFILEPATH].
            let (switches, paths): (Vec<String>, Vec<String>) =
                rest.iter().cloned().partition(|r| r.starts_with('-'));
            let mut args = vec![format!("-i:{}", format.name())];
            args.extend(switches);
            args.push(q.query.clone());
            args.extend(paths);
            run(&LpArgs {
                args,
                from_library: true,
            })
            .await
        }
        other => Err(bad(format!(
            "unknown action `{other}` (iisql lps import LIBRARY.xml | iisql lps run LIBRARY.xml NAME PATH...)"
        ))),
    }
}
