//! Running statements: planning, streaming the results to their destination, and reporting
//! what the scans read and rejected.

use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::prelude::SessionContext;
use iisql::ScanLog;
use iisql::chart::ChartOptions;
use iisql::iis_log::Reject;
use iisql::{Catalog, IisqlSessionExt};

use crate::args::Format;
use crate::output::{FileKind, kind_for_path, write_file, write_stream};
use crate::progress::Progress;

/// A CLI session: the context and how results and reports are written.
pub struct Runner {
    /// The DataFusion context with iisql registered.
    pub ctx: SessionContext,
    /// The context's scan log.
    pub log: Arc<ScanLog>,
    /// Output format for standard output.
    pub format: Format,
    /// Output file, if any.
    pub output: Option<PathBuf>,
    /// How charts are drawn (`--format chart`, `-o FILE.svg|.png`, `\chart`).
    pub chart: ChartOptions,
    /// Print elapsed time per statement.
    pub timing: bool,
    /// No summary, no progress.
    pub quiet: bool,
    /// Where to write rejects.
    pub rejects_path: Option<PathBuf>,
    /// Bytes of the registered logs, for the progress bar.
    pub total_bytes: Option<u64>,
    /// The saved queries.
    pub catalog: Catalog,
    /// The rejects of every statement so far, for the rejects file (at most
    /// [`iisql::MAX_KEPT_REJECTS`]).
    rejects: Vec<Reject>,
    seen: BTreeSet<(String, u64, u64, String)>,
    /// Rejects past that limit: counted, not written.
    rejects_not_kept: u64,
    /// The last query that returned rows, for the REPL's `\chart`.
    last: Option<LastQuery>,
    /// Statements are Log Parser SQL, translated before they run.
    pub logparser: bool,
    /// With [`Runner::logparser`]: register each query's `FROM` as `logs` (no PATHs were
    /// given), with these options.
    pub lp_inputs: Option<iisql::IisW3cOptions>,
    /// With `--checkpoint`: the checkpoint to write once the work succeeded.
    pub pending_checkpoint: Option<PendingCheckpoint>,
    /// With [`Runner::logparser`] and no `--time-zone`: the machine's zone, which local times
    /// use; said on stderr the first time a statement converts one.
    pub host_zone_note: Option<String>,
    /// At a terminal: rows one field per line (`\x`, `--expanded`).
    pub expanded: crate::fit::Expanded,
    /// At a terminal: most rows shown (`\pset maxrows`, `--max-rows`).
    pub max_rows: usize,
    /// At a terminal: the width results fit instead of the terminal's (`\pset maxwidth`,
    /// `--max-width`).
    pub max_width: Option<usize>,
    /// At a terminal: the command results longer than the screen go through (`$PAGER`,
    /// `\pager`); `None` prints them.
    pub pager: Option<String>,
    /// With `--checkpoint`: its lock, held until the runner ends.
    pub checkpoint_lock: Option<iisql::staging::CheckpointLock>,
    /// The tables the PATHs were registered as (`\dt` lists them with their formats).
    pub tables: Vec<iisql::RegisteredTable>,
    /// The `FROM` registered last.
    lp_from: Vec<String>,
    /// Queries run on a Ballista cluster (`--cluster`).
    pub cluster: bool,
}

/// A query the REPL can run again.
#[derive(Debug, Clone)]
enum LastQuery {
    Sql(String),
    Saved(String, Vec<String>),
}

impl Runner {
    /// A runner over `ctx`.
    pub fn new(ctx: SessionContext, format: Format) -> Self {
        let log = iisql::scan_log(&ctx);
        Self {
            ctx,
            log,
            format,
            output: None,
            chart: ChartOptions::default(),
            timing: false,
            quiet: false,
            rejects_path: None,
            total_bytes: None,
            catalog: Catalog::default(),
            rejects: Vec::new(),
            seen: BTreeSet::new(),
            rejects_not_kept: 0,
            last: None,
            logparser: false,
            lp_inputs: None,
            tables: Vec::new(),
            pending_checkpoint: None,
            checkpoint_lock: None,
            host_zone_note: None,
            expanded: crate::fit::Expanded::Off,
            max_rows: crate::args::DEFAULT_MAX_ROWS,
            max_width: None,
            pager: None,
            lp_from: Vec::new(),
            cluster: false,
        }
    }

    /// Runs one statement and writes its result.
    pub async fn run(&mut self, sql: &str) -> Result<()> {
        if self.logparser {
            self.run_logparser(sql).await
        } else {
            self.run_sql(sql).await
        }
    }

    /// Runs one DataFusion SQL statement and writes its result.
    async fn run_sql(&mut self, sql: &str) -> Result<()> {
        let df = self.ctx.sql(sql).await?;
        if !df.schema().fields().is_empty() {
            self.last = Some(LastQuery::Sql(sql.to_string()));
        }
        self.run_df(df).await
    }

    /// Runs one Log Parser statement: translated, its `FROM` registered as `logs` when no
    /// PATHs were given, its `INTO` file written.
    async fn run_logparser(&mut self, lp: &str) -> Result<()> {
        let format = self
            .lp_inputs
            .as_ref()
            .map_or(iisql::iis_log::LogFormat::IisW3c, |o| o.format);
        let t = iisql::lp_dialect::translate_for(lp, format)?;
        if let Some(zone) = self
            .host_zone_note
            .take_if(|_| crate::lp::uses_local_time(lp))
        {
            crate::lp::note_host_zone(&zone, self.quiet);
        }
        if let Some(opts) = self.lp_inputs.clone()
            && !t.from.is_empty()
            && t.from != self.lp_from
        {
            self.ctx.deregister_table("logs")?;
            iisql::register_logs(&self.ctx, "logs", &t.from, opts).await?;
            if self.cluster {
                crate::cluster::distribute(&self.ctx).await?;
            }
            iisql::register_activesync_view(&self.ctx, "activesync", "logs").await?;
            self.total_bytes = Some(iisql::register::local_size(&t.from));
            self.lp_from = t.from.clone();
        }
        let saved = self.output.clone();
        if let Some(into) = t
            .into
            .as_ref()
            .filter(|i| !i.eq_ignore_ascii_case("stdout"))
        {
            if crate::multiplex::is_multiplexed(into) {
                return self.run_multiplexed(&t.sql, into).await;
            }
            self.output = Some(into.into());
        }
        let result = self.run_sql(&t.sql).await;
        self.output = saved;
        result
    }

    /// Runs `sql` and writes its rows to one file per value of its leading columns, named by
    /// `into` with each `*` replaced by a value (Log Parser's multiplexed output).
    pub async fn run_multiplexed(&mut self, sql: &str, into: &str) -> Result<()> {
        self.log.reset();
        let batches = self.ctx.sql(sql).await?.collect().await?;
        let saved = self.output.clone();
        let mut result = Ok(());
        for (file, batches) in crate::multiplex::split(&batches, into)? {
            let df = self.ctx.read_batches(batches)?;
            self.output = Some(file.into());
            result = self.execute_df(df).await;
            if result.is_err() {
                break;
            }
        }
        self.output = saved;
        result
    }

    /// Runs saved query `name` with `params` (`name=value` texts) and writes its result.
    pub async fn run_saved(&mut self, name: &str, params: &[String]) -> Result<()> {
        let q = self.catalog.require(name)?.clone();
        let values = parse_params(params)?;
        // A saved query reads the `activesync` view several times (its CTEs): the logs are read
        // once into the view's facts, which later saved queries of the session read too. A
        // cluster's executors could not read this machine's temporary folder.
        self.log.reset();
        if iisql::facts::executes_locally(&self.ctx)
            && q.sql.contains("activesync")
            && iisql::activesync::view_source(&self.ctx).is_some()
        {
            let progress = Progress::start(Arc::clone(&self.log), self.total_bytes, !self.quiet);
            let facts = iisql::facts::materialize_activesync(&self.ctx).await;
            progress.finish();
            facts?;
        }
        let df = q.dataframe(&self.ctx, &values).await?;
        self.last = Some(LastQuery::Saved(name.to_string(), params.to_vec()));
        // What reading the facts rejected is reported with the query's own scans.
        self.execute_df(df).await
    }

    /// Runs the last query that returned rows again and draws its result into `path` (.svg or
    /// .png), as `kind` (default: the runner's chart type, or one chosen from the result) with
    /// `title`.
    pub async fn chart_last(
        &mut self,
        path: &std::path::Path,
        kind: Option<iisql::chart::ChartKind>,
        title: Option<String>,
    ) -> Result<usize> {
        if !matches!(kind_for_path(path)?, FileKind::Chart(_)) {
            return Err(DataFusionError::Plan(format!(
                "{}: a chart is written as .svg or .png",
                path.display()
            )));
        }
        let Some(last) = self.last.clone() else {
            return Err(DataFusionError::Plan(
                "no query to chart yet: run one, then \\chart FILE".into(),
            ));
        };
        let df = match &last {
            LastQuery::Sql(sql) => self.ctx.sql(sql).await?,
            LastQuery::Saved(name, params) => {
                let q = self.catalog.require(name)?.clone();
                q.dataframe(&self.ctx, &parse_params(params)?).await?
            }
        };
        let mut chart = self.chart.clone();
        chart.kind = kind.or(chart.kind);
        chart.title = title.or(chart.title);
        let stream = df.execute_stream().await?;
        write_file(stream, path, &chart, self.ctx.state().config_options()).await
    }

    /// Executes a planned query and writes its result.
    pub async fn run_df(&mut self, df: DataFrame) -> Result<()> {
        self.log.reset();
        self.execute_df(df).await
    }

    /// [`Runner::run_df`] adding to what the scan log already holds.
    async fn execute_df(&mut self, df: DataFrame) -> Result<()> {
        let start = Instant::now();
        let progress = Progress::start(Arc::clone(&self.log), self.total_bytes, !self.quiet);
        let result = async {
            if let Some(path) = &self.output
                && kind_for_path(path)? == FileKind::Parquet
            {
                // Every partition of the query encodes its own row groups of the file.
                let path = path.display().to_string();
                return Ok(self.ctx.write_parquet_file(df, &path).await? as usize);
            }
            let mut stream = df.execute_stream().await?;
            if stream.schema().fields().is_empty() {
                // DDL and SET: nothing to print.
                while let Some(b) = futures::StreamExt::next(&mut stream).await {
                    b?;
                }
                return Ok(0);
            }
            match &self.output {
                Some(path) => {
                    write_file(stream, path, &self.chart, self.ctx.state().config_options()).await
                }
                None => {
                    let out = std::io::stdout();
                    let screen = (out.is_terminal() && self.format == Format::Table)
                        .then(|| crate::fit::Screen::of_stdout(self.max_rows, self.expanded))
                        .flatten()
                        .map(|s| crate::fit::Screen {
                            width: self.max_width.unwrap_or(s.width),
                            ..s
                        });
                    if let Some(screen) = screen {
                        // Fitted to the screen (cells have no control characters), through
                        // the pager when longer than it.
                        let (text, rows) = crate::fit::fitted_text(stream, screen).await?;
                        let height = crate::pager::stdout_height();
                        crate::pager::show(text, height, self.pager.as_deref()).await?;
                        Ok(rows)
                    } else if out.is_terminal() {
                        // Log text never reaches the terminal as control characters.
                        let w = crate::output::VisibleWriter::new(out.lock());
                        write_stream(stream, self.format, &self.chart, w).await
                    } else {
                        write_stream(stream, self.format, &self.chart, out.lock()).await
                    }
                }
            }
        }
        .await;
        progress.finish();
        let report = self.report().await;
        if self.timing {
            eprintln!("Elapsed {:.3} s", start.elapsed().as_secs_f64());
        }
        result?;
        report
    }

    /// Prints the scan summary when anything was rejected, and writes the rejects file.
    pub async fn report(&mut self) -> Result<()> {
        let report = self.log.snapshot();
        let troubled =
            report.stats.rejected + report.stats.invalid_values + report.stats.lossy_lines;
        for r in report.rejects {
            let key = (
                r.file.to_string(),
                r.line,
                r.byte_offset,
                r.reason.to_string(),
            );
            if self.seen.contains(&key) {
                continue;
            }
            if self.rejects.len() < iisql::MAX_KEPT_REJECTS {
                self.seen.insert(key);
                self.rejects.push(r);
            } else {
                self.rejects_not_kept += 1;
            }
        }
        self.rejects_not_kept += report.rejects_not_kept;
        if troubled > 0 && !self.quiet {
            match &self.rejects_path {
                Some(p) => eprintln!("{} (written to {})", report_summary(&self.log), p.display()),
                None => eprintln!("{} (use --rejects FILE)", report_summary(&self.log)),
            }
        }
        if let Some(path) = self.rejects_path.clone() {
            self.write_rejects(&path).await?;
            if self.rejects_not_kept > 0 && !self.quiet {
                eprintln!(
                    "{} lists the first {} reports; {} more were counted but not kept",
                    path.display(),
                    iisql::scan_log::thousands(self.rejects.len() as u64),
                    iisql::scan_log::thousands(self.rejects_not_kept)
                );
            }
        }
        Ok(())
    }

    async fn write_rejects(&self, path: &std::path::Path) -> Result<()> {
        if let FileKind::Chart(_) = kind_for_path(path)? {
            return Err(DataFusionError::Plan(format!(
                "--rejects {}: rejected lines are written as .csv, .tsv, .json or .ndjson",
                path.display()
            )));
        }
        let batch = rejects_batch(&self.rejects)?;
        let schema = batch.schema();
        let stream = MemoryStream::try_new(vec![batch], schema, None)?;
        write_file(
            Box::pin(stream),
            path,
            &self.chart,
            self.ctx.state().config_options(),
        )
        .await
        .map(|_| ())
    }
}

fn report_summary(log: &ScanLog) -> String {
    log.snapshot().summary()
}

/// A checkpoint to write when a run succeeds.
#[derive(Debug)]
pub struct PendingCheckpoint {
    /// Where it is written.
    pub path: PathBuf,
    /// What it will say.
    pub next: iisql::checkpoint::Checkpoint,
    /// What it said before this run.
    pub previous: iisql::checkpoint::Checkpoint,
    /// Bytes of new complete lines this run reads.
    pub new_bytes: u64,
}

impl Runner {
    /// Writes the pending checkpoint once the work is done (and, for `convert`, its output
    /// written): a file moves on only if this session read it to its end (all of it, every
    /// member of an archive); one a `LIMIT` stopped early, or that nothing read (another
    /// table's: HTTPERR beside the web logs `convert` writes), keeps its mark. On a cluster the
    /// executors read the files and the checkpoint moves on for all.
    pub fn commit_checkpoint_read(&mut self) -> Result<()> {
        if !self.cluster
            && let Some(pending) = self.pending_checkpoint.as_mut()
        {
            // Per input, and per archive for its members (`a.zip/member.log`): all read?
            let mut read: HashMap<String, bool> = HashMap::new();
            for (name, all) in self.log.read_to_end() {
                if let Some(i) = name.to_ascii_lowercase().find(".zip/") {
                    *read.entry(name[..i + 4].to_string()).or_insert(true) &= all;
                }
                *read.entry(name).or_insert(true) &= all;
            }
            let keys: Vec<String> = pending.next.files.keys().cloned().collect();
            for key in keys {
                if pending.previous.files.get(&key) == pending.next.files.get(&key) {
                    continue;
                }
                if read.get(&key) != Some(&true) {
                    match pending.previous.files.get(&key) {
                        Some(mark) => pending.next.files.insert(key, mark.clone()),
                        None => pending.next.files.remove(&key),
                    };
                }
            }
        }
        self.commit_checkpoint()
    }

    /// Writes the pending checkpoint (call once the run's work is done and its output written).
    fn commit_checkpoint(&mut self) -> Result<()> {
        match self.pending_checkpoint.take() {
            Some(c) => c.next.save(&c.path),
            None => Ok(()),
        }
    }
}

/// Parses `name=value` parameters.
pub fn parse_params(params: &[String]) -> Result<std::collections::HashMap<String, String>> {
    params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| DataFusionError::Plan(format!("parameter `{p}` is not name=value")))
        })
        .collect()
}

/// The rejects as a table: file, line, byte_offset, reason_code, reason, text.
pub fn rejects_batch(rejects: &[Reject]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("byte_offset", DataType::Int64, false),
        Field::new("reason_code", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rejects.iter().map(|r| r.file.to_string()),
        )),
        Arc::new(Int64Array::from_iter_values(
            rejects.iter().map(|r| r.line as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            rejects.iter().map(|r| r.byte_offset as i64),
        )),
        Arc::new(StringArray::from_iter_values(
            rejects.iter().map(|r| r.reason.code()),
        )),
        Arc::new(StringArray::from_iter_values(
            rejects.iter().map(|r| r.reason.to_string()),
        )),
        Arc::new(StringArray::from_iter_values(
            rejects.iter().map(|r| r.text.clone()),
        )),
    ];
    RecordBatch::try_new(schema, cols).map_err(DataFusionError::from)
}

/// One line describing an error, without DataFusion's wrapper prefixes.
pub fn describe(e: &DataFusionError) -> String {
    let s = match e {
        DataFusionError::Context(ctx, inner) => format!("{ctx}: {}", describe(inner)),
        DataFusionError::External(inner) => inner.to_string(),
        DataFusionError::Shared(inner) => describe(inner),
        DataFusionError::ArrowError(inner, _) => match inner.as_ref() {
            datafusion::arrow::error::ArrowError::ExternalError(x) => {
                match x.downcast_ref::<DataFusionError>() {
                    Some(d) => describe(d),
                    None => x.to_string(),
                }
            }
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    s.replace('\n', " ")
}
