//! Where attachments' bytes live, behind one interface (`object_store`): a directory on local
//! disk by default (the embedded setup), or an S3-compatible bucket for a deployment of
//! several processes. Uploads arrive in parts (`uploads/<id>/<offset>`), so an interrupted
//! upload resumes from what was stored, on any process; an attached file is stored whole
//! under `attachments/<case>/<sha256>`.

use crate::error::{AppError, Result, internal};
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// For the log and `/readyz`: `dir:/var/lib/xinfang/files` or `s3:bucket`.
    pub describe: String,
}

/// S3-compatible storage as configured.
pub struct S3Settings<'a> {
    pub endpoint: Option<&'a str>,
    pub bucket: &'a str,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// Plain http (a local test server); refused in production by the settings.
    pub allow_http: bool,
}

impl Storage {
    pub fn local(dir: &std::path::Path) -> std::result::Result<Storage, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--storage-dir {}: cannot be created: {e}", dir.display()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("--storage-dir {}: {e}", dir.display()))?;
        Ok(Storage {
            store: Arc::new(store),
            describe: format!("dir:{}", dir.display()),
        })
    }

    pub fn s3(s: S3Settings<'_>) -> std::result::Result<Storage, String> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(s.bucket)
            .with_region(s.region)
            .with_access_key_id(s.access_key_id)
            .with_secret_access_key(s.secret_access_key)
            .with_allow_http(s.allow_http);
        if let Some(endpoint) = s.endpoint {
            // Path-style addressing, as MinIO, SeaweedFS and similar servers expect.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|e| format!("S3 storage: {e}"))?;
        Ok(Storage {
            store: Arc::new(store),
            describe: format!("s3:{}", s.bucket),
        })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let got = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(unavailable)?;
        Ok(got.bytes().await.map_err(unavailable)?.to_vec())
    }

    /// The parts of an upload, in order of their offsets, joined; the offsets must meet.
    pub async fn assemble(&self, upload_id: &str, size: i64) -> Result<Vec<u8>> {
        let prefix = Path::from(format!("uploads/{upload_id}"));
        let mut parts: Vec<(i64, Path)> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect::<Vec<_>>()
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|p| Some((p.filename()?.parse::<i64>().ok()?, p)))
            .collect();
        parts.sort_by_key(|(offset, _)| *offset);
        let mut bytes = Vec::with_capacity(size.max(0) as usize);
        for (offset, path) in parts {
            // A part written again after a cut (the same offset) overlaps; take what is new.
            let part = self
                .store
                .get(&path)
                .await
                .map_err(unavailable)?
                .bytes()
                .await
                .map_err(unavailable)?;
            let have = bytes.len() as i64;
            if offset > have {
                return Err(internal(format!("upload {upload_id} has a gap at {have}")));
            }
            let skip = (have - offset) as usize;
            if skip < part.len() {
                bytes.extend_from_slice(&part[skip..]);
            }
        }
        bytes.truncate(size.max(0) as usize);
        Ok(bytes)
    }

    /// Removes an attached upload's parts (the whole file is stored by then). Best effort: a
    /// part left behind costs space, never correctness.
    pub async fn remove_parts(&self, upload_id: &str) {
        let prefix = Path::from(format!("uploads/{upload_id}"));
        let parts: Vec<Path> = match self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not list an upload's parts to remove them");
                return;
            }
        };
        for part in parts {
            if let Err(e) = self.store.delete(&part).await {
                tracing::warn!(error = %e, "could not remove an upload's part");
            }
        }
    }

    /// Stores one part of an upload, received at `offset`.
    pub async fn put_part(&self, upload_id: &str, offset: i64, bytes: Vec<u8>) -> Result<()> {
        self.put(&format!("uploads/{upload_id}/{offset:015}"), bytes)
            .await
    }
}

fn unavailable(e: object_store::Error) -> AppError {
    tracing::error!(error = %e, "the object store failed");
    AppError::Unavailable("the file store is not answering; try again".into())
}
