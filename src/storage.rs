//! Where uploaded files (station images) live, behind one interface: a folder on the local disk by
//! default (`file://./evcms-files`), or an S3 bucket (`s3://bucket/prefix`, credentials and region
//! from the usual `AWS_*` variables, `AWS_ENDPOINT_URL` for S3-compatible stores such as MinIO).
//! The `object_store` crate speaks to both, so there is no hand-written S3 client here.
//!
//! Objects are never public: on the local disk evcms serves them itself (`GET /files/{key}`, only
//! while a live record names the key); on S3 a reader gets a short-lived presigned URL.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::signer::{Method, Signer};
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

/// How long a presigned S3 URL stays valid.
const PRESIGNED_FOR: Duration = Duration::from_secs(15 * 60);

/// The configured store.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The bucket and the key prefix, when on S3 (URLs are presigned there).
    s3: Option<(AmazonS3, String)>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.store.to_string())
            .finish()
    }
}

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("EVCMS_STORAGE_URL {0:?} is neither file://FOLDER nor s3://BUCKET[/PREFIX]")]
    BadUrl(String),
    #[error("cannot use the storage folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

impl Storage {
    /// Opens the store named by `url` (see the module).
    pub fn open(url: &str) -> Result<Self, StorageError> {
        if let Some(folder) = url.strip_prefix("file://") {
            if folder.is_empty() {
                return Err(StorageError::BadUrl(url.to_owned()));
            }
            std::fs::create_dir_all(folder).map_err(|source| StorageError::Folder {
                path: folder.to_owned(),
                source,
            })?;
            let store = LocalFileSystem::new_with_prefix(folder)?;
            return Ok(Self {
                store: Arc::new(store),
                s3: None,
            });
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(StorageError::BadUrl(url.to_owned()));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StorageError::BadUrl(url.to_owned()));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        // An endpoint over plain HTTP (a local MinIO or moto) is a deliberate choice of the
        // operator who set it; real S3 is always HTTPS.
        if let Ok(endpoint) =
            std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT"))
        {
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint);
        }
        let s3 = builder.build()?;
        let prefix = prefix.trim_matches('/').to_owned();
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3.clone())
        } else {
            Arc::new(PrefixStore::new(s3.clone(), prefix.as_str()))
        };
        Ok(Self {
            store,
            s3: Some((s3, prefix)),
        })
    }

    /// Stores `bytes` under `key` with its content type.
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let mut options = PutOptions::default();
        // S3 serves the object with its content type; the local disk keeps no attributes (evcms
        // serves those files with the type recorded on the image).
        if self.s3.is_some() {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            options.attributes = attributes;
        }
        self.store
            .put_opts(&Path::from(key), PutPayload::from(bytes), options)
            .await?;
        Ok(())
    }

    /// The object under `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let found = self.store.get(&Path::from(key)).await?;
        Ok(found.bytes().await?.to_vec())
    }

    /// Removes `key`; a key already gone is no error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Where a browser reads `key`: evcms's own `/files/{key}` for the local store, a presigned
    /// URL valid for a few minutes on S3.
    pub async fn url(&self, key: &str) -> Result<String, StorageError> {
        match &self.s3 {
            None => Ok(format!("/files/{key}")),
            Some((s3, prefix)) => {
                let full = if prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{prefix}/{key}")
                };
                let url = s3
                    .signed_url(Method::GET, &Path::from(full), PRESIGNED_FOR)
                    .await?;
                Ok(url.to_string())
            }
        }
    }

    /// The origin browsers load presigned objects from, for the admin UI's content security
    /// policy: the endpoint of an S3-compatible store, AWS's S3 hosts otherwise; None for the local
    /// store (evcms's own origin).
    pub fn browser_origin(&self) -> Option<String> {
        self.s3.as_ref()?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .ok();
        Some(match endpoint.and_then(|e| origin_of(&e)) {
            Some(origin) => origin,
            None => "https://*.amazonaws.com".to_owned(),
        })
    }

    /// Whether evcms serves the objects itself (`GET /files/...`).
    pub fn serves_files(&self) -> bool {
        self.s3.is_none()
    }
}

/// `scheme://host[:port]` of a URL, without path or query.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains(char::is_whitespace) && !host.contains(['\'', ';']))
        .then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoints_origin_drops_its_path_and_refuses_what_would_break_a_policy() {
        assert_eq!(
            origin_of("http://127.0.0.1:9000/"),
            Some("http://127.0.0.1:9000".into())
        );
        assert_eq!(
            origin_of("https://minio.example.com/bucket?x=1"),
            Some("https://minio.example.com".into())
        );
        assert_eq!(origin_of("minio:9000"), None);
        assert_eq!(origin_of("http://a;b"), None);
    }
}
