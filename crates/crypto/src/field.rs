//! Field encryption: self-describing ciphertexts bound to their place.
//!
//! Layout (all fields fixed-size, so the header can be read without a key):
//!
//! ```text
//! [format version 1][algorithm id 1][data key id 16][nonce 12][ciphertext || tag 16]
//! ```
//!
//! AAD = `"custodian/field/v1\0" || header (format, algorithm, key id) ||
//! table || "\0" || column || "\0" || row id (16)`.
//!
//! Binding the table, column and row into the AAD means a ciphertext copied
//! to another row, column or table fails to decrypt, as does any change to
//! the header. The key id in the header tells the reader which data key to
//! fetch; the format and algorithm bytes leave room to migrate (e.g. to
//! SM4-GCM) without guessing.

use aws_lc_rs::aead::NONCE_LEN;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::envelope::{DataKey, TAG_LEN, open, seal};
use crate::random::SecureRandom;

/// Current ciphertext format version (first byte of every field ciphertext).
pub const FORMAT_VERSION: u8 = 1;

/// Domain separation for the field AAD.
const FIELD_AAD_PREFIX: &[u8] = b"custodian/field/v1\0";
/// Format byte, algorithm byte, key id.
const HEADER_LEN: usize = 1 + 1 + 16;
/// Smallest valid ciphertext: header, nonce, tag (empty plaintext).
const MIN_LEN: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

/// Encryption algorithm recorded in each ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Algorithm {
    /// AES-256-GCM with a random 96-bit nonce.
    Aes256Gcm = 1,
    // Sm4Gcm = 2 is reserved for deployments that require SM4.
}

impl Algorithm {
    /// The byte written into ciphertexts.
    #[must_use]
    pub fn id(self) -> u8 {
        self as u8
    }

    /// Maps a ciphertext byte back to an algorithm this build implements.
    #[must_use]
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::Aes256Gcm),
            _ => None,
        }
    }
}

/// Where a field value lives. Every part is authenticated, so a ciphertext
/// only decrypts in the exact place it was written for.
#[derive(Debug, Clone, Copy)]
pub struct FieldContext<'a> {
    /// Table name, e.g. `"contacts"`.
    pub table: &'a str,
    /// Column name, e.g. `"email"`.
    pub column: &'a str,
    /// Primary key of the row.
    pub row_id: Uuid,
}

/// Parsed fixed header.
struct Header<'a> {
    bytes: &'a [u8],
    key_id: Uuid,
    nonce: &'a [u8],
    sealed: &'a [u8],
}

fn parse(ciphertext: &[u8]) -> Result<Header<'_>, CryptoError> {
    let Some(&format) = ciphertext.first() else {
        return Err(CryptoError::MalformedCiphertext("ciphertext is empty"));
    };
    if format != FORMAT_VERSION {
        return Err(CryptoError::UnsupportedFormat { version: format });
    }
    let Some(&alg) = ciphertext.get(1) else {
        return Err(CryptoError::MalformedCiphertext(
            "ciphertext is too short for its header",
        ));
    };
    if Algorithm::from_id(alg).is_none() {
        return Err(CryptoError::UnsupportedAlgorithm { id: alg });
    }
    if ciphertext.len() < MIN_LEN {
        return Err(CryptoError::MalformedCiphertext(
            "ciphertext is shorter than header, nonce and tag",
        ));
    }
    let (header, rest) = ciphertext.split_at(HEADER_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let id_bytes: [u8; 16] = header
        .get(2..HEADER_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(CryptoError::MalformedCiphertext("bad key id"))?;
    Ok(Header {
        bytes: header,
        key_id: Uuid::from_bytes(id_bytes),
        nonce,
        sealed,
    })
}

fn check_names(ctx: &FieldContext<'_>) -> Result<(), CryptoError> {
    // NUL separates the names in the AAD; allowing it would make two
    // different (table, column) pairs produce the same AAD.
    if ctx.table.contains('\0') || ctx.column.contains('\0') {
        return Err(CryptoError::InvalidArgument(
            "table and column names must not contain NUL",
        ));
    }
    Ok(())
}

fn field_aad(header: &[u8], ctx: &FieldContext<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(
        FIELD_AAD_PREFIX.len() + header.len() + ctx.table.len() + ctx.column.len() + 2 + 16,
    );
    aad.extend_from_slice(FIELD_AAD_PREFIX);
    aad.extend_from_slice(header);
    aad.extend_from_slice(ctx.table.as_bytes());
    aad.push(0);
    aad.extend_from_slice(ctx.column.as_bytes());
    aad.push(0);
    aad.extend_from_slice(ctx.row_id.as_bytes());
    aad
}

/// Encrypts one field value for the place described by `ctx`.
///
/// A fresh random nonce is drawn for every call, so equal plaintexts give
/// different ciphertexts (use [`crate::blind`] for equality search).
///
/// # Errors
/// [`CryptoError::Random`], [`CryptoError::Encrypt`], or
/// [`CryptoError::InvalidArgument`] for names containing NUL.
pub fn encrypt_field(
    key: &DataKey,
    ctx: &FieldContext<'_>,
    plaintext: &[u8],
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, CryptoError> {
    check_names(ctx)?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    let total = MIN_LEN
        .checked_add(plaintext.len())
        .ok_or(CryptoError::Encrypt)?;
    // Exact capacity: the plaintext is encrypted in place and no
    // reallocation can leave a plaintext copy in freed memory.
    let mut out = Vec::with_capacity(total);
    out.push(FORMAT_VERSION);
    out.push(Algorithm::Aes256Gcm.id());
    out.extend_from_slice(key.id().as_bytes());
    let aad = field_aad(&out, ctx);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let body = out
        .get_mut(HEADER_LEN + NONCE_LEN..)
        .ok_or(CryptoError::Encrypt)?;
    let tag = seal(key.aead(), nonce, &aad, body)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a field value written by [`encrypt_field`] for the same place.
///
/// # Errors
/// [`CryptoError::MalformedCiphertext`], [`CryptoError::UnsupportedFormat`]
/// or [`CryptoError::UnsupportedAlgorithm`] for bytes of the wrong shape;
/// [`CryptoError::Decrypt`] for a wrong key, a tampered byte, or a
/// ciphertext moved from another table, column or row.
pub fn decrypt_field(
    key: &DataKey,
    ctx: &FieldContext<'_>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    check_names(ctx)?;
    let header = parse(ciphertext)?;
    if header.key_id != key.id() {
        return Err(CryptoError::Decrypt);
    }
    let aad = field_aad(header.bytes, ctx);
    let mut buf = Zeroizing::new(header.sealed.to_vec());
    let len = open(key.aead(), header.nonce, &aad, buf.as_mut_slice())?;
    // Shrinking in place never reallocates; the dropped tail is the tag.
    buf.truncate(len);
    Ok(buf)
}

/// Reads the data key id from a ciphertext header without decrypting, so
/// the caller can fetch and unwrap the right data key first.
///
/// # Errors
/// As for the shape checks of [`decrypt_field`].
pub fn ciphertext_key_id(ciphertext: &[u8]) -> Result<Uuid, CryptoError> {
    parse(ciphertext).map(|h| h.key_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;
    use crate::random::DeterministicRandom;

    const KEY_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00aa);
    const ROW: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
    const OTHER_ROW: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

    fn ctx() -> FieldContext<'static> {
        FieldContext {
            table: "contacts",
            column: "email",
            row_id: ROW,
        }
    }

    fn setup() -> (DeterministicRandom, DataKey, Vec<u8>) {
        let rng = DeterministicRandom::new(20);
        let key = DataKey::generate(KEY_ID, &rng).unwrap();
        let ct = encrypt_field(&key, &ctx(), b"alice@example.org", &rng).unwrap();
        (rng, key, ct)
    }

    fn is_decrypt_err(r: Result<Zeroizing<Vec<u8>>, CryptoError>) -> bool {
        matches!(r, Err(CryptoError::Decrypt))
    }

    #[test]
    fn round_trip_and_layout() {
        let (rng, key, ct) = setup();
        assert_eq!(ct.len(), MIN_LEN + b"alice@example.org".len());
        assert_eq!(ct[0], FORMAT_VERSION);
        assert_eq!(ct[1], Algorithm::Aes256Gcm as u8);
        assert_eq!(&ct[2..18], KEY_ID.as_bytes());
        assert!(!ct.windows(5).any(|w| w == b"alice"));
        let pt = decrypt_field(&key, &ctx(), &ct).unwrap();
        assert_eq!(pt.as_slice(), b"alice@example.org");
        // Nonces are fresh: same input, different ciphertext.
        let ct2 = encrypt_field(&key, &ctx(), b"alice@example.org", &rng).unwrap();
        assert_ne!(ct, ct2);
        // Empty plaintext works.
        let empty = encrypt_field(&key, &ctx(), b"", &rng).unwrap();
        assert_eq!(empty.len(), MIN_LEN);
        assert!(decrypt_field(&key, &ctx(), &empty).unwrap().is_empty());
    }

    #[test]
    fn moved_ciphertext_fails() {
        let (_, key, ct) = setup();
        let other_row = FieldContext {
            row_id: OTHER_ROW,
            ..ctx()
        };
        let other_column = FieldContext {
            column: "phone",
            ..ctx()
        };
        let other_table = FieldContext {
            table: "users",
            ..ctx()
        };
        // Shifting bytes between table and column must not help.
        let shifted = FieldContext {
            table: "contactse",
            column: "mail",
            ..ctx()
        };
        for place in [other_row, other_column, other_table, shifted] {
            assert!(is_decrypt_err(decrypt_field(&key, &place, &ct)));
        }
    }

    #[test]
    fn flipped_bytes_fail() {
        let (_, key, ct) = setup();
        // Header bytes past format/alg (key id), nonce, body and tag.
        for i in 2..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 0x80;
            assert!(
                is_decrypt_err(decrypt_field(&key, &ctx(), &bad)),
                "byte {i}"
            );
        }
    }

    #[test]
    fn header_key_id_is_authenticated() {
        let (_, key, ct) = setup();
        let mut bad = ct.clone();
        bad[2] ^= 0x01;
        let forged_id = ciphertext_key_id(&bad).unwrap();
        assert_ne!(forged_id, KEY_ID);
        // Same key bytes under the forged id: passes the id check, but the
        // AEAD must still reject the changed header.
        let same_bytes = key.with_id(forged_id);
        assert!(is_decrypt_err(decrypt_field(&same_bytes, &ctx(), &bad)));
    }

    #[test]
    fn wrong_key_fails() {
        let (rng, _, ct) = setup();
        let same_id_other_bytes = DataKey::generate(KEY_ID, &rng).unwrap();
        assert!(is_decrypt_err(decrypt_field(
            &same_id_other_bytes,
            &ctx(),
            &ct
        )));
        let other_id = DataKey::generate(ROW, &rng).unwrap();
        assert!(is_decrypt_err(decrypt_field(&other_id, &ctx(), &ct)));
    }

    #[test]
    fn key_id_is_readable_without_key() {
        let (_, _, ct) = setup();
        assert_eq!(ciphertext_key_id(&ct).unwrap(), KEY_ID);
    }

    #[test]
    fn unsupported_version_and_algorithm() {
        let (_, key, ct) = setup();
        let mut v2 = ct.clone();
        v2[0] = 2;
        assert!(matches!(
            decrypt_field(&key, &ctx(), &v2),
            Err(CryptoError::UnsupportedFormat { version: 2 })
        ));
        assert!(matches!(
            ciphertext_key_id(&v2),
            Err(CryptoError::UnsupportedFormat { version: 2 })
        ));
        let mut alg = ct.clone();
        alg[1] = 2;
        assert!(matches!(
            decrypt_field(&key, &ctx(), &alg),
            Err(CryptoError::UnsupportedAlgorithm { id: 2 })
        ));
        alg[1] = 0;
        assert!(matches!(
            ciphertext_key_id(&alg),
            Err(CryptoError::UnsupportedAlgorithm { id: 0 })
        ));
    }

    #[test]
    fn truncated_input_is_malformed_not_panic() {
        let (_, key, ct) = setup();
        for len in 0..MIN_LEN {
            let short = &ct[..len];
            assert!(
                matches!(
                    decrypt_field(&key, &ctx(), short),
                    Err(CryptoError::MalformedCiphertext(_))
                ),
                "len {len}"
            );
            assert!(matches!(
                ciphertext_key_id(short),
                Err(CryptoError::MalformedCiphertext(_))
            ));
        }
        // Long enough to parse but with the plaintext cut: authentication fails.
        assert!(is_decrypt_err(decrypt_field(
            &key,
            &ctx(),
            &ct[..ct.len() - 1]
        )));
    }

    #[test]
    fn nul_in_names_is_refused() {
        let (rng, key, ct) = setup();
        let bad = FieldContext {
            table: "a\0b",
            ..ctx()
        };
        assert!(matches!(
            encrypt_field(&key, &bad, b"x", &rng),
            Err(CryptoError::InvalidArgument(_))
        ));
        assert!(matches!(
            decrypt_field(&key, &bad, &ct),
            Err(CryptoError::InvalidArgument(_))
        ));
    }

    #[test]
    fn errors_do_not_leak_plaintext() {
        let (_, key, ct) = setup();
        let err = decrypt_field(
            &key,
            &FieldContext {
                row_id: OTHER_ROW,
                ..ctx()
            },
            &ct,
        )
        .unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains("alice"));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trips_arbitrary_input(
            plaintext in proptest::collection::vec(any::<u8>(), 0..512),
            table in "[a-z_]{1,24}",
            column in "[^\u{0}]{0,24}",
            row in any::<u128>(),
            key_id in any::<u128>(),
            seed in any::<u64>(),
        ) {
            let rng = DeterministicRandom::new(seed);
            let key = DataKey::generate(Uuid::from_u128(key_id), &rng).unwrap();
            let ctx = FieldContext { table: &table, column: &column, row_id: Uuid::from_u128(row) };
            let ct = encrypt_field(&key, &ctx, &plaintext, &rng).unwrap();
            prop_assert_eq!(ciphertext_key_id(&ct).unwrap(), Uuid::from_u128(key_id));
            let pt = decrypt_field(&key, &ctx, &ct).unwrap();
            prop_assert_eq!(pt.as_slice(), plaintext.as_slice());
            let moved = FieldContext { row_id: Uuid::from_u128(row ^ 1), ..ctx };
            prop_assert!(matches!(decrypt_field(&key, &moved, &ct), Err(CryptoError::Decrypt)));
        }
    }
}
