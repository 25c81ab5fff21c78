//! Registering log files as a table from Rust: files, globs and folder trees.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::GetExt;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionContext;
use futures::StreamExt;
use iis_log::LogFormat;
use iis_log::detect::{DETECT_BYTES, Detected, detect};

use crate::error::IisqlError;
use crate::format::IisW3cFormat;
use crate::options::IisW3cOptions;
use crate::session::scan_log;

/// The names a folder walk takes: logs, and with a declared compression only logs named
/// for it (`.log.gz` for gzip).
fn log_suffix(compression: FileCompressionType) -> Option<String> {
    compression
        .is_compressed()
        .then(|| format!(".log{}", compression.get_ext()))
}

/// Whether a walk takes `name`.
fn takes(name: &str, suffix: Option<&str>) -> bool {
    match suffix {
        Some(suffix) => name.to_ascii_lowercase().ends_with(suffix),
        None => crate::names::is_log_file(name) || crate::names::is_zip(name),
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Collects the log files below `dir` (named as [`takes`] says), sorted. Links are followed,
/// each folder once: a link back to a folder already walked (`loop -> .`) adds nothing.
fn walk(dir: &Path, suffix: Option<&str>, out: &mut Vec<String>) -> Result<(), IisqlError> {
    walk_once(dir, suffix, out, &mut HashSet::new())
}

fn walk_once(
    dir: &Path,
    suffix: Option<&str>,
    out: &mut Vec<String>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), IisqlError> {
    // A folder that cannot be resolved is walked (its read_dir says why it fails).
    if let Ok(real) = std::fs::canonicalize(dir)
        && !seen.insert(real)
    {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| IisqlError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let io = |path: &Path, source| IisqlError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut paths = Vec::new();
    for e in entries {
        paths.push(e.map_err(|e| io(dir, e))?.path());
    }
    paths.sort();
    for p in paths {
        let is_log = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| takes(n, suffix));
        // Links are followed; a log that cannot be reached is an error, not a skipped file.
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk_once(&p, suffix, out, seen)?,
            Ok(_) if is_log => out.push(p.display().to_string()),
            Err(e) if is_log => return Err(io(&p, e)),
            _ => {}
        }
    }
    Ok(())
}

/// Total size in bytes of the local log files among `paths` (folders searched recursively);
/// globs and URLs count as 0. Used for progress display.
pub fn local_size(paths: &[impl AsRef<str>]) -> u64 {
    let mut total = 0;
    for p in paths {
        let path = Path::new(p.as_ref());
        if path.is_dir() {
            let mut files = Vec::new();
            if walk(path, None, &mut files).is_ok() {
                total += files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum::<u64>();
            }
        } else if let Ok(m) = std::fs::metadata(path) {
            total += m.len();
        }
    }
    total
}

/// Expands user paths into table URLs: a folder becomes every log below it (recursively;
/// `*.log`, and compressed `*.log.gz` and so on), a glob or URL is passed to DataFusion as it
/// is, a file is taken as it is. A file named twice (a folder and a file inside it) is read
/// once.
pub fn expand_paths(paths: &[impl AsRef<str>]) -> Result<Vec<ListingTableUrl>> {
    Ok(expand(paths, None)?.into_iter().map(|(u, _)| u).collect())
}

/// The local log files among `paths` (folders walked as [`register_logs`] walks them), named
/// as scans name them (`log_filename`): the keys of a [`Checkpoint`](crate::checkpoint::Checkpoint).
/// Globs and URLs are not included.
pub fn local_log_files(paths: &[impl AsRef<str>], options: &IisW3cOptions) -> Result<Vec<String>> {
    let suffix = log_suffix(options.compression);
    Ok(expand(paths, suffix.as_deref())?
        .into_iter()
        .filter(|(_, i)| matches!(i, Input::Local(_)))
        .map(|(u, _)| format!("/{}", u.prefix()))
        .collect())
}

/// One input of a table: a local file, or a glob or URL as the user gave it.
#[derive(Debug, Clone)]
enum Input {
    Local(String),
    Given(String),
}

/// [`expand`] off the async runtime: folders are walked on a blocking thread.
async fn expand_off_runtime(
    paths: &[impl AsRef<str>],
    suffix: Option<String>,
) -> Result<Vec<(ListingTableUrl, Input)>> {
    let paths: Vec<String> = paths.iter().map(|p| p.as_ref().to_string()).collect();
    tokio::task::spawn_blocking(move || expand(&paths, suffix.as_deref()))
        .await
        .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))?
}

/// [`expand_paths`] keeping each local file's path; a walk takes only names ending with
/// `suffix` when one is given (`.log.gz` for declared gzip).
fn expand(
    paths: &[impl AsRef<str>],
    suffix: Option<&str>,
) -> Result<Vec<(ListingTableUrl, Input)>> {
    let mut urls: Vec<(ListingTableUrl, Input)> = Vec::new();
    // Seen URLs, so that a folder of 100,000 files is not deduplicated in quadratic time.
    let mut seen: HashSet<String> = HashSet::new();
    let mut add = |url: ListingTableUrl, local: Input| {
        if seen.insert(url.as_str().to_string()) {
            urls.push((url, local));
        }
    };
    for p in paths {
        let p = p.as_ref();
        if crate::stores::url_scheme(p).is_some() || has_glob(p) {
            add(ListingTableUrl::parse(p)?, Input::Given(p.to_string()));
            continue;
        }
        let path = Path::new(p);
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, suffix, &mut files)?;
            if files.is_empty() {
                return Err(IisqlError::NoLogFiles(p.to_string()).into());
            }
            for f in files {
                add(ListingTableUrl::parse(&f)?, Input::Local(f));
            }
        } else if path.is_file() {
            add(ListingTableUrl::parse(p)?, Input::Local(p.to_string()));
        } else {
            return Err(IisqlError::NotFound(p.to_string()).into());
        }
    }
    Ok(urls)
}

/// Registers the logs at `paths` (files, globs, folders searched recursively, or object-store
/// URLs) as table `name`, read as `options.format` (IIS W3C unless set). The schema is inferred
/// from every file's `#Fields` directives (and, for generic W3C, their values). Counts and
/// rejects of its scans go to the context's [`ScanLog`](crate::ScanLog).
pub async fn register_logs(
    ctx: &SessionContext,
    name: &str,
    paths: &[impl AsRef<str>],
    options: IisW3cOptions,
) -> Result<()> {
    register_stores(ctx, paths)?;
    let suffix = log_suffix(options.compression);
    let urls: Vec<ListingTableUrl> = expand_off_runtime(paths, suffix)
        .await?
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    let all: Vec<&str> = paths.iter().map(|p| p.as_ref()).collect();
    register_urls(ctx, name, urls, options, &all.join(", ")).await
}

/// Registers `urls` as table `name`; `shown` names the inputs in errors.
async fn register_urls(
    ctx: &SessionContext,
    name: &str,
    urls: Vec<ListingTableUrl>,
    options: IisW3cOptions,
    shown: &str,
) -> Result<()> {
    let format = Arc::new(IisW3cFormat::new(options, scan_log(ctx)));
    // DataFusion infers a multi-path table's schema from its first path only; the fields of
    // every file must be columns, so the schema is inferred over all of them here.
    let state = ctx.state();
    let mut any = false;
    // The files of every path, by object store, so that each store's files are inferred in one
    // call (concurrently), not one path after another.
    let mut by_store: Vec<(datafusion::execution::object_store::ObjectStoreUrl, Vec<_>)> =
        Vec::new();
    for url in &urls {
        let store = state.runtime_env().object_store(url.object_store())?;
        let mut objects = Vec::new();
        {
            let mut listed = url.list_all_files(&state, store.as_ref(), "").await?;
            while let Some(meta) = listed.next().await {
                objects.push(meta?);
            }
        }
        any |= !objects.is_empty();
        match by_store.iter_mut().find(|(u, _)| *u == url.object_store()) {
            Some((_, all)) => all.extend(objects),
            None => by_store.push((url.object_store(), objects)),
        }
    }
    if !any {
        return Err(IisqlError::NoLogFiles(shown.to_string()).into());
    }
    let mut fields = Vec::new();
    for (store_url, objects) in &by_store {
        let store = state.runtime_env().object_store(store_url)?;
        let found = format.infer_fields(&store, objects).await?;
        crate::format::merge_fields(&mut fields, found);
    }
    let schema = format.schema_for(&fields)?;
    let listing = ListingOptions::new(format).with_file_extension("");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(listing)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Registers the object stores the URLs among `paths` need.
fn register_stores(ctx: &SessionContext, paths: &[impl AsRef<str>]) -> Result<()> {
    for p in paths {
        crate::stores::register_store_for(ctx, p.as_ref())?;
    }
    Ok(())
}

/// A table [`register_detected`] registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTable {
    /// The table name: `logs` (IIS W3C web logs), `ftp`, `httperr`, `w3c`, `iis` or `ncsa`.
    pub name: String,
    /// The format its files are read as.
    pub format: LogFormat,
    /// The files (or globs and URLs, which are not looked into) it reads.
    pub inputs: Vec<String>,
}

/// Reads the first bytes of a local file (decompressed when its name says so) and detects its
/// format; `None` for an empty file.
pub fn detect_file(path: &str, compression: FileCompressionType) -> Result<Option<Detected>> {
    let io = |source| IisqlError::Io {
        path: path.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let compression = crate::names::file_compression(compression, path);
    let reader = compression.convert_read(file)?;
    let mut head = Vec::with_capacity(DETECT_BYTES);
    reader
        .take(DETECT_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(detect(&head))
}

/// The detection a table name stands for.
fn table_detection(table: &str) -> Option<Detected> {
    if table == "ftp" {
        return Some(Detected {
            format: LogFormat::IisW3c,
            ftp: true,
        });
    }
    LogFormat::ALL
        .into_iter()
        .find(|f| f.table_name() == table)
        .map(|format| Detected { format, ftp: false })
}

/// What each input is, by content: an archive belongs to every table its members' contents
/// name, a local file to its detected format, anything else to `default`. Blocking: reads files.
fn detect_inputs(
    inputs: Vec<(ListingTableUrl, Input)>,
    compression: FileCompressionType,
    default: Detected,
) -> Result<Vec<(ListingTableUrl, Vec<Detected>, String)>> {
    let mut out = Vec::with_capacity(inputs.len());
    for (url, local) in inputs {
        let (found, shown) = match local {
            Input::Local(path) if crate::names::is_zip(&path) => {
                let io = |source| IisqlError::Io {
                    path: path.clone(),
                    source,
                };
                let file = std::fs::File::open(&path).map_err(io)?;
                let tables = crate::archive::member_tables(file).map_err(io)?;
                let found = tables
                    .into_iter()
                    .map(|t| table_detection(t).unwrap_or(default))
                    .collect();
                (found, path)
            }
            Input::Local(path) => (
                vec![detect_file(&path, compression)?.unwrap_or(default)],
                path,
            ),
            Input::Given(p) => (vec![default], p),
        };
        out.push((url, found, shown));
    }
    Ok(out)
}

/// Registers the logs at `paths` as one table per format found in them, chosen by each local
/// file's content (not its name): `logs` for IIS W3C web logs, `ftp` for IIS FTP logs, and
/// `httperr`, `w3c`, `iis`, `ncsa` for the others, so a server's whole `LogFiles` folder
/// (W3SVC1, FTPSVC1, HTTPERR...) can be given at once. Empty files, globs and URLs are read as
/// `options.format`. Paths that all hold Parquet files only (a lake that `iisql convert`
/// wrote, [`crate::lake`]) are registered as `logs`. Returns the tables in name order.
pub async fn register_detected(
    ctx: &SessionContext,
    paths: &[impl AsRef<str>],
    options: IisW3cOptions,
) -> Result<Vec<RegisteredTable>> {
    if crate::lake::all_lakes(paths).await {
        // What `iisql convert` wrote: the rows of IIS W3C web logs.
        crate::lake::register_lake(ctx, "logs", paths).await?;
        return Ok(vec![RegisteredTable {
            name: "logs".to_string(),
            format: LogFormat::IisW3c,
            inputs: paths.iter().map(|p| p.as_ref().to_string()).collect(),
        }]);
    }
    register_stores(ctx, paths)?;
    let suffix = log_suffix(options.compression);
    let default = Detected {
        format: options.format,
        ftp: false,
    };
    let compression = options.compression;
    let paths: Vec<String> = paths.iter().map(|p| p.as_ref().to_string()).collect();
    // Folders are walked and files' first bytes read on a blocking thread.
    let inputs = tokio::task::spawn_blocking(move || {
        let inputs = expand(&paths, suffix.as_deref())?;
        detect_inputs(inputs, compression, default)
    })
    .await
    .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
    let mut groups: BTreeMap<&'static str, (LogFormat, Vec<ListingTableUrl>, Vec<String>)> =
        BTreeMap::new();
    for (url, found, shown) in inputs {
        for detected in found {
            let entry = groups
                .entry(detected.table_name())
                .or_insert_with(|| (detected.format, Vec::new(), Vec::new()));
            entry.2.push(shown.clone());
            entry.1.push(url.clone());
        }
    }
    let mut out = Vec::new();
    for (name, (format, urls, shown)) in groups {
        let mut opts = options.clone().with_format(format);
        opts.member_table = Some(name.to_string());
        register_urls(ctx, name, urls, opts, &shown.join(", ")).await?;
        out.push(RegisteredTable {
            name: name.to_string(),
            format,
            inputs: shown,
        });
    }
    Ok(out)
}
