//! Incremental reading (Log Parser's `-iCheckpoint`): a checkpoint file remembers, per log,
//! who it is (size, modification time, a hash of its first bytes) and where the last complete
//! line read ends; a later run reads only the complete lines written since.
//!
//! A file whose first bytes changed, or that shrank, was rotated or replaced: it is read from
//! its start. The line being written (no final newline yet) is left for the next run. Compressed
//! files and archives are read whole, once. The checkpoint is written only when the caller says
//! the work succeeded ([`Checkpoint::save`]), atomically (a temporary file renamed over it).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionContext;
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::error::IisqlError;

/// Bytes of a file's start whose hash identifies it.
const HEAD_BYTES: usize = 4096;

/// What a checkpoint remembers of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMark {
    /// Its size when read.
    pub size: u64,
    /// Its modification time, milliseconds since the epoch.
    pub modified_ms: i64,
    /// FNV-1a hash of its first `head_len` bytes, hex.
    pub head: String,
    /// How many bytes `head` covers: 4 KiB, or the whole file if it was shorter.
    pub head_len: u64,
    /// Where the last complete line read ends (the next run starts there).
    pub offset: u64,
}

/// Per file (absolute path), what was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The files, by absolute path.
    pub files: BTreeMap<String, FileMark>,
    /// Output files a run wrote to a staging folder and had not yet moved into place when this
    /// checkpoint was saved ([`crate::staging`]): saving it committed them.
    pub publish: Option<Publish>,
}

/// What a run reads: per file the byte range of new complete lines, and the checkpoint to save
/// once the run succeeded.
#[derive(Debug, Clone, Default)]
pub struct Increment {
    /// Absolute path -> `[start, end)` to read (empty when nothing is new).
    pub ranges: HashMap<String, (u64, u64)>,
    /// The checkpoint after this run.
    pub next: Checkpoint,
    /// Files read from their start because they are new, rotated or replaced.
    pub restarted: Vec<String>,
    /// Bytes of new complete lines.
    pub new_bytes: u64,
}

/// FNV-1a hash of `bytes`, as 16 hex digits.
pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn io(path: &str, source: std::io::Error) -> DataFusionError {
    IisqlError::Io {
        path: path.to_string(),
        source,
    }
    .into()
}

/// Where the last complete line of the open file ends: just after its last `\n`, 0 if none.
fn complete_end(file: &mut std::fs::File, size: u64) -> std::io::Result<u64> {
    let mut end = size;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Whether a file is read whole (its bytes are not its lines' offsets).
fn read_whole(path: &str) -> bool {
    crate::names::compression_by_name(path).is_some() || crate::names::is_zip(path)
}

impl Checkpoint {
    /// Reads a checkpoint file; a missing file is an empty checkpoint (the first run).
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(io(&shown, e)),
        };
        let bad = |what: &str| {
            DataFusionError::Execution(format!("{shown}: not an iisql checkpoint: {what}"))
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let files = v
            .get("files")
            .and_then(|f| f.as_object())
            .ok_or_else(|| bad("no `files` object"))?;
        let mut out = Self::default();
        if let Some(p) = v.get("publish").filter(|p| !p.is_null()) {
            out.publish = Some(Publish::from_json(p).ok_or_else(|| bad("publish"))?);
        }
        for (name, m) in files {
            let num = |k: &str| m.get(k).and_then(|x| x.as_i64()).ok_or_else(|| bad(k));
            out.files.insert(
                name.clone(),
                FileMark {
                    size: num("size")? as u64,
                    modified_ms: num("modified_ms")?,
                    head: m
                        .get("head")
                        .and_then(|h| h.as_str())
                        .ok_or_else(|| bad("head"))?
                        .to_string(),
                    head_len: num("head_len")? as u64,
                    offset: num("offset")? as u64,
                },
            );
        }
        Ok(out)
    }

    /// Writes the checkpoint to `path` atomically: a temporary file beside it, flushed to disk,
    /// renamed over it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let shown = path.display().to_string();
        let mut files = serde_json::Map::new();
        for (name, m) in &self.files {
            files.insert(
                name.clone(),
                serde_json::json!({
                    "size": m.size,
                    "modified_ms": m.modified_ms,
                    "head": m.head,
                    "head_len": m.head_len,
                    "offset": m.offset,
                }),
            );
        }
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "iisql_checkpoint": 1,
            "files": files,
            "publish": self.publish.as_ref().map(Publish::to_json),
        }))
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
        // This process's own temporary name: another run never writes into it.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            sync_parent(path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(&shown, e)
        })
    }

    /// Plans a run over the local `files` (absolute paths): the new complete lines of each.
    pub fn plan(&self, files: &[String]) -> Result<Increment> {
        let mut inc = Increment::default();
        for path in files {
            let mut f = std::fs::File::open(path).map_err(|e| io(path, e))?;
            let meta = f.metadata().map_err(|e| io(path, e))?;
            let size = meta.len();
            let modified_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            let mut first = vec![0u8; HEAD_BYTES.min(size as usize)];
            f.read_exact(&mut first).map_err(|e| io(path, e))?;
            let end = if read_whole(path) {
                size
            } else {
                complete_end(&mut f, size).map_err(|e| io(path, e))?
            };
            self.add(&mut inc, path, size, modified_ms, &first, end);
        }
        // Files no longer given are forgotten only if they are gone; others (and objects, which
        // only [`Self::plan_urls`] looks at) keep their marks.
        for (path, m) in &self.files {
            if !inc.next.files.contains_key(path) && (is_url(path) || Path::new(path).exists()) {
                inc.next.files.insert(path.clone(), m.clone());
            }
        }
        Ok(inc)
    }

    /// Plans a run over the log objects under `urls` (`s3://bucket/logs/`, `gs://...`, a single
    /// object's URL) in `ctx`'s object stores, as [`Self::plan`] does for local files: each
    /// object is known by its URL, its size, modification time and a hash of its first bytes
    /// (ranged reads), and only its new complete lines are read. An object re-uploaded with more
    /// lines (as sync tools upload a growing log) is read on from where the last run stopped.
    pub async fn plan_urls(&self, ctx: &SessionContext, urls: &[String]) -> Result<Increment> {
        let mut inc = Increment::default();
        let mut listed = Vec::new();
        for url in urls {
            crate::stores::register_store_for(ctx, url)?;
            let table_url = ListingTableUrl::parse(url)?;
            let store = ctx.runtime_env().object_store(&table_url)?;
            let base = table_url.object_store().as_str().to_string();
            listed.push(crate::opener::display_name(
                &base,
                table_url.prefix().as_ref(),
            ));
            // Straight from the store: a session's listing cache may predate the new objects.
            let objects: Vec<ObjectMeta> = match store.head(table_url.prefix()).await {
                Ok(one) if !url.ends_with('/') => vec![one],
                _ => store.list(Some(table_url.prefix())).try_collect().await?,
            };
            for meta in objects {
                let name = crate::opener::display_name(&base, meta.location.as_ref());
                let file_name = meta.location.filename().unwrap_or_default();
                if !crate::names::is_log_file(file_name) {
                    continue;
                }
                let size = meta.size;
                let first = store
                    .get_range(&meta.location, 0..(HEAD_BYTES as u64).min(size))
                    .await?;
                let end = if read_whole(&name) {
                    size
                } else {
                    object_complete_end(store.as_ref(), &meta.location, size).await?
                };
                let modified_ms = meta.last_modified.timestamp_millis();
                self.add(&mut inc, &name, size, modified_ms, &first, end);
            }
        }
        // Objects no longer listed under a listed URL are gone; the others keep their marks.
        for (name, m) in &self.files {
            if is_url(name)
                && !inc.next.files.contains_key(name)
                && !listed.iter().any(|l| name.starts_with(l.as_str()))
            {
                inc.next.files.insert(name.clone(), m.clone());
            }
        }
        Ok(inc)
    }

    /// Plans a run over local `files` and the objects under `urls` together. The local files
    /// are opened and read ([`Self::plan`]) on a blocking thread, not on the runtime's workers.
    pub async fn plan_all(
        &self,
        ctx: &SessionContext,
        files: &[String],
        urls: &[String],
    ) -> Result<Increment> {
        let (this, local) = (self.clone(), files.to_vec());
        let mut inc = tokio::task::spawn_blocking(move || this.plan(&local))
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
        if urls.is_empty() {
            return Ok(inc);
        }
        let remote = self.plan_urls(ctx, urls).await?;
        inc.next.files.retain(|name, _| !is_url(name));
        inc.next.files.extend(
            remote
                .next
                .files
                .into_iter()
                .filter(|(name, _)| is_url(name)),
        );
        inc.ranges.extend(remote.ranges);
        inc.restarted.extend(remote.restarted);
        inc.new_bytes += remote.new_bytes;
        Ok(inc)
    }

    /// Adds the file `name` (of `size` bytes, modified at `modified_ms`, starting with `first`,
    /// its last complete line ending at `end`) to `inc`: from the last run's offset when it is
    /// the same file, grown or untouched; from its start when it is new, rotated or replaced.
    fn add(
        &self,
        inc: &mut Increment,
        name: &str,
        size: u64,
        modified_ms: i64,
        first: &[u8],
        end: u64,
    ) {
        let head = fnv1a(first);
        let old = self.files.get(name);
        // The bytes the old mark hashed: a file that grew past them keeps their hash.
        let old_head = old.map(|m| {
            let n = (m.head_len as usize).min(first.len());
            (n as u64 == m.head_len).then(|| fnv1a(&first[..n]))
        });
        let same = old.is_some_and(|m| {
            let head = old_head.clone().flatten().unwrap_or_default();
            if read_whole(name) {
                // Compressed files and archives: done once, unless their bytes changed (a
                // copy or a `touch` changes only the modification time).
                m.head == head && m.size == size
            } else {
                // The same file grown (or untouched): on from where the last run stopped.
                m.head == head && size >= m.size && m.offset <= end
            }
        });
        let start = match old {
            Some(m) if same => m.offset,
            Some(_) => {
                inc.restarted.push(name.to_string());
                0
            }
            None => 0,
        };
        inc.new_bytes += end.saturating_sub(start);
        inc.ranges.insert(name.to_string(), (start, end.max(start)));
        inc.next.files.insert(
            name.to_string(),
            FileMark {
                size,
                modified_ms,
                head,
                head_len: first.len() as u64,
                offset: end.max(start),
            },
        );
    }
}

/// Whether a checkpoint entry names an object by URL rather than a local file by path.
fn is_url(name: &str) -> bool {
    crate::stores::url_scheme(name).is_some()
}

/// [`complete_end`] of an object, by ranged reads from its end.
async fn object_complete_end(
    store: &dyn ObjectStore,
    location: &object_store::path::Path,
    size: u64,
) -> Result<u64> {
    let mut end = size;
    while end > 0 {
        let start = end.saturating_sub(64 << 10);
        let bytes = store.get_range(location, start..end).await?;
        if let Some(i) = memchr::memrchr(b'\n', &bytes) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Files written to a staging folder, to be moved to the same relative paths in an output
/// folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// The staging folder (absolute).
    pub staging: String,
    /// The output folder (absolute).
    pub output: String,
    /// The files, relative to both folders (`date=2025-11-03/0aBc.parquet`).
    pub files: Vec<String>,
}

impl Publish {
    /// The record as the checkpoint file holds it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "staging": self.staging,
            "output": self.output,
            "files": self.files,
        })
    }

    /// The record from the checkpoint file; `None` when it is not one.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let text = |k: &str| v.get(k)?.as_str().map(str::to_string);
        let files = v
            .get("files")?
            .as_array()?
            .iter()
            .map(|f| f.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            staging: text("staging")?,
            output: text("output")?,
            files,
        })
    }
}

/// Flushes the folder holding `path` to disk, so that a rename into it survives a crash.
pub fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_rotates_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("u_ex1.log");
        let name = log.display().to_string();
        std::fs::write(&log, "#Fields: a\n1\n2\npart").unwrap();
        let cp = Checkpoint::default();
        let inc = cp.plan(std::slice::from_ref(&name)).unwrap();
        assert_eq!(inc.ranges[&name], (0, 15), "the unfinished line is left");
        let cp_path = dir.path().join("cp.json");
        inc.next.save(&cp_path).unwrap();
        let cp = Checkpoint::load(&cp_path).unwrap();
        assert_eq!(cp, inc.next);
        // Grown: only what follows.
        std::fs::write(&log, "#Fields: a\n1\n2\npartial\n3\n").unwrap();
        let inc = cp.plan(std::slice::from_ref(&name)).unwrap();
        assert_eq!(inc.ranges[&name], (15, 25));
        assert!(inc.restarted.is_empty());
        // Nothing new.
        let again = inc.next.plan(std::slice::from_ref(&name)).unwrap();
        assert_eq!(again.ranges[&name], (25, 25));
        // Replaced by another file (its start differs): from the start.
        std::fs::write(&log, "#Fields: b\n9\n").unwrap();
        let inc = again.next.plan(std::slice::from_ref(&name)).unwrap();
        assert_eq!(inc.ranges[&name], (0, 13));
        assert_eq!(inc.restarted, vec![name.clone()]);
        assert!(
            Checkpoint::load(&dir.path().join("none.json"))
                .unwrap()
                .files
                .is_empty()
        );
        std::fs::write(&cp_path, "{}").unwrap();
        assert!(Checkpoint::load(&cp_path).is_err());
    }

    #[test]
    fn a_compressed_file_only_touched_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("u_ex1.log.gz");
        let name = gz.display().to_string();
        std::fs::write(&gz, b"\x1f\x8b not really gzip").unwrap();
        let inc = Checkpoint::default()
            .plan(std::slice::from_ref(&name))
            .unwrap();
        assert_eq!(inc.ranges[&name], (0, 18));
        // A copy or `touch`: a new modification time, the same bytes.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&gz)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let again = inc.next.plan(std::slice::from_ref(&name)).unwrap();
        assert_eq!(again.ranges[&name], (18, 18));
        assert!(again.restarted.is_empty());
        // Other bytes: read whole again.
        std::fs::write(&gz, b"\x1f\x8b other bytes, same size").unwrap();
        let changed = again.next.plan(std::slice::from_ref(&name)).unwrap();
        assert_eq!(changed.ranges[&name].0, 0);
    }
}
