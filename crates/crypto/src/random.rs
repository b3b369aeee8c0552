//! Injected randomness.
//!
//! Every function that needs random bytes takes a `&dyn SecureRandom` instead
//! of reaching for a global generator. Production code passes
//! [`SystemRandom`]; tests pass [`DeterministicRandom`] so keys, nonces and
//! salts are reproducible and failures can be replayed.

use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::CryptoError;

/// A source of cryptographically secure random bytes.
pub trait SecureRandom: Send + Sync + std::fmt::Debug {
    /// Fills `dest` entirely with random bytes, or fails without partial use.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the underlying generator fails; callers must
    /// abort the operation rather than fall back to weaker randomness.
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG, through aws-lc-rs. Use this in production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl SecureRandom for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), dest)
            .map_err(|_| CryptoError::Random)
    }
}

/// A reproducible byte stream for tests: block `i` is `SHA-256(seed || i)`.
///
/// **Never use this outside tests**: anyone who knows the seed can recompute
/// every key and nonce it produced. It exists so tests in this and other
/// crates get stable keys and can replay failures.
pub struct DeterministicRandom {
    /// `(seed, counter)`: the seed is expanded from the `u64` given to `new`.
    state: Mutex<([u8; 32], u64)>,
}

impl std::fmt::Debug for DeterministicRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The seed determines every key made from this generator: keep it out.
        f.debug_struct("DeterministicRandom")
            .field("seed", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl DeterministicRandom {
    /// A generator whose output depends only on `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"custodian/deterministic-random/v1\0");
        hasher.update(seed.to_be_bytes());
        Self {
            state: Mutex::new((hasher.finalize().into(), 0)),
        }
    }
}

impl SecureRandom for DeterministicRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        // A panic elsewhere while holding the lock leaves the state intact
        // (it is only ever replaced whole), so recover instead of panicking.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for chunk in dest.chunks_mut(32) {
            let mut hasher = Sha256::new();
            hasher.update(state.0);
            hasher.update(state.1.to_be_bytes());
            let block = Zeroizing::new(<[u8; 32]>::from(hasher.finalize()));
            state.1 = state.1.wrapping_add(1);
            let n = chunk.len();
            chunk.copy_from_slice(block.get(..n).ok_or(CryptoError::Random)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn system_random_fills_distinct_buffers() {
        let rng = SystemRandom;
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rng.fill(&mut a).unwrap();
        rng.fill(&mut b).unwrap();
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }

    #[test]
    fn deterministic_random_is_reproducible_per_seed() {
        let mut a = [0u8; 70];
        let mut b = [0u8; 70];
        let mut c = [0u8; 70];
        DeterministicRandom::new(7).fill(&mut a).unwrap();
        DeterministicRandom::new(7).fill(&mut b).unwrap();
        DeterministicRandom::new(8).fill(&mut c).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn deterministic_random_advances() {
        let rng = DeterministicRandom::new(1);
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        rng.fill(&mut a).unwrap();
        rng.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn deterministic_random_debug_hides_seed() {
        let text = format!("{:?}", DeterministicRandom::new(42));
        assert!(text.contains("REDACTED"));
        assert!(!text.contains("42"));
    }
}
