//! Registering log files as a table from Rust: files, globs and folder trees.

use std::path::Path;
use std::sync::Arc;

use datafusion::common::GetExt;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use datafusion::execution::context::SessionContext;
use futures::StreamExt;

use crate::error::IisqlError;
use crate::format::IisW3cFormat;
use crate::options::IisW3cOptions;
use crate::session::scan_log;

/// Whether a file name looks like a log this format reads (`*.log`, case-insensitive).
pub fn is_log_file(name: &str) -> bool {
    has_suffix(name, ".log")
}

/// Whether `name` ends with `suffix` (such as `.log` or `.log.gz`), case-insensitively.
fn has_suffix(name: &str, suffix: &str) -> bool {
    name.to_ascii_lowercase().ends_with(suffix)
}

/// The names a folder walk takes: `.log`, and `.log.gz` (and so on) for compressed logs.
fn log_suffix(compression: FileCompressionType) -> String {
    format!(".log{}", compression.get_ext())
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn has_scheme(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() > 1 && scheme.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// Collects the files below `dir` whose names end with `suffix`, sorted.
fn walk(dir: &Path, suffix: &str, out: &mut Vec<String>) -> Result<(), IisqlError> {
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
            .is_some_and(|n| has_suffix(n, suffix));
        // Links are followed; a log that cannot be reached is an error, not a skipped file.
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk(&p, suffix, out)?,
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
            if walk(path, ".log", &mut files).is_ok() {
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

/// Expands user paths into table URLs: a folder becomes every `*.log` below it (recursively),
/// a glob or URL is passed to DataFusion as it is, a file is taken as it is. A file named twice
/// (a folder and a file inside it) is read once.
pub fn expand_paths(paths: &[impl AsRef<str>]) -> Result<Vec<ListingTableUrl>> {
    expand(paths, ".log")
}

/// [`expand_paths`] for logs whose names end with `suffix` (`.log.gz` for gzip).
fn expand(paths: &[impl AsRef<str>], suffix: &str) -> Result<Vec<ListingTableUrl>> {
    let mut urls: Vec<ListingTableUrl> = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if has_scheme(p) || has_glob(p) {
            urls.push(ListingTableUrl::parse(p)?);
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
                let url = ListingTableUrl::parse(&f)?;
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        } else if path.is_file() {
            let url = ListingTableUrl::parse(p)?;
            if !urls.contains(&url) {
                urls.push(url);
            }
        } else {
            return Err(IisqlError::NotFound(p.to_string()).into());
        }
    }
    Ok(urls)
}

/// Registers the IIS W3C logs at `paths` (files, globs, folders searched recursively, or
/// object-store URLs) as table `name`. The schema is inferred from the files' `#Fields`
/// directives. Counts and rejects of its scans go to the context's
/// [`ScanLog`](crate::ScanLog).
pub async fn register_logs(
    ctx: &SessionContext,
    name: &str,
    paths: &[impl AsRef<str>],
    options: IisW3cOptions,
) -> Result<()> {
    let urls = expand(paths, &log_suffix(options.compression))?;
    let format = Arc::new(IisW3cFormat::new(options, scan_log(ctx)));
    // DataFusion infers a multi-path table's schema from its first path only; the custom fields
    // of every file must be columns, so the schema is inferred over all of them here.
    let state = ctx.state();
    let mut custom: Vec<String> = Vec::new();
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
    for (store_url, objects) in &by_store {
        let store = state.runtime_env().object_store(store_url)?;
        let schema = format.infer_schema(&state, &store, objects).await?;
        for f in schema.fields() {
            if let Some(w3c) = f.metadata().get(iis_log::W3C_NAME_KEY)
                && iis_log::fields::standard_field(f.name()).is_none()
                && ![iis_log::TIMESTAMP, iis_log::DATE].contains(&f.name().as_str())
                && !custom.contains(w3c)
            {
                custom.push(w3c.clone());
            }
        }
    }
    if !any {
        let all: Vec<&str> = paths.iter().map(|p| p.as_ref()).collect();
        return Err(IisqlError::NoLogFiles(all.join(", ")).into());
    }
    let schema = Arc::new(iis_log::w3c_schema(custom.iter().map(String::as_str)));
    let listing = ListingOptions::new(format).with_file_extension("");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(listing)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
