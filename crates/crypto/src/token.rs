//! Bearer secrets: session tokens, API tokens, one-time setup codes.
//!
//! Tokens carry 256 bits of randomness, so the server stores only
//! [`hash_token`] of them: a database leak then yields nothing usable, and a
//! fast hash is enough because guessing is hopeless at that entropy (slow
//! password hashing would only cost CPU on every request).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::random::SecureRandom;

/// Random bytes per token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Length of the base64url (no padding) encoding of [`TOKEN_BYTES`].
const TOKEN_B64_LEN: usize = 43;
/// Longest accepted prefix.
const MAX_PREFIX_LEN: usize = 32;

/// A new bearer token: `prefix` followed by base64url (no padding) of 32
/// random bytes.
///
/// The prefix (e.g. `"cst_sess_"`) makes tokens recognisable to secret
/// scanners and to people; it may use ASCII letters, digits, `_` and `-`,
/// up to 32 characters.
///
/// # Errors
/// [`CryptoError::Random`], or [`CryptoError::InvalidArgument`] for a bad
/// prefix.
pub fn generate_token(prefix: &str, rng: &dyn SecureRandom) -> Result<SecretString, CryptoError> {
    if prefix.len() > MAX_PREFIX_LEN
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(CryptoError::InvalidArgument(
            "token prefix must be at most 32 ASCII letters, digits, '_' or '-'",
        ));
    }
    let bytes = random_bytes::<TOKEN_BYTES>(rng)?;
    // Exact capacity: no reallocation (here or in the conversion to a boxed
    // str) leaves an unwiped copy of the token behind.
    let mut out = String::with_capacity(prefix.len() + TOKEN_B64_LEN);
    out.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut out);
    Ok(SecretString::from(out))
}

/// The value to store for a token: `SHA-256("custodian/token/v1\0" || token)`.
///
/// A fast hash is right here: tokens carry 256 bits of entropy, so only the
/// hash is stored and it cannot be reversed by guessing. Look tokens up by
/// this hash.
#[must_use]
pub fn hash_token(token: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"custodian/token/v1\0");
    hasher.update(token.as_bytes());
    hasher.finalize().into()
}

/// Compares two secrets without leaking, through timing, where they first
/// differ. Lengths are not secret: different lengths return `false` at once.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `N` random bytes in a buffer that is wiped on drop (for CSRF secrets,
/// nonces and other short-lived secrets).
///
/// # Errors
/// [`CryptoError::Random`] if the generator fails.
pub fn random_bytes<const N: usize>(
    rng: &dyn SecureRandom,
) -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; N]);
    rng.fill(out.as_mut_slice())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use secrecy::ExposeSecret as _;

    use super::*;
    use crate::random::{DeterministicRandom, SystemRandom};

    #[test]
    fn token_has_prefix_and_length() {
        let rng = DeterministicRandom::new(40);
        let token = generate_token("cst_sess_", &rng).unwrap();
        let text = token.expose_secret();
        assert!(text.starts_with("cst_sess_"));
        assert_eq!(text.len(), "cst_sess_".len() + 43);
        let body = &text["cst_sess_".len()..];
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        let other = generate_token("cst_sess_", &rng).unwrap();
        assert_ne!(token.expose_secret(), other.expose_secret());
        // Empty prefix is allowed.
        assert_eq!(
            generate_token("", &SystemRandom)
                .unwrap()
                .expose_secret()
                .len(),
            43
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = generate_token("p_", &DeterministicRandom::new(41)).unwrap();
        let debug = format!("{token:?}");
        assert!(!debug.contains(&token.expose_secret()[2..]));
    }

    #[test]
    fn bad_prefix_refused() {
        let rng = DeterministicRandom::new(42);
        for bad in ["has space", "new\nline", "émoji", &"x".repeat(33)] {
            assert!(matches!(
                generate_token(bad, &rng),
                Err(CryptoError::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn hash_is_stable_and_domain_separated() {
        let h = hash_token("abc");
        assert_eq!(h, hash_token("abc"));
        assert_ne!(h, hash_token("abd"));
        let mut plain = Sha256::new();
        plain.update(b"abc");
        let plain: [u8; 32] = plain.finalize().into();
        assert_ne!(h, plain);
        let mut expected = Sha256::new();
        expected.update(b"custodian/token/v1\0abc");
        let expected: [u8; 32] = expected.finalize().into();
        assert_eq!(h, expected);
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn random_bytes_fills() {
        let rng = DeterministicRandom::new(43);
        let a = random_bytes::<24>(&rng).unwrap();
        let b = random_bytes::<24>(&rng).unwrap();
        assert_ne!(*a, [0u8; 24]);
        assert_ne!(*a, *b);
    }

    #[test]
    fn ten_thousand_session_tokens_are_unique_and_hash_uniquely() {
        let rng = SystemRandom;
        let mut tokens = std::collections::HashSet::new();
        let mut hashes = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let token = generate_token("cus_s_", &rng).unwrap();
            hashes.insert(hash_token(token.expose_secret()));
            tokens.insert(token.expose_secret().to_owned());
        }
        assert_eq!(tokens.len(), 10_000);
        assert_eq!(hashes.len(), 10_000);
    }
}
