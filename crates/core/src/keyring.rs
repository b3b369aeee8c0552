//! The key hierarchy at run time: root keys from the key file wrap per-subject data keys kept in
//! the database; an index key derives blind-index keys. Unwrapped data keys live in a bounded
//! cache and are zeroized when evicted.

use crate::CoreError;
use custodian_crypto::blind::{BlindIndexer, recommended_bits};
use custodian_crypto::cache::DataKeyCache;
use custodian_crypto::envelope::{DataKey, unwrap_data_key, wrap_data_key};
use custodian_crypto::field::{FieldContext, decrypt_field, encrypt_field};
use custodian_crypto::keys::KeyFile;
use custodian_crypto::random::SecureRandom;
use custodian_store::entities::{data_key, key_version};
use custodian_store::repo;
use custodian_store::{ConnectionTrait, Store};
use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Scope name of the organisation-level data key (companies, staff users).
pub const ORG_SCOPE: &str = "org";

#[derive(Debug)]
pub struct KeyRing {
    file: KeyFile,
    indexer: BlindIndexer,
    cache: DataKeyCache,
    bits: u8,
    org_key_id: OnceLock<Uuid>,
}

impl KeyRing {
    pub fn new(file: KeyFile, cache_size: usize, expected_rows: u64) -> Self {
        let indexer = BlindIndexer::new(file.primary_index());
        let capacity = NonZeroUsize::new(cache_size.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            file,
            indexer,
            cache: DataKeyCache::new(capacity),
            bits: recommended_bits(expected_rows),
            org_key_id: OnceLock::new(),
        }
    }

    /// Blind-index truncation in bits.
    pub fn index_bits(&self) -> u8 {
        self.bits
    }

    pub fn index_version(&self) -> i64 {
        i64::from(self.indexer.version())
    }

    /// Refuses a key file whose keys differ from those the database was initialised with;
    /// records the fingerprints of a fresh database.
    pub async fn check_against(&self, store: &Store, now: i64) -> Result<(), CoreError> {
        let stored = repo::key_versions::all(store.conn()).await?;
        let mut ours: Vec<(&'static str, u32, String)> = Vec::new();
        for k in self.file.roots() {
            ours.push(("root", k.version(), k.fingerprint()));
        }
        for k in self.file.indexes() {
            ours.push(("index", k.version(), k.fingerprint()));
        }
        for row in &stored {
            let version = u32::try_from(row.version).unwrap_or(u32::MAX);
            match ours
                .iter()
                .find(|(kind, v, _)| *kind == row.kind && *v == version)
            {
                None => {
                    return Err(CoreError::KeyMismatch(format!(
                        "the database uses {} key version {} (fingerprint {}), which the key file does not contain",
                        row.kind, row.version, row.fingerprint
                    )));
                }
                Some((_, _, fp)) if *fp != row.fingerprint => {
                    return Err(CoreError::KeyMismatch(format!(
                        "{} key version {} has fingerprint {} in the key file but {} in the database",
                        row.kind, row.version, fp, row.fingerprint
                    )));
                }
                Some(_) => {}
            }
        }
        let txn = store.begin().await?;
        for (kind, version, fingerprint) in ours {
            let known = stored
                .iter()
                .any(|r| r.kind == kind && u32::try_from(r.version).ok() == Some(version));
            if !known {
                repo::key_versions::insert(
                    &txn,
                    key_version::Model {
                        kind: kind.to_owned(),
                        version: i64::from(version),
                        fingerprint,
                        created_at: now,
                    },
                )
                .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }

    pub async fn ensure_org_key(
        &self,
        store: &Store,
        rng: &dyn SecureRandom,
        now: i64,
    ) -> Result<(), CoreError> {
        let existing = repo::data_keys::by_scope(store.conn(), ORG_SCOPE).await?;
        let id = match existing {
            Some(row) => row.id,
            None => {
                let key = self
                    .create_data_key(store.writer(), ORG_SCOPE, rng, now)
                    .await?;
                key.id()
            }
        };
        let _ = self.org_key_id.set(id);
        Ok(())
    }

    pub async fn org_key<C: ConnectionTrait>(&self, conn: &C) -> Result<Arc<DataKey>, CoreError> {
        let id = *self
            .org_key_id
            .get()
            .ok_or(CoreError::Internal("organisation key not loaded"))?;
        self.data_key(conn, id).await
    }

    /// Creates, wraps and stores a new data key for `scope`, inside the caller's transaction.
    pub async fn create_data_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        scope: &str,
        rng: &dyn SecureRandom,
        now: i64,
    ) -> Result<Arc<DataKey>, CoreError> {
        let (key, row) = self.new_data_key(scope, rng, now)?;
        repo::data_keys::insert(conn, row).await?;
        Ok(key)
    }

    /// Generates and wraps a new data key without touching the database, so callers can do the
    /// cryptography before they take the write lock; the caller stores the returned row.
    pub fn new_data_key(
        &self,
        scope: &str,
        rng: &dyn SecureRandom,
        now: i64,
    ) -> Result<(Arc<DataKey>, data_key::Model), CoreError> {
        let id = custodian_domain::DataKeyId::new_at(now).as_uuid();
        let key = DataKey::generate(id, rng)?;
        let root = self.file.primary_root();
        let wrapped = wrap_data_key(root, &key, rng)?;
        let row = data_key::Model {
            id,
            scope: scope.to_owned(),
            root_version: i64::from(root.version()),
            wrapped: Some(wrapped),
            created_at: now,
            destroyed_at: None,
        };
        Ok((self.cache.insert(key), row))
    }

    pub async fn data_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: Uuid,
    ) -> Result<Arc<DataKey>, CoreError> {
        if let Some(key) = self.cache.get(id) {
            return Ok(key);
        }
        let row = repo::data_keys::get(conn, id)
            .await?
            .ok_or(CoreError::DataIntegrity {
                table: "data_keys",
                column: "id",
            })?;
        self.unwrap_row(&row)
    }

    /// Drops a destroyed key from this node's cache so nothing here can use it again.
    pub fn forget(&self, id: Uuid) {
        self.cache.remove(id);
    }

    /// Loads many data keys with one query for the cache misses (list pages).
    pub async fn data_keys<C: ConnectionTrait>(
        &self,
        conn: &C,
        ids: &[Uuid],
    ) -> Result<Vec<Arc<DataKey>>, CoreError> {
        let missing: Vec<Uuid> = ids
            .iter()
            .copied()
            .filter(|id| self.cache.get(*id).is_none())
            .collect();
        if !missing.is_empty() {
            for row in repo::data_keys::get_many(conn, &missing).await? {
                self.unwrap_row(&row)?;
            }
        }
        ids.iter()
            .map(|id| {
                self.cache.get(*id).ok_or(CoreError::DataIntegrity {
                    table: "data_keys",
                    column: "id",
                })
            })
            .collect()
    }

    fn unwrap_row(&self, row: &data_key::Model) -> Result<Arc<DataKey>, CoreError> {
        let integrity = CoreError::DataIntegrity {
            table: "data_keys",
            column: "wrapped",
        };
        let wrapped = row.wrapped.as_deref().ok_or(integrity)?;
        let version = u32::try_from(row.root_version).map_err(|_| CoreError::DataIntegrity {
            table: "data_keys",
            column: "root_version",
        })?;
        let root = self.file.root(version)?;
        let key = unwrap_data_key(root, row.id, wrapped).map_err(|e| {
            tracing::error!(data_key_id = %row.id, error = %e, "data key failed to unwrap");
            CoreError::DataIntegrity {
                table: "data_keys",
                column: "wrapped",
            }
        })?;
        Ok(self.cache.insert(key))
    }

    pub fn encrypt(
        &self,
        key: &DataKey,
        table: &'static str,
        column: &'static str,
        row_id: Uuid,
        plaintext: &[u8],
        rng: &dyn SecureRandom,
    ) -> Result<Vec<u8>, CoreError> {
        let ctx = FieldContext {
            table,
            column,
            row_id,
        };
        Ok(encrypt_field(key, &ctx, plaintext, rng)?)
    }

    /// Decrypts one field. A failure is logged with table, column and row id only — enough to
    /// investigate, nothing that reveals the data — and surfaces as `DataIntegrity`.
    pub fn decrypt(
        &self,
        key: &DataKey,
        table: &'static str,
        column: &'static str,
        row_id: Uuid,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let ctx = FieldContext {
            table,
            column,
            row_id,
        };
        decrypt_field(key, &ctx, ciphertext).map_err(|e| {
            tracing::error!(
                code = "data_integrity",
                table,
                column,
                row_id = %row_id,
                error = %e,
                "stored ciphertext failed to decrypt"
            );
            CoreError::DataIntegrity { table, column }
        })
    }

    pub fn decrypt_string(
        &self,
        key: &DataKey,
        table: &'static str,
        column: &'static str,
        row_id: Uuid,
        ciphertext: &[u8],
    ) -> Result<String, CoreError> {
        let bytes = self.decrypt(key, table, column, row_id, ciphertext)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CoreError::DataIntegrity { table, column })
    }

    /// Truncated blind index for candidate search.
    pub fn blind(&self, table: &str, column: &str, normalized: &str) -> Result<i64, CoreError> {
        Ok(self
            .indexer
            .truncated(table, column, normalized.as_bytes(), self.bits)?)
    }

    /// Full-length blind index for unique lookups.
    pub fn lookup(
        &self,
        table: &str,
        column: &str,
        normalized: &str,
    ) -> Result<Vec<u8>, CoreError> {
        Ok(self
            .indexer
            .full(table, column, normalized.as_bytes())?
            .to_vec())
    }

    pub fn evict(&self, id: Uuid) {
        self.cache.remove(id);
    }
}
