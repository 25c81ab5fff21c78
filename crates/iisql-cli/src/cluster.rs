//! `--cluster URL`: queries run on a DataFusion Ballista cluster (crate `iisql-distributed`,
//! cargo feature `cluster`).

use datafusion::error::Result;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::SessionConfig;

/// A context whose queries run on the cluster whose scheduler is at `url`.
#[cfg(feature = "cluster")]
pub async fn context(url: &str, config: SessionConfig) -> Result<SessionContext> {
    if !url.starts_with("df://") {
        return Err(datafusion::error::DataFusionError::Plan(format!(
            "--cluster {url}: expected a scheduler URL such as df://host:50050"
        )));
    }
    iisql_distributed::remote_context(url, config).await
}

/// Puts the registered IIS log tables in the form a cluster plan carries.
#[cfg(feature = "cluster")]
pub async fn distribute(ctx: &SessionContext) -> Result<()> {
    iisql_distributed::distribute_tables(ctx).await.map(|_| ())
}

/// Without the `cluster` feature, `--cluster` says how to get it.
#[cfg(not(feature = "cluster"))]
pub async fn context(url: &str, _config: SessionConfig) -> Result<SessionContext> {
    Err(datafusion::error::DataFusionError::Plan(format!(
        "--cluster {url}: this iisql was built without Ballista support; build it with \
         `cargo build --release -p iisql-cli --features cluster`"
    )))
}

/// Without the `cluster` feature there is no cluster to prepare for.
#[cfg(not(feature = "cluster"))]
pub async fn distribute(_ctx: &SessionContext) -> Result<()> {
    Ok(())
}
