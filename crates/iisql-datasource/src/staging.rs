//! Exactly-once output for runs with a checkpoint ([`crate::checkpoint`]).
//!
//! Roles and order:
//! 1. [`lock`] takes the checkpoint for one run: a second run on it is refused with a message
//!    (the operating system releases the lock when a process dies, even by `kill -9`).
//! 2. [`recover`] finishes what the last run committed and did not move, and discards what a
//!    run that never committed left in its staging folder.
//! 3. The run writes its output files into [`staging_dir`], a hidden folder beside the output
//!    folder (never below it, so that no reader of the output sees them).
//! 4. It saves the checkpoint with a [`Publish`] record naming those files: that atomic rename
//!    is the commit. Before it, the run never happened (its lines are read again); after it,
//!    the files belong to the output.
//! 5. [`recover`] then moves each file into place (a rename within one file system) and saves
//!    the checkpoint without the record.
//!
//! Output at a URL (`s3://bucket/lake/`) goes the same way ([`recover_output`]): the staging
//! prefix is beside the output's ([`staging_url`]), and the move is a copy then a delete in the
//! object store, repeated by the next run when a kill interrupts it (a file no longer in
//! staging was moved already).
//!
//! So a kill at any moment, a full disk or a failed query leaves, after the next run, every
//! line in the output exactly once.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::checkpoint::Checkpoint;
use crate::error::IisqlError;

pub use crate::checkpoint::{Publish, sync_parent};

fn io(path: &Path, source: std::io::Error) -> DataFusionError {
    IisqlError::Io {
        path: path.display().to_string(),
        source,
    }
    .into()
}

/// The lock of one checkpoint, held until dropped (or the process ends).
#[derive(Debug)]
pub struct CheckpointLock {
    _file: File,
}

/// Takes the lock of the checkpoint at `checkpoint` (a file `CHECKPOINT.lock` beside it); an
/// error naming both when another run holds it.
pub fn lock(checkpoint: &Path) -> Result<CheckpointLock> {
    let name = checkpoint.file_name().unwrap_or_default().to_string_lossy();
    let path = checkpoint.with_file_name(format!("{name}.lock"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(CheckpointLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(DataFusionError::Execution(format!(
            "{}: another iisql run is using this checkpoint (it holds {}); run again when it \
             has finished",
            checkpoint.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path, e)),
    }
}

/// The staging folder of the runs of `checkpoint` that write into `output`: hidden, beside
/// `output` (so on its file system, and out of its readers' sight), one per checkpoint.
pub fn staging_dir(output: &Path, checkpoint: &Path) -> Result<PathBuf> {
    let output = std::path::absolute(output).map_err(|e| io(output, e))?;
    let checkpoint = std::path::absolute(checkpoint).map_err(|e| io(checkpoint, e))?;
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "output".to_string());
    let parent = output.parent().unwrap_or(Path::new("/"));
    let hash = crate::checkpoint::fnv1a(checkpoint.as_os_str().as_encoded_bytes());
    Ok(parent.join(format!(".{name}.iisql-staging-{hash}")))
}

/// The files below `dir`, relative to it, in name order.
pub fn files_below(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let path = e.path();
            if e.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().to_string());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out).map_err(|e| io(dir, e))?;
    out.sort();
    Ok(out)
}

/// Makes the output of the checkpoint at `checkpoint` whole (call with its [`lock`] held,
/// before planning a run): moves the files a committed run left in staging into place, saves
/// the checkpoint without its [`Publish`] record, and deletes `staging` (the folder of this
/// checkpoint's runs, [`staging_dir`]; what an uncommitted run wrote there is discarded, its
/// lines are read again). Returns how many files were moved.
pub fn recover(checkpoint: &Path, staging: Option<&Path>) -> Result<usize> {
    let mut cp = Checkpoint::load(checkpoint)?;
    let mut moved = 0;
    // A move into an object store is [`recover_output`]'s.
    if let Some(publish) = cp
        .publish
        .take_if(|p| crate::stores::url_scheme(&p.output).is_none())
    {
        let from = Path::new(&publish.staging);
        let to = Path::new(&publish.output);
        for rel in &publish.files {
            let src = from.join(rel);
            let dst = to.join(rel);
            // Moved already by an earlier recovery that was itself interrupted.
            if !src.exists() && dst.exists() {
                continue;
            }
            if let Some(dir) = dst.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
            }
            std::fs::rename(&src, &dst).map_err(|e| io(&src, e))?;
            sync_parent(&dst).map_err(|e| io(&dst, e))?;
            moved += 1;
        }
        cp.save(checkpoint)?;
        remove_dir(from)?;
    }
    if let Some(staging) = staging {
        remove_dir(staging)?;
    }
    Ok(moved)
}

/// [`recover`] on a blocking thread: for callers on an async runtime (a committed move may
/// rename thousands of files).
pub async fn recover_off_runtime(checkpoint: PathBuf, staging: Option<PathBuf>) -> Result<usize> {
    tokio::task::spawn_blocking(move || recover(&checkpoint, staging.as_deref()))
        .await
        .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))?
}

/// The staging prefix of the runs of `checkpoint` that write into the object-store URL
/// `output`: hidden, beside `output` (`s3://b/.lake.iisql-staging-HASH/` for `s3://b/lake/`),
/// so out of its readers' sight; at the top of the bucket for an output that is a bucket.
pub fn staging_url(output: &str, checkpoint: &Path) -> Result<String> {
    let checkpoint = std::path::absolute(checkpoint).map_err(|e| io(checkpoint, e))?;
    let hash = crate::checkpoint::fnv1a(checkpoint.as_os_str().as_encoded_bytes());
    let mut url = url::Url::parse(output)
        .map_err(|e| DataFusionError::Plan(format!("{output}: not a URL: {e}")))?;
    let path = url.path().trim_matches('/').to_string();
    let (parent, name) = match path.rsplit_once('/') {
        Some((parent, name)) => (format!("/{parent}/"), format!(".{name}.")),
        None if path.is_empty() => ("/".to_string(), ".".to_string()),
        None => ("/".to_string(), format!(".{path}.")),
    };
    url.set_path(&format!("{parent}{name}iisql-staging-{hash}/"));
    Ok(url.to_string())
}

/// The object store and path prefix of the folder URL `url` (its store registered first).
fn store_prefix(
    ctx: &SessionContext,
    url: &str,
) -> Result<(std::sync::Arc<dyn ObjectStore>, StorePath)> {
    crate::stores::register_store_for(ctx, url)?;
    let url = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    let table_url = ListingTableUrl::parse(&url)?;
    let store = ctx.runtime_env().object_store(&table_url)?;
    Ok((store, table_url.prefix().clone()))
}

/// `prefix` followed by the relative (encoded) path `rel`.
fn below(prefix: &StorePath, rel: &str) -> Result<StorePath> {
    StorePath::parse(format!("{prefix}/{rel}")).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The objects below the folder URL `url`, relative to it, in name order (as
/// [`files_below`] for a folder).
pub async fn files_in_store(ctx: &SessionContext, url: &str) -> Result<Vec<String>> {
    let (store, prefix) = store_prefix(ctx, url)?;
    let objects: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    let mut out: Vec<String> = objects
        .iter()
        .filter_map(|o| {
            let rel = o.location.prefix_match(&prefix)?;
            Some(
                rel.map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/"),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Deletes every object below the folder URL `url`.
async fn remove_prefix(ctx: &SessionContext, url: &str) -> Result<()> {
    let (store, prefix) = store_prefix(ctx, url)?;
    let objects: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    for o in objects {
        store.delete(&o.location).await?;
    }
    Ok(())
}

/// [`recover`] for any output, a folder or an object-store URL (call with the checkpoint's
/// [`lock`] held, before planning a run): a committed move into an object store is finished,
/// each file copied from the staging prefix to the output and deleted from staging (a file no
/// longer in staging was moved by an interrupted recovery), then the checkpoint saved without
/// its record and the staging prefix emptied; `staging`, a folder or a URL, is emptied (what a
/// run that never committed wrote there is discarded). Returns how many files were moved.
pub async fn recover_output(
    ctx: &SessionContext,
    checkpoint: PathBuf,
    staging: Option<String>,
) -> Result<usize> {
    let load = checkpoint.clone();
    let mut cp = tokio::task::spawn_blocking(move || Checkpoint::load(&load))
        .await
        .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
    let mut moved = 0;
    if let Some(publish) = cp
        .publish
        .take_if(|p| crate::stores::url_scheme(&p.output).is_some())
    {
        let (store, from) = store_prefix(ctx, &publish.staging)?;
        let (_, to) = store_prefix(ctx, &publish.output)?;
        for rel in &publish.files {
            let (src, dst) = (below(&from, rel)?, below(&to, rel)?);
            match store.copy(&src, &dst).await {
                Ok(()) => {
                    store.delete(&src).await?;
                    moved += 1;
                }
                // Moved by an earlier recovery: the copy is in place.
                Err(object_store::Error::NotFound { .. }) => {
                    if let Err(e) = store.head(&dst).await {
                        return Err(DataFusionError::Execution(format!(
                            "{}: committed file {rel} is neither in {} nor in {} ({e}); \
                             restore it, or remove the checkpoint and convert again",
                            checkpoint.display(),
                            publish.staging,
                            publish.output
                        )));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let save = checkpoint.clone();
        tokio::task::spawn_blocking(move || cp.save(&save))
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
        remove_prefix(ctx, &publish.staging).await?;
    }
    match staging {
        Some(url) if crate::stores::url_scheme(&url).is_some() => {
            remove_prefix(ctx, &url).await?;
            moved += recover_off_runtime(checkpoint, None).await?;
        }
        dir => moved += recover_off_runtime(checkpoint, dir.map(PathBuf::from)).await?,
    }
    Ok(moved)
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(dir, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_move_is_finished_and_an_uncommitted_one_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let cp_path = dir.path().join("cp.json");
        let out = dir.path().join("lake");
        let staging = staging_dir(&out, &cp_path).unwrap();
        assert_eq!(staging.parent(), Some(dir.path()));
        assert!(!staging.starts_with(&out));
        std::fs::create_dir_all(staging.join("date=1")).unwrap();
        std::fs::write(staging.join("date=1/a.parquet"), "a").unwrap();
        std::fs::write(staging.join("b.parquet"), "b").unwrap();
        let files = files_below(&staging).unwrap();
        assert_eq!(files, ["b.parquet", "date=1/a.parquet"]);

        // Not committed: discarded, nothing moved.
        assert_eq!(recover(&cp_path, Some(&staging)).unwrap(), 0);
        assert!(!staging.exists() && !out.exists());

        // Committed: moved into place, record cleared; a second recovery has nothing to do.
        std::fs::create_dir_all(staging.join("date=1")).unwrap();
        std::fs::write(staging.join("date=1/a.parquet"), "a").unwrap();
        let cp = Checkpoint {
            publish: Some(Publish {
                staging: staging.display().to_string(),
                output: out.display().to_string(),
                files: vec!["date=1/a.parquet".into()],
            }),
            ..Default::default()
        };
        cp.save(&cp_path).unwrap();
        assert_eq!(Checkpoint::load(&cp_path).unwrap(), cp);
        assert_eq!(recover(&cp_path, Some(&staging)).unwrap(), 1);
        assert_eq!(std::fs::read(out.join("date=1/a.parquet")).unwrap(), b"a");
        assert_eq!(Checkpoint::load(&cp_path).unwrap().publish, None);
        assert_eq!(recover(&cp_path, Some(&staging)).unwrap(), 0);
    }

    #[test]
    fn the_staging_prefix_of_a_url_is_hidden_beside_it() {
        let cp = Path::new("/cp/x.json");
        let hash = crate::checkpoint::fnv1a(b"/cp/x.json");
        for (output, want) in [
            (
                "s3://b/lake/",
                format!("s3://b/.lake.iisql-staging-{hash}/"),
            ),
            ("s3://b/lake", format!("s3://b/.lake.iisql-staging-{hash}/")),
            (
                "s3://b/a/lake/",
                format!("s3://b/a/.lake.iisql-staging-{hash}/"),
            ),
            ("s3://b/", format!("s3://b/.iisql-staging-{hash}/")),
            ("s3://b", format!("s3://b/.iisql-staging-{hash}/")),
        ] {
            assert_eq!(staging_url(output, cp).unwrap(), want, "{output}");
        }
    }

    #[tokio::test]
    async fn a_committed_move_into_an_object_store_is_finished_once() {
        let dir = tempfile::tempdir().unwrap();
        let cp_path = dir.path().join("cp.json");
        let out = format!("file://{}/lake/", dir.path().display());
        let staging = staging_url(&out, &cp_path).unwrap();
        let staged = |rel: &str| {
            let p = staging.strip_prefix("file://").unwrap().to_string() + rel;
            PathBuf::from(p)
        };
        let ctx = SessionContext::new();
        for rel in ["date=1/a.parquet", "b.parquet"] {
            let p = staged(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, rel).unwrap();
        }
        let files = files_in_store(&ctx, &staging).await.unwrap();
        assert_eq!(files, ["b.parquet", "date=1/a.parquet"]);
        // Not committed: discarded.
        let moved = recover_output(&ctx, cp_path.clone(), Some(staging.clone())).await;
        assert_eq!(moved.unwrap(), 0);
        assert!(files_in_store(&ctx, &staging).await.unwrap().is_empty());
        // Committed, and one file moved already by a recovery that was killed.
        for rel in &files {
            std::fs::create_dir_all(staged(rel).parent().unwrap()).unwrap();
            std::fs::write(staged(rel), rel).unwrap();
        }
        let lake = dir.path().join("lake");
        std::fs::create_dir_all(&lake).unwrap();
        std::fs::rename(staged("b.parquet"), lake.join("b.parquet")).unwrap();
        Checkpoint {
            publish: Some(Publish {
                staging: staging.clone(),
                output: out.clone(),
                files,
            }),
            ..Default::default()
        }
        .save(&cp_path)
        .unwrap();
        // The synchronous recovery leaves a move into a store alone.
        assert_eq!(recover(&cp_path, None).unwrap(), 0);
        assert!(Checkpoint::load(&cp_path).unwrap().publish.is_some());
        let moved = recover_output(&ctx, cp_path.clone(), None).await;
        assert_eq!(moved.unwrap(), 1);
        assert_eq!(
            std::fs::read(lake.join("date=1/a.parquet")).unwrap(),
            b"date=1/a.parquet"
        );
        assert_eq!(std::fs::read(lake.join("b.parquet")).unwrap(), b"b.parquet");
        assert_eq!(Checkpoint::load(&cp_path).unwrap().publish, None);
        assert!(files_in_store(&ctx, &staging).await.unwrap().is_empty());
        assert_eq!(recover_output(&ctx, cp_path, None).await.unwrap(), 0);
    }

    #[test]
    fn a_second_run_on_a_checkpoint_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let cp_path = dir.path().join("cp.json");
        let held = lock(&cp_path).unwrap();
        let err = lock(&cp_path).unwrap_err().to_string();
        assert!(err.contains("another iisql run"), "{err}");
        drop(held);
        lock(&cp_path).unwrap();
    }
}
