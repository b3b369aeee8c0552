//! Password hashing with Argon2id.
//!
//! All hashing and verification here is **blocking and slow on purpose**
//! (tens of milliseconds and ~19 MiB of memory per call at the defaults):
//! async callers must run it in `tokio::task::spawn_blocking` and should cap
//! how many run at once.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Argon2, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret as _, SecretString};

use crate::CryptoError;
use crate::random::SecureRandom;

/// Salt length in bytes (128 bits, the PHC recommendation).
const SALT_LEN: usize = 16;
/// Hash output length in bytes.
const OUTPUT_LEN: usize = 32;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Number of passes over memory.
    pub iterations: u32,
    /// Lanes (threads) per hash.
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordParams {
    /// Refuses parameters weaker than the defaults (OWASP minimum), so a
    /// configuration typo cannot silently weaken every stored password.
    ///
    /// # Errors
    /// [`CryptoError::PasswordHash`] saying which value to raise.
    pub fn validate(&self) -> Result<(), CryptoError> {
        let min = Self::default();
        if self.memory_kib < min.memory_kib {
            return Err(CryptoError::PasswordHash(format!(
                "Argon2 memory is {} KiB; it must be at least {} KiB (OWASP minimum), raise the memory setting",
                self.memory_kib, min.memory_kib
            )));
        }
        if self.iterations < min.iterations {
            return Err(CryptoError::PasswordHash(format!(
                "Argon2 iterations is {}; it must be at least {} (OWASP minimum), raise the iterations setting",
                self.iterations, min.iterations
            )));
        }
        if self.parallelism < min.parallelism {
            return Err(CryptoError::PasswordHash(format!(
                "Argon2 parallelism is {}; it must be at least {}",
                self.parallelism, min.parallelism
            )));
        }
        self.argon2_params().map(|_| ())
    }

    fn argon2_params(&self) -> Result<argon2::Params, CryptoError> {
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| {
            CryptoError::PasswordHash(format!(
                "Argon2 rejected the parameters ({e}); check memory, iterations and parallelism"
            ))
        })
    }
}

/// Result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password does not match.
    Invalid,
    /// The password matches. If `needs_rehash`, the stored hash is weaker
    /// than the current parameters: hash the password again and store it.
    Valid {
        /// Stored parameters are below the current ones.
        needs_rehash: bool,
    },
}

/// Hashes and verifies passwords with Argon2id at fixed parameters.
///
/// Every method is blocking and deliberately slow; call it from
/// `spawn_blocking`, never directly on an async worker thread.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: PasswordParams,
    /// A PHC string at the current parameters that no password matches,
    /// used to spend the same time on unknown users.
    dummy_hash: String,
}

impl PasswordHasher {
    /// A hasher at `params` (validated).
    ///
    /// Precomputes the dummy hash for [`Self::verify_dummy`]: a PHC string
    /// with the current parameters, a random salt and a random output. No
    /// Argon2 run is needed to build it, since only verifying against it must
    /// cost the same as a real verify, and a random output matches no password.
    ///
    /// # Errors
    /// [`CryptoError::PasswordHash`] for weak parameters,
    /// [`CryptoError::Random`] if the generator fails.
    pub fn new(params: PasswordParams, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        params.validate()?;
        let argon_params = params.argon2_params()?;
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt)?;
        let mut output = [0u8; OUTPUT_LEN];
        rng.fill(&mut output)?;
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&argon_params).map_err(phc_err)?,
            salt: Some(Salt::new(&salt).map_err(phc_err)?),
            hash: Some(Output::new(&output).map_err(phc_err)?),
        };
        Ok(Self {
            params,
            dummy_hash: phc.to_string(),
        })
    }

    /// The parameters new hashes are made with.
    #[must_use]
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    fn argon2(&self) -> Result<Argon2<'static>, CryptoError> {
        Ok(Argon2::new(
            argon2::Algorithm::Argon2id,
            Version::V0x13,
            self.params.argon2_params()?,
        ))
    }

    /// Hashes a password with a fresh random salt; returns a PHC string
    /// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) to store.
    ///
    /// # Errors
    /// [`CryptoError::Random`] or [`CryptoError::PasswordHash`].
    pub fn hash(
        &self,
        password: &SecretString,
        rng: &dyn SecureRandom,
    ) -> Result<String, CryptoError> {
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt)?;
        let hash = self
            .argon2()?
            .hash_password_with_salt(password.expose_secret().as_bytes(), &salt)
            .map_err(|e| CryptoError::PasswordHash(format!("hashing failed: {e}")))?;
        Ok(hash.to_string())
    }

    /// Checks a password against a stored PHC string. The stored string's own
    /// parameters are used, so old hashes keep working after parameters are
    /// raised; `needs_rehash` then tells the caller to store a new hash.
    ///
    /// # Errors
    /// [`CryptoError::PasswordHash`] if the stored string is not a valid
    /// Argon2 PHC string (a wrong password is `Ok(PasswordCheck::Invalid)`).
    pub fn verify(&self, password: &SecretString, phc: &str) -> Result<PasswordCheck, CryptoError> {
        // The stored hash is not echoed into errors.
        let parsed = PasswordHash::new(phc).map_err(|e| {
            CryptoError::PasswordHash(format!(
                "stored password hash is not a valid PHC string ({e})"
            ))
        })?;
        match Argon2::default().verify_password(password.expose_secret().as_bytes(), &parsed) {
            Ok(()) => Ok(PasswordCheck::Valid {
                needs_rehash: self.needs_rehash(&parsed),
            }),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(PasswordCheck::Invalid),
            Err(e) => Err(CryptoError::PasswordHash(format!(
                "cannot verify stored password hash ({e})"
            ))),
        }
    }

    /// For unknown users: spends the same time as a real verify and always
    /// returns false, so timing does not reveal whether an account exists.
    #[must_use]
    pub fn verify_dummy(&self, password: &SecretString) -> bool {
        // The outcome is irrelevant; black_box keeps the work from being
        // optimised away.
        let _ = std::hint::black_box(self.verify(password, &self.dummy_hash));
        false
    }

    fn needs_rehash(&self, stored: &PasswordHash) -> bool {
        if stored.algorithm != ARGON2ID_IDENT || stored.version != Some(Version::V0x13.into()) {
            return true;
        }
        let Ok(p) = argon2::Params::try_from(stored) else {
            return true;
        };
        p.m_cost() < self.params.memory_kib
            || p.t_cost() < self.params.iterations
            || p.p_cost() < self.params.parallelism
            || p.output_len().unwrap_or(0) < OUTPUT_LEN
            || stored.salt.as_ref().map_or(0, |s| s.len()) < SALT_LEN
    }
}

fn phc_err(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::PasswordHash(format!("cannot build PHC string ({e})"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::random::DeterministicRandom;

    // Argon2 is slow in debug builds: this module runs exactly five Argon2
    // computations in total (one hash, four verifies).

    #[test]
    fn hash_verify_rehash_and_dummy() {
        let rng = DeterministicRandom::new(30);
        let hasher = PasswordHasher::new(PasswordParams::default(), &rng).unwrap();
        let password = SecretString::from("correct horse battery staple");

        let phc = hasher.hash(&password, &rng).unwrap(); // 1
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));

        assert_eq!(
            hasher.verify(&password, &phc).unwrap(), // 2
            PasswordCheck::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher
                .verify(&SecretString::from("correct horse battery stapl"), &phc) // 3
                .unwrap(),
            PasswordCheck::Invalid
        );

        let stronger = PasswordHasher::new(
            PasswordParams {
                iterations: 3,
                ..PasswordParams::default()
            },
            &rng,
        )
        .unwrap();
        assert_eq!(
            stronger.verify(&password, &phc).unwrap(), // 4 (runs at the stored cost)
            PasswordCheck::Valid { needs_rehash: true }
        );

        assert!(!hasher.verify_dummy(&password)); // 5
    }

    #[test]
    fn dummy_hash_has_current_params() {
        let rng = DeterministicRandom::new(31);
        let hasher = PasswordHasher::new(PasswordParams::default(), &rng).unwrap();
        let parsed = PasswordHash::new(&hasher.dummy_hash).unwrap();
        let p = argon2::Params::try_from(&parsed).unwrap();
        assert_eq!(parsed.algorithm, ARGON2ID_IDENT);
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
        assert_eq!(parsed.salt.unwrap().len(), SALT_LEN);
        // Distinct per hasher (random salt and output).
        let other = PasswordHasher::new(PasswordParams::default(), &rng).unwrap();
        assert_ne!(hasher.dummy_hash, other.dummy_hash);
    }

    #[test]
    fn malformed_phc_is_an_error_not_invalid() {
        let rng = DeterministicRandom::new(32);
        let hasher = PasswordHasher::new(PasswordParams::default(), &rng).unwrap();
        let err = hasher
            .verify(&SecretString::from("pw"), "not-a-phc-string")
            .unwrap_err();
        assert!(matches!(err, CryptoError::PasswordHash(_)));
        assert!(!err.to_string().contains("not-a-phc-string"));
        assert!(!err.to_string().contains("pw\""));
    }

    #[test]
    fn needs_rehash_detects_weaker_stored_params() {
        let rng = DeterministicRandom::new(33);
        let hasher = PasswordHasher::new(PasswordParams::default(), &rng).unwrap();
        let same = PasswordHash::new(&hasher.dummy_hash).unwrap();
        assert!(!hasher.needs_rehash(&same));
        let weak = PasswordHash::new(
            "$argon2id$v=19$m=8192,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        )
        .unwrap();
        assert!(hasher.needs_rehash(&weak));
        let argon2i = PasswordHash::new(
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        )
        .unwrap();
        assert!(hasher.needs_rehash(&argon2i));
    }

    #[test]
    fn validate_refuses_weak_params_with_actionable_message() {
        assert!(PasswordParams::default().validate().is_ok());
        let weak_memory = PasswordParams {
            memory_kib: 4096,
            ..PasswordParams::default()
        };
        let msg = weak_memory.validate().unwrap_err().to_string();
        assert!(msg.contains("4096") && msg.contains("19456"), "{msg}");
        let weak_iter = PasswordParams {
            iterations: 1,
            ..PasswordParams::default()
        };
        assert!(
            weak_iter
                .validate()
                .unwrap_err()
                .to_string()
                .contains("iterations")
        );
        let zero_lanes = PasswordParams {
            parallelism: 0,
            ..PasswordParams::default()
        };
        assert!(zero_lanes.validate().is_err());
        let too_many_lanes = PasswordParams {
            parallelism: 1 << 25,
            ..PasswordParams::default()
        };
        assert!(too_many_lanes.validate().is_err());
        assert!(PasswordHasher::new(weak_memory, &DeterministicRandom::new(1)).is_err());
    }
}
