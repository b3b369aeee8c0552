//! Blind indexes: equality search over encrypted columns (CipherSweet-style).
//!
//! For each searchable column a separate key is derived from the index key
//! with HKDF-SHA256 (salt `"custodian/blind-index/v1"`, info
//! `table || "\0" || column || "\0" || version BE`), so indexes of different
//! columns or key versions cannot be correlated. The index value is
//! HMAC-SHA256 of the already-normalised plaintext under that key.
//!
//! [`BlindIndexer::truncated`] keeps only a few bits so that each lookup
//! returns several candidate rows (decrypted and filtered by the caller):
//! an attacker holding the database then cannot tell which rows share an
//! exact value. [`BlindIndexer::full`] keeps all 256 bits for unique lookups
//! where collisions are not acceptable.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::IndexKey;
use crate::{CryptoError, KEY_LEN};

/// HKDF salt for per-column key derivation.
const HKDF_SALT: &[u8] = b"custodian/blind-index/v1";

/// Above this many cached column keys the cache is cleared; the set of
/// (table, column) pairs is fixed by the code, so this only guards misuse.
const MAX_CACHED_KEYS: usize = 1024;

/// Derived per-column keys by table, then column (looked up without allocating); values are
/// wiped on drop.
type ColumnKeys = HashMap<String, HashMap<String, Zeroizing<[u8; KEY_LEN]>>>;

/// Computes blind indexes under one index key version.
pub struct BlindIndexer {
    version: u32,
    material: Zeroizing<[u8; KEY_LEN]>,
    /// Derived per-column keys; values are wiped on drop (including eviction).
    column_keys: RwLock<ColumnKeys>,
}

impl std::fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindIndexer")
            .field("version", &self.version)
            .field("material", &format_args!("[REDACTED]"))
            .finish_non_exhaustive()
    }
}

impl BlindIndexer {
    /// An indexer for `index_key`. Copies the key material, so the indexer
    /// can outlive the key file borrow.
    #[must_use]
    pub fn new(index_key: &IndexKey) -> Self {
        Self {
            version: index_key.version(),
            material: Zeroizing::new(*index_key.material()),
            column_keys: RwLock::new(HashMap::new()),
        }
    }

    /// The index key version; store it next to indexes so they can be
    /// recomputed after rotation.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.version
    }

    /// HMAC-SHA256 under a per-column key derived with HKDF-SHA256 (salt
    /// `"custodian/blind-index/v1"`, info = table || "\0" || column || "\0" ||
    /// version BE) over the already-normalised value, truncated to the first
    /// `bits` bits (1..=63) and returned as a non-negative i64. Truncation is
    /// deliberate: collisions make each match return a few candidates, which
    /// hides exact equality. Choose `bits` with [`recommended_bits`].
    ///
    /// # Errors
    /// [`CryptoError::InvalidArgument`] if `bits` is outside 1..=63 or a
    /// name contains NUL.
    pub fn truncated(
        &self,
        table: &str,
        column: &str,
        normalized: &[u8],
        bits: u8,
    ) -> Result<i64, CryptoError> {
        if !(1..=63).contains(&bits) {
            return Err(CryptoError::InvalidArgument(
                "blind index bits must be between 1 and 63",
            ));
        }
        let mac = self.full(table, column, normalized)?;
        let mut head = [0u8; 8];
        head.copy_from_slice(mac.get(..8).ok_or(CryptoError::Encrypt)?);
        let value = u64::from_be_bytes(head) >> (64 - u32::from(bits));
        i64::try_from(value).map_err(|_| CryptoError::Encrypt)
    }

    /// Full 32-byte HMAC for unique lookups (e.g. a user's login e-mail)
    /// where collisions are not acceptable.
    ///
    /// # Errors
    /// [`CryptoError::InvalidArgument`] if a name contains NUL.
    pub fn full(
        &self,
        table: &str,
        column: &str,
        normalized: &[u8],
    ) -> Result<[u8; 32], CryptoError> {
        let key = self.column_key(table, column)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice())
            .map_err(|_| CryptoError::Encrypt)?;
        mac.update(normalized);
        Ok(mac.finalize().into_bytes().into())
    }

    fn column_key(
        &self,
        table: &str,
        column: &str,
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
        // NUL separates the names in the HKDF info; see field encryption.
        if table.contains('\0') || column.contains('\0') {
            return Err(CryptoError::InvalidArgument(
                "table and column names must not contain NUL",
            ));
        }
        // Every lookup after the first per column is a shared read: import workers computing
        // indexes in parallel do not queue on each other.
        if let Some(key) = self
            .column_keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(table)
            .and_then(|columns| columns.get(column))
        {
            return Ok(key.clone());
        }
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), self.material.as_slice());
        let mut okm = Zeroizing::new([0u8; KEY_LEN]);
        hk.expand_multi_info(
            &[
                table.as_bytes(),
                b"\0",
                column.as_bytes(),
                b"\0",
                &self.version.to_be_bytes(),
            ],
            okm.as_mut_slice(),
        )
        .map_err(|_| CryptoError::Encrypt)?;
        let mut cache = self
            .column_keys
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.values().map(HashMap::len).sum::<usize>() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache
            .entry(table.to_owned())
            .or_default()
            .insert(column.to_owned(), okm.clone());
        Ok(okm)
    }
}

/// Recommended truncation length `L` (bits) for a blind index over about
/// `expected_rows` rows.
///
/// CipherSweet's rule: the expected number of false positives per lookup,
/// `R / 2^L`, should lie between 2 and `sqrt(R)`. We pick the largest `L`
/// with `R / 2^L >= 2` (fewest candidates that still hide equality), clamped
/// to `8..=32`:
///
/// | expected rows | bits | candidates per lookup |
/// |--------------:|-----:|----------------------:|
/// | ≤ 1 000       | 8    | ≤ 4                   |
/// | 10 000        | 12   | ~2.4                  |
/// | 100 000       | 15   | ~3.1                  |
/// | 1 000 000     | 18   | ~3.8                  |
/// | 10 000 000    | 22   | ~2.4                  |
/// | ≥ 2^34        | 32   | ≥ 4                   |
///
/// Recompute indexes with a new length if the table grows by orders of
/// magnitude.
#[must_use]
pub fn recommended_bits(expected_rows: u64) -> u8 {
    // Largest L with 2^(L+1) <= R is floor(log2 R) - 1.
    let floor_log2 = expected_rows.checked_ilog2().unwrap_or(0);
    let bits = floor_log2.saturating_sub(1).clamp(8, 32);
    u8::try_from(bits).unwrap_or(32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn indexer(version: u32, byte: u8) -> BlindIndexer {
        BlindIndexer::new(&IndexKey::from_bytes(version, [byte; 32]))
    }

    #[test]
    fn deterministic() {
        let a = indexer(1, 7);
        let b = indexer(1, 7);
        assert_eq!(
            a.full("contacts", "email", b"a@b.c").unwrap(),
            b.full("contacts", "email", b"a@b.c").unwrap()
        );
        assert_eq!(
            a.truncated("contacts", "email", b"a@b.c", 16).unwrap(),
            b.truncated("contacts", "email", b"a@b.c", 16).unwrap()
        );
        // Cached path gives the same answer as the first computation.
        assert_eq!(
            a.full("contacts", "email", b"a@b.c").unwrap(),
            b.full("contacts", "email", b"a@b.c").unwrap()
        );
        assert_eq!(a.version(), 1);
    }

    #[test]
    fn matches_independent_computation() {
        let ix = indexer(3, 9);
        let hk = Hkdf::<Sha256>::new(Some(b"custodian/blind-index/v1"), &[9; 32]);
        let mut k = [0u8; 32];
        hk.expand(b"t\0c\0\0\0\0\x03", &mut k).unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&k).unwrap();
        mac.update(b"value");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(ix.full("t", "c", b"value").unwrap(), expected);
        let top20 = (u32::from_be_bytes(expected[..4].try_into().unwrap()) >> 12) as i64;
        assert_eq!(ix.truncated("t", "c", b"value", 20).unwrap(), top20);
    }

    #[test]
    fn differs_per_column_table_version_key_and_value() {
        let base = indexer(1, 7).full("contacts", "email", b"x").unwrap();
        assert_ne!(base, indexer(1, 7).full("contacts", "phone", b"x").unwrap());
        assert_ne!(base, indexer(1, 7).full("users", "email", b"x").unwrap());
        assert_ne!(base, indexer(2, 7).full("contacts", "email", b"x").unwrap());
        assert_ne!(base, indexer(1, 8).full("contacts", "email", b"x").unwrap());
        assert_ne!(base, indexer(1, 7).full("contacts", "email", b"y").unwrap());
        // Moving bytes across the separator must change the result.
        assert_ne!(
            indexer(1, 7).full("ab", "c", b"x").unwrap(),
            indexer(1, 7).full("a", "bc", b"x").unwrap()
        );
    }

    #[test]
    fn respects_bits() {
        let ix = indexer(1, 1);
        for bits in [1u8, 2, 8, 16, 31, 32, 63] {
            for i in 0u32..64 {
                let v = ix.truncated("t", "c", &i.to_be_bytes(), bits).unwrap();
                assert!(v >= 0);
                assert!((v as u64) < (1u64 << bits), "bits {bits} value {v}");
            }
        }
        // With few bits, collisions really occur.
        let values: std::collections::HashSet<i64> = (0u32..64)
            .map(|i| ix.truncated("t", "c", &i.to_be_bytes(), 2).unwrap())
            .collect();
        assert!(values.len() <= 4);
        for bad in [0u8, 64, 200] {
            assert!(matches!(
                ix.truncated("t", "c", b"x", bad),
                Err(CryptoError::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn nul_in_names_is_refused() {
        assert!(matches!(
            indexer(1, 1).full("a\0", "b", b"x"),
            Err(CryptoError::InvalidArgument(_))
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", indexer(4, 0xab));
        assert!(text.contains("version: 4"));
        assert!(text.contains("[REDACTED]"));
        assert!(!text.contains("171")); // 0xab
    }

    #[test]
    fn recommended_bits_examples() {
        assert_eq!(recommended_bits(0), 8);
        assert_eq!(recommended_bits(1), 8);
        assert_eq!(recommended_bits(1_000), 8);
        assert_eq!(recommended_bits(10_000), 12);
        assert_eq!(recommended_bits(100_000), 15);
        assert_eq!(recommended_bits(1_000_000), 18);
        assert_eq!(recommended_bits(10_000_000), 22);
        assert_eq!(recommended_bits(1 << 34), 32);
        assert_eq!(recommended_bits(u64::MAX), 32);
        // The rule itself, where not clamped: 2 <= R / 2^L <= sqrt(R).
        for r in [5_000u64, 70_000, 3_000_000, 500_000_000] {
            let l = recommended_bits(r);
            let fp = r as f64 / 2f64.powi(i32::from(l));
            assert!(fp >= 2.0 && fp <= (r as f64).sqrt(), "r {r} l {l} fp {fp}");
            let fp_next = r as f64 / 2f64.powi(i32::from(l) + 1);
            assert!(
                fp_next < 2.0,
                "r {r}: a larger L would still satisfy the rule"
            );
        }
    }
}
