//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// SQL over IIS logs. `iisql PATH...` opens a SQL prompt with the logs as table `logs`;
/// `-c` runs statements, `-f` runs a script, SQL on standard input is run as a script.
#[derive(Debug, Parser)]
#[command(name = "iisql", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, iisql runs SQL over PATH...
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The SQL run options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write realistic, deterministic Exchange IIS logs (sample data, benchmark corpora).
    Generate(GenerateArgs),
    /// List the saved queries, or show one.
    Queries(QueriesArgs),
    /// Run a saved query over PATH...
    Run(RunQueryArgs),
    /// Run every check over PATH... and report what is wrong, with evidence.
    Diagnose(DiagnoseArgs),
    /// Run a Log Parser query: `iisql lp [-o:CSV] [-q] [-stats] "SELECT TOP 10 cs-uri-stem, ...
    /// FROM u_ex*.log"` (or `file:query.sql?p=v`); `--explain` prints the DataFusion SQL.
    Lp(LpArgs),
    /// Convert logs to typed Parquet (zstd), partitioned hive-style by date (and more):
    /// `iisql convert PATH... --to DIR [--partition-by date,s_computername] [--checkpoint F]`.
    Convert(ConvertArgs),
    /// Log Parser Studio libraries: `iisql lps import LIBRARY.xml` lists its queries,
    /// `iisql lps run LIBRARY.xml "Query Name" [SWITCHES] PATH...` runs one over PATH.
    Lps(LpsArgs),
}

/// Options of `iisql convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The folder the Parquet files are written to (created if missing; later runs add files),
    /// or an object-store URL (`s3://bucket/iis/`, with the `cloud` feature).
    #[arg(long, value_name = "DIR")]
    pub to: String,
    /// Hive-style partition columns, outermost first (`date`, `s_computername`, `s_sitename`...);
    /// `none` for one folder.
    #[arg(long, default_value = "date", value_name = "COLUMNS")]
    pub partition_by: String,
    /// The table converted (default `logs`).
    #[arg(long = "from-table", value_name = "NAME")]
    pub from_table: Option<String>,
    /// Inputs.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Options of `iisql lps`.
#[derive(Debug, Args)]
pub struct LpsArgs {
    /// `import` (list the queries) or `run`.
    pub action: String,
    /// An exported Log Parser Studio library (XML).
    pub library: PathBuf,
    /// For `run`: the query's name, then `iisql lp` switches and the PATHs that stand for
    /// `[LOGFILEPATH]`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub rest: Vec<String>,
}

/// Options of `iisql lp`: LogParser.exe's own, read as it reads them (`-o:CSV`).
#[derive(Debug, Args)]
pub struct LpArgs {
    /// Switches (-i:IISW3C -o:CSV|TSV|JSON|NAT|CHART -q -e:N -stats -recurse -headers -rtp:N
    /// -chartType:T -chartTitle:T -param:name=value --explain), the query, then PATHs for
    /// Log Parser Studio's [LOGFILEPATH] (or instead of FROM).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
    /// The query comes from a Log Parser Studio library (`iisql lps run`), not from the
    /// command line: its `INTO` may only write below the current folder.
    #[arg(skip)]
    pub from_library: bool,
}

/// Options of `iisql queries`.
#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// `show NAME` prints one query with its header.
    pub action: Option<String>,
    /// The query to show.
    pub name: Option<String>,
    /// Also read saved queries from this folder.
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
}

/// Options of `iisql run`.
#[derive(Debug, Args)]
pub struct RunQueryArgs {
    /// The saved query (see `iisql queries`).
    pub name: String,
    /// A parameter, `name=value` (may repeat). Values are bound, never pasted into SQL.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Also read saved queries from this folder.
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Inputs and output.
    #[command(flatten)]
    pub input: InputArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Report formats of `iisql diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for a person.
    Text,
    /// JSON for automation.
    Json,
}

/// Options of `iisql diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Also write the report as one self-contained HTML page (findings, evidence, charts).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit with code 1 when a finding is at least this severe (info, low, medium, high, critical).
    #[arg(long, default_value = "low", value_name = "SEVERITY")]
    pub fail_on: String,
    /// A parameter for the checks that have it, `name=value` (may repeat).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Also read saved queries from this folder.
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Inputs.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Options of `iisql generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write `<server>/W3SVC1/u_exYYMMDD.log` files into.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Approximate total size, e.g. 5MB or 1GiB.
    #[arg(long, default_value = "4MB")]
    pub size: String,
    /// Number of days (files per server).
    #[arg(long, default_value_t = 2)]
    pub days: u32,
    /// Number of front-end servers.
    #[arg(long, default_value_t = 2)]
    pub servers: u32,
    /// Random seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First day, YYYY-MM-DD.
    #[arg(long, default_value = "2025-11-03")]
    pub start: String,
    /// Failures to inject: `sample` (the bundled sample's set) or `none`.
    #[arg(long, default_value = "none")]
    pub scenarios: String,
    /// Front ends only: no back-end (`MBXnn/W3SVC2`) logs.
    #[arg(long)]
    pub no_backend: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// Tab-separated values with a header.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A chart (see --chart-type): SVG on standard output, or the picture `-o FILE.svg|.png`.
    Chart,
}

/// A SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// DataFusion's SQL.
    Sql,
    /// Log Parser's SQL, translated to DataFusion's.
    Logparser,
}

/// Options for running SQL.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run this SQL (may be given more than once) and exit.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Run the SQL script in FILE (statements end with `;`) and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// The SQL dialect of -c, -f, standard input and the prompt: `sql` (DataFusion's) or
    /// `logparser` (Log Parser's, translated; see `iisql lp`).
    #[arg(long, value_enum, default_value_t = Dialect::Sql)]
    pub dialect: Dialect,

    /// Inputs.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where results go.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write results to FILE instead of standard output; the writer follows the extension
    /// (.csv, .tsv, .json, .ndjson, .parquet; .svg and .png draw a chart).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The chart's shape: bar, bar-stacked, column, column-stacked, line, area or pie (Log
    /// Parser's names, such as ColumnClustered, work too). Default: chosen from the result, a
    /// line over time, columns or bars over categories.
    #[arg(long, value_name = "TYPE", value_parser = parse_chart_kind)]
    pub chart_type: Option<iisql::chart::ChartKind>,

    /// The chart's title (default: made from the column names, "hits by hour").
    #[arg(long, value_name = "TEXT")]
    pub chart_title: Option<String>,

    /// The chart's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "1000x560", value_parser = parse_size)]
    pub chart_size: (u32, u32),

    /// At a terminal, rows one field per line (psql's `\x`): on, off, or auto (when a table
    /// would not fit the screen's width). Pipes and files are not affected.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = crate::fit::Expanded::Off)]
    pub expanded: crate::fit::Expanded,

    /// At a terminal, most rows shown (the rest are counted); tables also fit the screen's
    /// width. Pipes and files get every row.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ROWS)]
    pub max_rows: usize,

    /// At a terminal, the width tables and the diagnosis fit instead of the terminal's.
    #[arg(long, value_name = "COLUMNS")]
    pub max_width: Option<usize>,

    /// At a terminal, print results longer than the screen instead of showing them in
    /// `$PAGER` (`less -S` when unset; set it empty for no pager).
    #[arg(long)]
    pub no_pager: bool,
}

/// Rows shown at a terminal unless `--max-rows` or `\pset maxrows` says otherwise.
pub const DEFAULT_MAX_ROWS: usize = 40;

impl OutputArgs {
    /// Standard output as a table, no chart options: what `diagnose` and the like start from.
    pub fn table() -> Self {
        let chart = iisql::chart::ChartOptions::default();
        Self {
            format: Format::Table,
            output: None,
            chart_type: None,
            chart_title: None,
            chart_size: (chart.width, chart.height),
            expanded: crate::fit::Expanded::Off,
            max_rows: DEFAULT_MAX_ROWS,
            max_width: None,
            no_pager: false,
        }
    }

    /// The chart options these arguments give.
    pub fn chart_options(&self) -> iisql::chart::ChartOptions {
        iisql::chart::ChartOptions {
            kind: self.chart_type,
            title: self.chart_title.clone(),
            width: self.chart_size.0,
            height: self.chart_size.1,
            ..Default::default()
        }
    }
}

fn parse_chart_kind(s: &str) -> Result<iisql::chart::ChartKind, String> {
    iisql::chart::ChartKind::parse(s).ok_or_else(|| {
        format!(
            "unknown chart type `{s}` (one of {})",
            iisql::chart::ChartKind::NAMES.join(", ")
        )
    })
}

/// `WIDTHxHEIGHT`, each 100 to 10000 pixels.
fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not WIDTHxHEIGHT in pixels, such as 1000x560");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if !(100..=10_000).contains(&w) || !(100..=10_000).contains(&h) {
        return Err(format!("{w}x{h}: each side must be 100 to 10000 pixels"));
    }
    Ok((w, h))
}

/// What is read, and how.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Log files, folders (searched recursively for *.log, *.log.gz...) or globs. Each file's
    /// format is detected from its content: IIS W3C web logs become table `logs` (with the view
    /// `activesync` over it), and `ftp`, `httperr`, `w3c`, `iis`, `ncsa` hold the other formats.
    pub paths: Vec<String>,

    /// Read every PATH as this format (IISW3C, HTTPERR, W3C, IIS, NCSA) instead of detecting it.
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<String>,

    /// Register all PATHs as this one table (read as --input-format, IISW3C by default).
    #[arg(long)]
    pub table: Option<String>,

    /// Field list for lines before any #Fields (headerless files), e.g. "date time c-ip sc-status".
    #[arg(long)]
    pub fields: Option<String>,

    /// The logs are compressed (gzip, zstd, bzip2, xz): folders are searched for *.log.gz
    /// (and so on) and each file is decompressed as it is read.
    #[arg(long, value_name = "CODEC")]
    pub compression: Option<String>,

    /// Stop with an error once more than N lines were rejected (Log Parser's -e).
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,

    /// Stop at the first rejected line or unreadable value.
    #[arg(long)]
    pub strict: bool,

    /// Longest line read as a line, in bytes; a longer one is rejected without being held in
    /// memory (default 16 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_line_bytes: Option<usize>,

    /// Read only the complete lines written since the run that saved FILE (Log Parser's
    /// -iCheckpoint); FILE is written when the run succeeds. Rotated or replaced files are read
    /// from their start.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Write every rejected line to FILE (.csv or .ndjson).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,

    /// Number of partitions to scan in parallel (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,

    /// The servers' IANA time zone: the `timestamp` of logs in local time (IIS native,
    /// `date-local`), and the zone of `to_localtime` and `to_utctime` when a query gives none
    /// (the session's `datafusion.execution.time_zone`). The host's zone is never assumed.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,

    /// Most memory that sorts, joins and aggregations hold (e.g. 512MB, 2GiB); beyond it they
    /// spill to temporary files. Default: no limit, except for `convert`, whose sort by
    /// timestamp holds at most 1 GiB.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,

    /// Run the queries on the DataFusion Ballista cluster whose scheduler is at URL
    /// (df://host:50050): an iisql-scheduler with iisql-executors that read the logs at the
    /// same paths or URLs. Needs an iisql built with the `cluster` feature.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,

    /// Print how long each statement took (on standard error).
    #[arg(long)]
    pub timing: bool,

    /// Print no summary or progress on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}
