//! Second factors that are shared secrets: TOTP (RFC 6238: HMAC-SHA1, six digits, 30-second
//! steps, ±1 step) and recovery codes (NIST SP 800-63B look-up secrets).
//!
//! Verification reports the time step a TOTP code matched, so the caller can store it and
//! refuse that step (and every older one) next time: each code works once. Recovery codes carry
//! 120 bits each, so a fast hash is enough to store them (like bearer tokens).

use crate::CryptoError;
use crate::random::SecureRandom;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// RFC 4226 recommends 160 bits.
pub const TOTP_SECRET_BYTES: usize = 20;
pub const TOTP_STEP_SECS: u64 = 30;
pub const TOTP_DIGITS: usize = 6;
/// Recovery codes a user gets at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// 120 bits: 24 base32 characters, shown as six groups of four.
const RECOVERY_CODE_BYTES: usize = 15;
const RECOVERY_CODE_CHARS: usize = 24;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A TOTP shared secret. Never printed: `Debug` shows only the type.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret { .. }")
    }
}

impl TotpSecret {
    /// A fresh random secret.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the generator fails.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new(vec![0u8; TOTP_SECRET_BYTES]);
        rng.fill(bytes.as_mut_slice())?;
        Ok(Self(bytes))
    }

    /// A secret read back from storage.
    ///
    /// # Errors
    /// [`CryptoError::InvalidArgument`] unless it has the expected length.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Result<Self, CryptoError> {
        if bytes.len() == TOTP_SECRET_BYTES {
            Ok(Self(bytes))
        } else {
            Err(CryptoError::InvalidArgument(
                "a TOTP secret must be 20 bytes",
            ))
        }
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self) -> Result<totp_rs::Totp, CryptoError> {
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(TOTP_DIGITS as u8)
            .with_skew(1)
            .with_step_duration(TOTP_STEP_SECS)
            .with_secret(self.0.as_slice())
            .build()
            .map_err(|_| CryptoError::InvalidArgument("invalid TOTP parameters"))
    }

    /// The secret as authenticator apps take it when typed in (RFC 4648 base32, no padding).
    #[must_use]
    pub fn to_base32(&self) -> SecretString {
        SecretString::from(base32_upper(&self.0))
    }

    /// The `otpauth://` URI an authenticator app reads from the QR code.
    #[must_use]
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> SecretString {
        let issuer = percent_encode(issuer);
        SecretString::from(format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
            account = percent_encode(account),
            secret = base32_upper(&self.0),
        ))
    }

    /// The time step `code` matches at `unix_secs` (the current step or one either side), or
    /// `None`. The comparison is constant-time.
    #[must_use]
    pub fn verify(&self, code: &str, unix_secs: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.totp().ok()?.check(code, unix_secs)
    }

    /// The code of the step holding `unix_secs` (tests, and the clients of tests).
    ///
    /// # Errors
    /// [`CryptoError::InvalidArgument`] if the secret cannot build a generator.
    pub fn code_at(&self, unix_secs: u64) -> Result<String, CryptoError> {
        Ok(self.totp()?.generate(unix_secs).to_string())
    }
}

/// Decodes a base32 TOTP key as shown to users (tests and command-line clients).
///
/// # Errors
/// [`CryptoError::InvalidArgument`] for anything but a valid 20-byte key.
pub fn totp_secret_from_base32(text: &str) -> Result<TotpSecret, CryptoError> {
    let secret = totp_rs::Secret::try_from_base32(text.trim().to_ascii_uppercase())
        .map_err(|_| CryptoError::InvalidArgument("not a base32 TOTP key"))?;
    TotpSecret::from_bytes(Zeroizing::new(secret.as_ref().to_vec()))
}

fn base32_upper(bytes: &[u8]) -> String {
    base32(bytes).to_ascii_uppercase()
}

/// RFC 4648 base32 without padding, lower case.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A new recovery code, e.g. `k3vq-8m2x-…` (six groups of four base32 characters).
///
/// # Errors
/// [`CryptoError::Random`] if the generator fails.
pub fn generate_recovery_code(rng: &dyn SecureRandom) -> Result<SecretString, CryptoError> {
    let bytes = crate::token::random_bytes::<RECOVERY_CODE_BYTES>(rng)?;
    let plain = Zeroizing::new(base32(bytes.as_slice()));
    let mut grouped = String::with_capacity(RECOVERY_CODE_CHARS + RECOVERY_CODE_CHARS / 4);
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            grouped.push('-');
        }
        grouped.push(c);
    }
    Ok(SecretString::from(grouped))
}

fn normalize_recovery_code(input: &str) -> Option<Zeroizing<String>> {
    let normalized: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    (normalized.len() == RECOVERY_CODE_CHARS && normalized.bytes().all(|b| BASE32.contains(&b)))
        .then_some(normalized)
}

/// The value stored for a recovery code, or `None` if `input` does not have a recovery code's
/// shape (so a six-digit TOTP code and a recovery code can share one input field). Separators
/// and case do not matter, so a code typed as printed or pasted without dashes both work.
#[must_use]
pub fn hash_recovery_code(input: &str) -> Option<[u8; 32]> {
    let normalized = normalize_recovery_code(input)?;
    let mut hasher = Sha256::new();
    hasher.update(b"custodian/recovery-code/v1\0");
    hasher.update(normalized.as_bytes());
    Some(hasher.finalize().into())
}

/// Digits in a code sent by e-mail or SMS (NIST SP 800-63B: at least six).
pub const SENT_CODE_DIGITS: usize = 6;

/// A uniformly random numeric code of [`SENT_CODE_DIGITS`] digits, leading zeros kept.
///
/// # Errors
/// [`CryptoError::Random`] if the generator fails.
pub fn generate_sent_code(rng: &dyn SecureRandom) -> Result<SecretString, CryptoError> {
    const SPAN: u32 = 1_000_000;
    // Rejection sampling: values at or above the largest multiple of SPAN would make low
    // codes slightly more likely.
    let limit = u32::MAX - (u32::MAX % SPAN);
    loop {
        let bytes = crate::token::random_bytes::<4>(rng)?;
        let value = u32::from_le_bytes(*bytes);
        if value < limit {
            return Ok(SecretString::from(format!(
                "{:0width$}",
                value % SPAN,
                width = SENT_CODE_DIGITS
            )));
        }
    }
}

/// A sent code as typed (spaces and dashes ignored), or `None` when it is not six digits.
#[must_use]
pub fn normalize_sent_code(input: &str) -> Option<Zeroizing<String>> {
    let digits: Zeroizing<String> =
        Zeroizing::new(input.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
    (digits.len() == SENT_CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::random::DeterministicRandom;
    use secrecy::ExposeSecret;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (the last six digits of the
    /// eight-digit reference values).
    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        let secret =
            TotpSecret::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec())).unwrap();
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(secret.code_at(time).unwrap(), code, "at {time}");
            assert_eq!(secret.verify(code, time), Some(time / TOTP_STEP_SECS));
        }
    }

    #[test]
    fn accepts_one_step_either_side_and_no_further() {
        let secret = TotpSecret::generate(&DeterministicRandom::new(1)).unwrap();
        let now = 1_800_000_000u64;
        let step = now / TOTP_STEP_SECS;
        let code = secret.code_at(now).unwrap();
        assert_eq!(secret.verify(&code, now), Some(step));
        assert_eq!(secret.verify(&code, now + 30), Some(step));
        assert_eq!(secret.verify(&code, now - 30), Some(step));
        assert_eq!(secret.verify(&code, now + 60), None, "two steps later");
        assert_eq!(secret.verify(&code, now - 60), None, "two steps earlier");
        assert_eq!(secret.verify("12345", now), None);
        assert_eq!(secret.verify("+12345", now), None);
        assert_eq!(secret.verify("abcdef", now), None);
    }

    #[test]
    fn provisioning_uri_round_trips_the_key_and_encodes_the_account() {
        let secret = TotpSecret::generate(&DeterministicRandom::new(2)).unwrap();
        let uri = secret.provisioning_uri("Custodian", "li.na+crm@example.cn");
        let uri = uri.expose_secret();
        assert!(uri.starts_with("otpauth://totp/Custodian:li.na%2Bcrm%40example.cn?secret="));
        let key = secret.to_base32();
        assert!(uri.contains(&format!("secret={}&", key.expose_secret())));
        let back = totp_secret_from_base32(key.expose_secret()).unwrap();
        assert_eq!(back.as_bytes(), secret.as_bytes());
        assert_eq!(format!("{secret:?}"), "TotpSecret { .. }");
    }

    #[test]
    fn recovery_codes_are_long_distinct_and_hash_the_same_however_typed() {
        let rng = DeterministicRandom::new(3);
        let codes: Vec<_> = (0..RECOVERY_CODE_COUNT)
            .map(|_| generate_recovery_code(&rng).unwrap())
            .collect();
        let mut hashes: Vec<_> = codes
            .iter()
            .map(|c| hash_recovery_code(c.expose_secret()).unwrap())
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), RECOVERY_CODE_COUNT);
        let code = codes[0].expose_secret();
        assert_eq!(code.len(), 29, "six groups of four and five dashes: {code}");
        let typed = code.replace('-', " ").to_ascii_uppercase();
        assert_eq!(hash_recovery_code(&typed), hash_recovery_code(code));
        assert!(hash_recovery_code(code).is_some());
        assert!(hash_recovery_code("123456").is_none());
        assert!(hash_recovery_code(&code[..20]).is_none());
        assert!(hash_recovery_code(&code.replace(&code[..1], "1")).is_none());
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn sent_codes_are_six_uniform_digits() {
        let rng = crate::random::DeterministicRandom::new(7);
        let mut first_digits = [0u32; 10];
        for _ in 0..5000 {
            let code = generate_sent_code(&rng).unwrap();
            let code = code.expose_secret();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            first_digits[usize::from(code.as_bytes()[0] - b'0')] += 1;
        }
        // Leading zeros are kept and every leading digit appears about equally often.
        for count in first_digits {
            assert!((350..650).contains(&count), "skewed: {first_digits:?}");
        }
    }

    #[test]
    fn sent_codes_are_normalized_or_refused() {
        assert_eq!(normalize_sent_code(" 123-456 ").unwrap().as_str(), "123456");
        assert!(normalize_sent_code("12345").is_none());
        assert!(normalize_sent_code("1234567").is_none());
        assert!(normalize_sent_code("12345a").is_none());
    }
}
