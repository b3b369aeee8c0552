//! Envelope encryption: data keys wrapped by root keys.
//!
//! Each data subject (or organisation scope) gets its own random data key
//! (DEK). Fields are encrypted under the DEK; the DEK is stored in the
//! database only wrapped by a root key from the key file. This gives:
//!
//! * crypto-shredding: deleting one wrapped DEK makes that subject's data
//!   unreadable, even in old backups;
//! * cheap root-key rotation: only the small wrapped DEKs are re-wrapped.
//!
//! Wrapped layout: `[format 0x01][nonce 12][ciphertext 32 || tag 16]`, with
//! AAD `"custodian/dek-wrap/v1\0" || key id (16) || root version (4, BE)` so
//! a wrapped key cannot be swapped to another id or claimed under another
//! root version.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::keys::RootKey;
use crate::random::SecureRandom;
use crate::{CryptoError, KEY_LEN};

/// Format byte of wrapped data keys.
const WRAP_FORMAT: u8 = 0x01;
/// Domain separation for the wrapping AAD.
const WRAP_AAD_PREFIX: &[u8] = b"custodian/dek-wrap/v1\0";
/// AES-GCM tag length.
pub(crate) const TAG_LEN: usize = 16;
/// Total length of a wrapped data key.
const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;

/// A data encryption key (DEK), identified by a UUID that is written into
/// every ciphertext it produces.
///
/// Material is zeroized on drop and never printed. Not `Clone`: share it
/// through [`crate::cache::DataKeyCache`] (`Arc`) so there is one copy.
pub struct DataKey {
    id: Uuid,
    material: Zeroizing<[u8; KEY_LEN]>,
    /// The AES key schedule, expanded once: a contact's fields are sealed or opened together,
    /// and expanding the key for each of them was a tenth of an import's encryption time.
    aead: LessSafeKey,
}

impl DataKey {
    /// A fresh random key with the given id. The id is supplied by the
    /// caller (e.g. a UUIDv7 from the injected clock) so this crate never
    /// reads the time.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the generator fails.
    pub fn generate(id: Uuid, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut material = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(material.as_mut_slice())?;
        Self::from_material(id, material)
    }

    fn from_material(id: Uuid, material: Zeroizing<[u8; KEY_LEN]>) -> Result<Self, CryptoError> {
        let aead = aead_key(&material)?;
        Ok(Self { id, material, aead })
    }

    /// The key's id, as stored next to its wrapped form and in ciphertexts.
    #[must_use]
    pub fn id(&self) -> Uuid {
        self.id
    }

    pub(crate) fn material(&self) -> &[u8; KEY_LEN] {
        &self.material
    }

    pub(crate) fn aead(&self) -> &LessSafeKey {
        &self.aead
    }

    /// Same material under another id: lets tests prove the id is
    /// authenticated by the AEAD itself, not only by the early id check.
    #[cfg(test)]
    pub(crate) fn with_id(&self, id: Uuid) -> Self {
        Self::from_material(id, self.material.clone()).unwrap_or_else(|_| unreachable!())
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .field("material", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// Builds an AES-256-GCM key. aws-lc wipes its key schedule on drop.
pub(crate) fn aead_key(material: &[u8; KEY_LEN]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, material)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::Encrypt)
}

/// Encrypts `in_out` in place and returns the tag.
pub(crate) fn seal(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<[u8; TAG_LEN], CryptoError> {
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
        .map_err(|_| CryptoError::Encrypt)?;
    let mut out = [0u8; TAG_LEN];
    let tag_bytes = tag.as_ref();
    if tag_bytes.len() != TAG_LEN {
        return Err(CryptoError::Encrypt);
    }
    out.copy_from_slice(tag_bytes);
    Ok(out)
}

/// Decrypts `ct || tag` in place; returns the plaintext length.
/// Every failure is [`CryptoError::Decrypt`].
pub(crate) fn open(
    key: &LessSafeKey,
    nonce: &[u8],
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<usize, CryptoError> {
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
    key.open_in_place(nonce, Aad::from(aad), in_out)
        .map(|plain| plain.len())
        .map_err(|_| CryptoError::Decrypt)
}

fn wrap_aad(root_version: u32, key_id: Uuid) -> [u8; WRAP_AAD_PREFIX.len() + 16 + 4] {
    let mut aad = [0u8; WRAP_AAD_PREFIX.len() + 16 + 4];
    let (prefix, rest) = aad.split_at_mut(WRAP_AAD_PREFIX.len());
    prefix.copy_from_slice(WRAP_AAD_PREFIX);
    let (id, version) = rest.split_at_mut(16);
    id.copy_from_slice(key_id.as_bytes());
    version.copy_from_slice(&root_version.to_be_bytes());
    aad
}

/// Encrypts a data key under a root key for storage in the database.
///
/// Store the result together with `key.id()` and `root.version()`; both are
/// needed (and authenticated) when unwrapping.
///
/// # Errors
/// [`CryptoError::Random`] or [`CryptoError::Encrypt`].
pub fn wrap_data_key(
    root: &RootKey,
    key: &DataKey,
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    let aad = wrap_aad(root.version(), key.id());
    // Exact capacity: no reallocation can leave a plaintext copy behind.
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.push(WRAP_FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(key.material());
    let tag = seal(
        &aead_key(root.material())?,
        nonce,
        &aad,
        out.get_mut(1 + NONCE_LEN..).ok_or(CryptoError::Encrypt)?,
    )?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a wrapped data key.
///
/// `key_id` and `root` must be the id and root version it was wrapped with.
///
/// # Errors
/// [`CryptoError::MalformedCiphertext`] / [`CryptoError::UnsupportedFormat`]
/// for bytes of the wrong shape, [`CryptoError::Decrypt`] for a wrong root
/// key, wrong id, wrong root version or tampering.
pub fn unwrap_data_key(
    root: &RootKey,
    key_id: Uuid,
    wrapped: &[u8],
) -> Result<DataKey, CryptoError> {
    let Some((&format, rest)) = wrapped.split_first() else {
        return Err(CryptoError::MalformedCiphertext(
            "wrapped data key is empty",
        ));
    };
    if format != WRAP_FORMAT {
        return Err(CryptoError::UnsupportedFormat { version: format });
    }
    if wrapped.len() != WRAPPED_LEN {
        return Err(CryptoError::MalformedCiphertext(
            "wrapped data key has the wrong length",
        ));
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let aad = wrap_aad(root.version(), key_id);
    let mut buf = Zeroizing::new([0u8; KEY_LEN + TAG_LEN]);
    buf.copy_from_slice(sealed);
    let root_key = aead_key(root.material()).map_err(|_| CryptoError::Decrypt)?;
    let len = open(&root_key, nonce, &aad, buf.as_mut_slice())?;
    let plain = buf.get(..len).ok_or(CryptoError::Decrypt)?;
    if plain.len() != KEY_LEN {
        return Err(CryptoError::Decrypt);
    }
    let mut material = Zeroizing::new([0u8; KEY_LEN]);
    material.copy_from_slice(plain);
    DataKey::from_material(key_id, material)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::random::DeterministicRandom;

    const ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
    const OTHER_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

    #[test]
    fn wrap_unwrap_round_trip() {
        let rng = DeterministicRandom::new(10);
        let root = RootKey::generate(1, &rng).unwrap();
        let dek = DataKey::generate(ID, &rng).unwrap();
        let wrapped = wrap_data_key(&root, &dek, &rng).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(wrapped[0], WRAP_FORMAT);
        // The key bytes must not appear in the wrapped form.
        assert!(
            !wrapped
                .windows(KEY_LEN)
                .any(|w| w == dek.material().as_slice())
        );
        let back = unwrap_data_key(&root, ID, &wrapped).unwrap();
        assert_eq!(back.id(), ID);
        assert_eq!(back.material(), dek.material());
        // Fresh nonce each time.
        assert_ne!(wrapped, wrap_data_key(&root, &dek, &rng).unwrap());
    }

    #[test]
    fn unwrap_fails_with_wrong_id_root_version_or_key() {
        let rng = DeterministicRandom::new(11);
        let root = RootKey::generate(1, &rng).unwrap();
        let dek = DataKey::generate(ID, &rng).unwrap();
        let wrapped = wrap_data_key(&root, &dek, &rng).unwrap();

        assert!(matches!(
            unwrap_data_key(&root, OTHER_ID, &wrapped),
            Err(CryptoError::Decrypt)
        ));
        let same_bytes_v2 = RootKey::from_bytes(2, *root.material());
        assert!(matches!(
            unwrap_data_key(&same_bytes_v2, ID, &wrapped),
            Err(CryptoError::Decrypt)
        ));
        let other_root = RootKey::generate(1, &rng).unwrap();
        assert!(matches!(
            unwrap_data_key(&other_root, ID, &wrapped),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn unwrap_rejects_tampering_and_bad_shapes() {
        let rng = DeterministicRandom::new(12);
        let root = RootKey::generate(1, &rng).unwrap();
        let dek = DataKey::generate(ID, &rng).unwrap();
        let wrapped = wrap_data_key(&root, &dek, &rng).unwrap();
        for i in 1..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x01;
            assert!(matches!(
                unwrap_data_key(&root, ID, &bad),
                Err(CryptoError::Decrypt)
            ));
        }
        let mut bad_format = wrapped.clone();
        bad_format[0] = 0x02;
        assert!(matches!(
            unwrap_data_key(&root, ID, &bad_format),
            Err(CryptoError::UnsupportedFormat { version: 2 })
        ));
        assert!(matches!(
            unwrap_data_key(&root, ID, &[]),
            Err(CryptoError::MalformedCiphertext(_))
        ));
        for len in 1..wrapped.len() {
            assert!(matches!(
                unwrap_data_key(&root, ID, &wrapped[..len]),
                Err(CryptoError::MalformedCiphertext(_))
            ));
        }
        let mut long = wrapped.clone();
        long.push(0);
        assert!(matches!(
            unwrap_data_key(&root, ID, &long),
            Err(CryptoError::MalformedCiphertext(_))
        ));
    }

    #[test]
    fn data_key_debug_is_redacted() {
        let dek = DataKey::generate(ID, &DeterministicRandom::new(13)).unwrap();
        let text = format!("{dek:?}");
        assert!(text.contains("[REDACTED]"));
        assert!(text.contains(&ID.to_string()));
        let hex: String = dek.material().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!text.contains(&hex));
        assert!(!text.contains(&format!("{:?}", dek.material()[0..4].to_vec())));
    }
}
