//! Object stores for `s3://`, `az://` (`abfs://`, `azure://`), `gs://` and `http(s)://` inputs
//! and outputs, configured from the usual environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_ENDPOINT_URL`, `AZURE_STORAGE_ACCOUNT_NAME`, `GOOGLE_SERVICE_ACCOUNT`...). They need the
//! `cloud` cargo feature; local paths need nothing.

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionContext;

/// The scheme of `location` when it is a URL (`s3`, `gs`, `file`...), `None` for a local path.
/// A scheme is two or more ASCII letters or digits before `://`, so `C:\logs` is a path.
pub fn url_scheme(location: &str) -> Option<&str> {
    let (scheme, _) = location.split_once("://")?;
    (scheme.len() > 1 && scheme.chars().all(|c| c.is_ascii_alphanumeric())).then_some(scheme)
}

/// Whether `location` is read through an object store other than the local file system: a URL
/// ([`url_scheme`]) whose scheme is not `file`.
pub fn is_remote(location: &str) -> bool {
    url_scheme(location).is_some_and(|s| s != "file")
}

/// Registers the object store `location` needs with `ctx` (once per bucket or host); local
/// paths and `file://` need none.
pub fn register_store_for(ctx: &SessionContext, location: &str) -> Result<()> {
    let Some(scheme) = url_scheme(location) else {
        return Ok(());
    };
    if scheme == "file" {
        return Ok(());
    }
    let url = url::Url::parse(location)
        .map_err(|e| DataFusionError::Plan(format!("{location}: not a URL: {e}")))?;
    let base = url::Url::parse(&format!("{}://{}", url.scheme(), url.authority()))
        .map_err(|e| DataFusionError::Plan(format!("{location}: {e}")))?;
    if registered(ctx, &base) {
        return Ok(());
    }
    let store = build(scheme, &url, location)?;
    ctx.register_object_store(&base, store);
    Ok(())
}

/// Whether iisql registered a store for `base` already.
fn registered(ctx: &SessionContext, base: &url::Url) -> bool {
    datafusion::execution::object_store::ObjectStoreUrl::parse(base.as_str())
        .is_ok_and(|u| ctx.runtime_env().object_store(&u).is_ok())
}

#[cfg(feature = "cloud")]
fn build(
    scheme: &str,
    url: &url::Url,
    location: &str,
) -> Result<std::sync::Arc<dyn object_store::ObjectStore>> {
    use std::sync::Arc;

    let host = url.host_str().unwrap_or_default();
    let err = |e: object_store::Error| DataFusionError::External(Box::new(e));
    Ok(match scheme {
        "s3" | "s3a" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(host)
                .build()
                .map_err(err)?,
        ),
        "az" | "abfs" | "abfss" | "azure" | "adl" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(location)
                .build()
                .map_err(err)?,
        ),
        "gs" | "gcs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(host)
                .build()
                .map_err(err)?,
        ),
        "http" | "https" => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(format!("{}://{}", url.scheme(), url.authority()))
                // An http:// URL was asked for: plain HTTP is what it means.
                .with_client_options(
                    object_store::ClientOptions::new().with_allow_http(scheme == "http"),
                )
                .build()
                .map_err(err)?,
        ),
        other => {
            return Err(DataFusionError::Plan(format!(
                "{location}: unknown scheme `{other}://` (s3, az, abfs, gs, http, https)"
            )));
        }
    })
}

#[cfg(not(feature = "cloud"))]
fn build(
    _scheme: &str,
    _url: &url::Url,
    location: &str,
) -> Result<std::sync::Arc<dyn object_store::ObjectStore>> {
    Err(DataFusionError::Plan(format!(
        "{location}: object stores need iisql built with `--features cloud`"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_need_no_store() {
        let ctx = SessionContext::new();
        register_store_for(&ctx, "/var/log/x.log").unwrap();
        register_store_for(&ctx, "file:///var/log/").unwrap();
        register_store_for(&ctx, "C:\\logs\\x.log").unwrap();
        #[cfg(not(feature = "cloud"))]
        assert!(
            register_store_for(&ctx, "s3://bucket/logs/")
                .unwrap_err()
                .to_string()
                .contains("--features cloud")
        );
    }

    #[test]
    fn a_url_has_a_scheme_of_two_or_more_letters() {
        assert_eq!(url_scheme("s3://bucket/logs/"), Some("s3"));
        assert_eq!(url_scheme("file:///var/log/"), Some("file"));
        assert_eq!(url_scheme("C:\\inetpub\\logs"), None);
        assert_eq!(url_scheme("c://odd"), None);
        assert_eq!(url_scheme("/logs/a://b.log"), None);
        assert!(is_remote("https://host/u_ex251103.log"));
        assert!(!is_remote("file:///var/log/u_ex251103.log"));
        assert!(!is_remote("LogFiles/W3SVC1"));
    }
}
