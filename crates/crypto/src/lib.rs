//! Cryptography for Custodian.
//!
//! This crate is the only place in the workspace that touches key material. It
//! keeps the rules in one spot so the rest of the server cannot get them wrong:
//!
//! * [`keys`]: versioned root keys (wrap data keys) and index keys (derive
//!   blind-index keys), loaded from an operator-held key file.
//! * [`envelope`]: per-subject data keys, stored in the database only wrapped
//!   by a root key, so a database dump alone reveals nothing.
//! * [`field`]: self-describing AES-256-GCM field ciphertexts bound to their
//!   table, column and row, so a ciphertext cannot be moved elsewhere.
//! * [`blind`]: keyed blind indexes that allow equality search over encrypted
//!   columns without storing plaintext.
//! * [`password`]: Argon2id password hashing with timing-safe unknown-user checks.
//! * [`token`]: bearer tokens that are stored only as hashes.
//! * [`otp`]: TOTP (RFC 6238) and single-use recovery codes.
//! * [`cache`]: a bounded cache of unwrapped data keys.
//! * [`audit`]: hash chain, Merkle tree and signed checkpoints of the audit log.
//!
//! Design rules: no `unsafe`; every secret buffer is wrapped in
//! [`zeroize::Zeroizing`]; no key material in `Debug`, `Display` or errors;
//! comparisons of secrets are constant-time; randomness is always injected
//! through [`random::SecureRandom`] so tests are reproducible; no clock reads.

pub mod audit;
pub mod blind;
pub mod cache;
pub mod envelope;
mod error;
pub mod field;
pub mod keys;
pub mod mac;
pub mod otp;
pub mod password;
pub mod random;
pub mod token;

pub use error::CryptoError;

/// Length in bytes of every symmetric key in this crate (AES-256 / HMAC-SHA256).
pub(crate) const KEY_LEN: usize = 32;
