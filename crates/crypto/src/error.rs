//! The crate's single error type.
//!
//! Messages are written for the operator who has to act on them and never
//! contain key bytes, key text, plaintext or password material.

/// Every failure this crate can report.
///
/// Authentication failures of any kind (wrong key, tampered bytes, a
/// ciphertext copied to another row) are deliberately collapsed into
/// [`CryptoError::Decrypt`] so an attacker probing the server cannot learn
/// which check failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The operating system's random number generator failed.
    #[error(
        "the system random number generator failed; refusing to continue without secure randomness"
    )]
    Random,

    /// Encryption failed (should not happen with valid keys).
    #[error("encryption failed")]
    Encrypt,

    /// Authentication failed: wrong key, tampered data, or data used in the
    /// wrong place. One variant on purpose, so the cause is not revealed.
    #[error("decryption failed: wrong key, tampered data, or ciphertext used in the wrong place")]
    Decrypt,

    /// The bytes are not a ciphertext of the expected shape.
    #[error("malformed ciphertext: {0}")]
    MalformedCiphertext(&'static str),

    /// The ciphertext was written by a format this build does not know.
    #[error("unsupported ciphertext format version {version}")]
    UnsupportedFormat {
        /// Format byte found in the ciphertext.
        version: u8,
    },

    /// The ciphertext names an algorithm this build does not implement.
    #[error("unsupported encryption algorithm id {id}")]
    UnsupportedAlgorithm {
        /// Algorithm byte found in the ciphertext.
        id: u8,
    },

    /// The key file could not be read; the message says where and what was expected.
    #[error("key file: {0}")]
    KeyFile(String),

    /// A ciphertext or wrapped key refers to a key version the key file lacks.
    #[error(
        "no {kind} key with version {version} in the key file; restore the key file that contains it"
    )]
    UnknownKeyVersion {
        /// `"root"` or `"index"`.
        kind: &'static str,
        /// The missing version.
        version: u32,
    },

    /// Password hashing failed or its configuration is unacceptable.
    #[error("password hashing: {0}")]
    PasswordHash(String),

    /// The loaded keys do not match the fingerprints recorded in the database.
    #[error(
        "key mismatch: the key file does not match the keys this database was created with; start with the original key file"
    )]
    KeyMismatch,

    /// A caller passed an argument outside the accepted range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}
