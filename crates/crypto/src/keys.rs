//! Versioned long-term keys and the operator-held key file.
//!
//! Two kinds of key live outside the database, in a small text file the
//! operator keeps secret:
//!
//! * **root keys** wrap the per-subject data keys ([`crate::envelope`]), so a
//!   stolen database dump is useless without the key file;
//! * **index keys** derive the blind-index keys ([`crate::blind`]), kept
//!   separate so search tokens never share a key with encryption.
//!
//! Both are versioned: the highest version is used for new data and older
//! versions stay loadable until everything has been rotated forward.
//!
//! # Key file format
//!
//! ```text
//! # comment lines and blank lines are ignored
//! custodian-key-file v1
//! root 1 <standard base64 of 32 bytes>
//! index 1 <standard base64 of 32 bytes>
//! ```
//!
//! The header must be the first non-comment line. At least one `root` and
//! one `index` line are required and versions (1 or more) may not repeat.
//! Parse errors give the line number and what was expected but never repeat
//! the line's text, which might be key material.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::random::SecureRandom;
use crate::{CryptoError, KEY_LEN};

/// First non-comment line of every key file.
const HEADER: &str = "custodian-key-file v1";

/// Base64 (with padding) length of a 32-byte key.
const KEY_B64_LEN: usize = 44;

/// Written at the top of every generated key file so whoever finds it knows
/// what it is and how to treat it.
const FILE_COMMENT: &str = "\
# Custodian key file. KEEP THIS FILE SECRET.
#
# - Readable only by the user that runs Custodian: chmod 0600.
# - Back it up offline, separately from database backups. A database backup
#   without this file cannot be decrypted; that is the point.
# - Losing this file makes all encrypted data permanently unreadable.
#   There is no recovery.
#
# `root` keys wrap data keys; `index` keys derive search (blind index) keys.
# The highest version of each kind is used for new data; keep older versions
# until all data has been rotated to a newer one.
";

/// Fingerprint of a key: see [`RootKey::fingerprint`].
fn fingerprint(kind: &str, version: u32, material: &[u8; KEY_LEN]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"custodian/key-fingerprint/v1\0");
    hasher.update(kind.as_bytes());
    hasher.update(b"\0");
    hasher.update(version.to_be_bytes());
    hasher.update(material);
    let digest = hasher.finalize();
    let mut out = String::with_capacity(32);
    for byte in digest.iter().take(16) {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

macro_rules! versioned_key {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        pub struct $name {
            version: u32,
            material: Zeroizing<[u8; KEY_LEN]>,
        }

        impl $name {
            /// Kind name used in the key file and in fingerprints.
            pub(crate) const KIND: &'static str = $kind;

            /// Draws a fresh random key.
            ///
            /// # Errors
            /// [`CryptoError::Random`] if the generator fails.
            pub fn generate(version: u32, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
                let mut material = Zeroizing::new([0u8; KEY_LEN]);
                rng.fill(material.as_mut_slice())?;
                Ok(Self { version, material })
            }

            /// Wraps existing key bytes. The caller's copy is not wiped: prefer
            /// passing bytes straight from a `Zeroizing` buffer.
            #[must_use]
            pub fn from_bytes(version: u32, bytes: [u8; KEY_LEN]) -> Self {
                Self {
                    version,
                    material: Zeroizing::new(bytes),
                }
            }

            /// The key's version; stored next to data it protects so the right
            /// key can be found after rotation.
            #[must_use]
            pub fn version(&self) -> u32 {
                self.version
            }

            /// A non-secret identifier of this exact key and version.
            ///
            /// Lowercase hex of the first 16 bytes of
            /// `SHA-256("custodian/key-fingerprint/v1\0" || kind || "\0" || version BE || key)`.
            /// Safe to store in the database; comparing it at start-up refuses
            /// a wrong key file before it can write unreadable data.
            #[must_use]
            pub fn fingerprint(&self) -> String {
                fingerprint(Self::KIND, self.version, &self.material)
            }

            pub(crate) fn material(&self) -> &[u8; KEY_LEN] {
                &self.material
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("version", &self.version)
                    .field("material", &format_args!("[REDACTED]"))
                    .finish()
            }
        }
    };
}

versioned_key!(
    /// A versioned key that wraps data keys (key-encryption key).
    ///
    /// Material is zeroized on drop and never printed.
    RootKey,
    "root"
);

versioned_key!(
    /// A versioned key from which blind-index keys are derived.
    ///
    /// Kept apart from root keys so that search tokens and encryption never
    /// share a key. Material is zeroized on drop and never printed.
    IndexKey,
    "index"
);

/// The set of root and index keys loaded from the operator's key file.
///
/// Invariant: both lists are non-empty, sorted by version, without duplicates.
#[derive(Debug)]
pub struct KeyFile {
    roots: Vec<RootKey>,
    indexes: Vec<IndexKey>,
}

impl KeyFile {
    /// A fresh key file with root key v1 and index key v1, for first start.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the generator fails.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        Ok(Self {
            roots: vec![RootKey::generate(1, rng)?],
            indexes: vec![IndexKey::generate(1, rng)?],
        })
    }

    /// Reads a key file (format in the [module docs](self)).
    ///
    /// # Errors
    /// [`CryptoError::KeyFile`] with the line number and what was expected.
    /// The offending text is never included, since it may be key material.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let mut seen_header = false;
        // (version, line number, key)
        let mut roots: Vec<(u32, usize, RootKey)> = Vec::new();
        let mut indexes: Vec<(u32, usize, IndexKey)> = Vec::new();

        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut tokens = line.split_whitespace();
            if !seen_header {
                let is_header = tokens.next() == Some("custodian-key-file");
                let version = tokens.next();
                let extra = tokens.next().is_some();
                if !is_header {
                    return Err(key_file_err(format!(
                        "line {line_no}: expected the header `{HEADER}` as the first non-comment line"
                    )));
                }
                if version != Some("v1") || extra {
                    return Err(key_file_err(format!(
                        "line {line_no}: unsupported key file header; this build reads `{HEADER}`"
                    )));
                }
                seen_header = true;
                continue;
            }

            let kind = tokens.next();
            let version = tokens.next();
            let key_text = tokens.next();
            let extra = tokens.next().is_some();
            let (kind, version, key_text) = match (kind, version, key_text, extra) {
                (Some(k @ ("root" | "index")), Some(v), Some(t), false) => (k, v, t),
                _ => {
                    return Err(key_file_err(format!(
                        "line {line_no}: expected `root <version> <base64 key>` or `index <version> <base64 key>`"
                    )));
                }
            };
            let version = parse_version(version, kind, line_no)?;
            let material = decode_key(key_text, kind, line_no)?;
            if kind == RootKey::KIND {
                check_duplicate(roots.iter().map(|r| (r.0, r.1)), kind, version, line_no)?;
                let key = RootKey { version, material };
                roots.push((version, line_no, key));
            } else {
                check_duplicate(indexes.iter().map(|r| (r.0, r.1)), kind, version, line_no)?;
                let key = IndexKey { version, material };
                indexes.push((version, line_no, key));
            }
        }

        if !seen_header {
            return Err(key_file_err(format!(
                "the file is empty; expected the header `{HEADER}` followed by `root` and `index` key lines"
            )));
        }
        if roots.is_empty() {
            return Err(key_file_err(
                "no root key found; add a line `root <version> <base64 key>`".to_owned(),
            ));
        }
        if indexes.is_empty() {
            return Err(key_file_err(
                "no index key found; add a line `index <version> <base64 key>`".to_owned(),
            ));
        }
        roots.sort_by_key(|r| r.0);
        indexes.sort_by_key(|r| r.0);
        Ok(Self {
            roots: roots.into_iter().map(|r| r.2).collect(),
            indexes: indexes.into_iter().map(|r| r.2).collect(),
        })
    }

    /// Serialises the key file, with a header comment telling the operator
    /// how to keep it. The returned text holds key material and is wiped on drop.
    #[must_use]
    pub fn to_text(&self) -> Zeroizing<String> {
        // Reserve everything up front so the buffer never reallocates and
        // leaves an unwiped copy of key text behind.
        let per_line = "index ".len() + 10 + 1 + KEY_B64_LEN + 1;
        let capacity = FILE_COMMENT.len()
            + HEADER.len()
            + 1
            + per_line * (self.roots.len() + self.indexes.len());
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        out.push_str(FILE_COMMENT);
        out.push_str(HEADER);
        out.push('\n');
        for key in &self.roots {
            push_key_line(&mut out, RootKey::KIND, key.version, key.material());
        }
        for key in &self.indexes {
            push_key_line(&mut out, IndexKey::KIND, key.version, key.material());
        }
        out
    }

    /// The root key used to wrap new data keys: the highest version.
    #[must_use]
    pub fn primary_root(&self) -> &RootKey {
        // Non-empty by construction (generate / parse).
        &self.roots[self.roots.len() - 1]
    }

    /// The root key with this version, to unwrap older data keys.
    ///
    /// # Errors
    /// [`CryptoError::UnknownKeyVersion`] if the key file lacks it.
    pub fn root(&self, version: u32) -> Result<&RootKey, CryptoError> {
        self.roots
            .iter()
            .find(|k| k.version == version)
            .ok_or(CryptoError::UnknownKeyVersion {
                kind: RootKey::KIND,
                version,
            })
    }

    /// All root keys, oldest first.
    #[must_use]
    pub fn roots(&self) -> &[RootKey] {
        &self.roots
    }

    /// The index key used for new blind indexes: the highest version.
    #[must_use]
    pub fn primary_index(&self) -> &IndexKey {
        // Non-empty by construction (generate / parse).
        &self.indexes[self.indexes.len() - 1]
    }

    /// The index key with this version.
    ///
    /// # Errors
    /// [`CryptoError::UnknownKeyVersion`] if the key file lacks it.
    pub fn index(&self, version: u32) -> Result<&IndexKey, CryptoError> {
        self.indexes
            .iter()
            .find(|k| k.version == version)
            .ok_or(CryptoError::UnknownKeyVersion {
                kind: IndexKey::KIND,
                version,
            })
    }

    /// All index keys, oldest first.
    #[must_use]
    pub fn indexes(&self) -> &[IndexKey] {
        &self.indexes
    }

    /// Adds a fresh root key with the next version and makes it primary;
    /// the first step of root-key rotation. Returns the new version.
    ///
    /// # Errors
    /// [`CryptoError::Random`] if the generator fails, or
    /// [`CryptoError::KeyFile`] if versions are exhausted.
    pub fn add_root(&mut self, rng: &dyn SecureRandom) -> Result<u32, CryptoError> {
        let next = self
            .primary_root()
            .version
            .checked_add(1)
            .ok_or_else(|| key_file_err("root key versions are exhausted".to_owned()))?;
        self.roots.push(RootKey::generate(next, rng)?);
        Ok(next)
    }
}

fn key_file_err(message: String) -> CryptoError {
    CryptoError::KeyFile(message)
}

fn parse_version(text: &str, kind: &str, line_no: usize) -> Result<u32, CryptoError> {
    match text.parse::<u32>() {
        Ok(v) if v >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
        _ => Err(key_file_err(format!(
            "line {line_no}: expected `{kind} <version> <base64 key>` where version is a whole number from 1 to {}",
            u32::MAX
        ))),
    }
}

fn decode_key(
    text: &str,
    kind: &str,
    line_no: usize,
) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    let length_err = || {
        key_file_err(format!(
            "line {line_no}: the {kind} key must be {KEY_LEN} bytes ({KEY_B64_LEN} standard base64 characters)"
        ))
    };
    if text.len() > 64 {
        return Err(length_err());
    }
    // Decode into a wiped stack buffer: large enough for any 64-char input.
    let mut buf = Zeroizing::new([0u8; 48]);
    let n = match STANDARD.decode_slice(text, buf.as_mut_slice()) {
        Ok(n) => n,
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => return Err(length_err()),
        // The decode error names the bad character: do not pass it on.
        Err(base64::DecodeSliceError::DecodeError(_)) => {
            return Err(key_file_err(format!(
                "line {line_no}: the {kind} key is not valid standard base64"
            )));
        }
    };
    if n != KEY_LEN {
        return Err(length_err());
    }
    let mut material = Zeroizing::new([0u8; KEY_LEN]);
    material.copy_from_slice(buf.get(..KEY_LEN).ok_or_else(length_err)?);
    Ok(material)
}

fn check_duplicate(
    existing: impl Iterator<Item = (u32, usize)>,
    kind: &str,
    version: u32,
    line_no: usize,
) -> Result<(), CryptoError> {
    for (v, first_line) in existing {
        if v == version {
            return Err(key_file_err(format!(
                "line {line_no}: duplicate {kind} key version {version} (already defined on line {first_line}); each version may appear once"
            )));
        }
    }
    Ok(())
}

fn push_key_line(out: &mut String, kind: &str, version: u32, material: &[u8; KEY_LEN]) {
    out.push_str(kind);
    out.push(' ');
    // Writing to a String cannot fail.
    let _ = write!(out, "{version}");
    out.push(' ');
    STANDARD.encode_string(material, out);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::random::DeterministicRandom;

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    fn parse_err(text: &str) -> String {
        match KeyFile::parse(text) {
            Err(CryptoError::KeyFile(msg)) => msg,
            other => panic!("expected KeyFile error, got {other:?}"),
        }
    }

    #[test]
    fn generate_to_text_parse_round_trip() {
        let rng = DeterministicRandom::new(1);
        let mut file = KeyFile::generate(&rng).unwrap();
        assert_eq!(file.add_root(&rng).unwrap(), 2);
        let text = file.to_text();
        assert!(text.contains("chmod 0600"));
        assert!(text.contains("separately from database backups"));
        assert!(text.contains("unreadable"));
        let parsed = KeyFile::parse(&text).unwrap();
        assert_eq!(parsed.roots().len(), 2);
        assert_eq!(parsed.indexes().len(), 1);
        assert_eq!(parsed.primary_root().version(), 2);
        assert_eq!(parsed.primary_index().version(), 1);
        for (a, b) in file.roots().iter().zip(parsed.roots()) {
            assert_eq!(a.version(), b.version());
            assert_eq!(a.material(), b.material());
        }
        assert_eq!(
            file.primary_index().material(),
            parsed.primary_index().material()
        );
        assert_eq!(*parsed.to_text(), *text);
    }

    #[test]
    fn lookup_by_version() {
        let rng = DeterministicRandom::new(2);
        let mut file = KeyFile::generate(&rng).unwrap();
        file.add_root(&rng).unwrap();
        assert_eq!(file.root(1).unwrap().version(), 1);
        assert_eq!(file.root(2).unwrap().version(), 2);
        assert!(matches!(
            file.root(3),
            Err(CryptoError::UnknownKeyVersion {
                kind: "root",
                version: 3
            })
        ));
        assert!(matches!(
            file.index(9),
            Err(CryptoError::UnknownKeyVersion {
                kind: "index",
                version: 9
            })
        ));
        assert_eq!(file.index(1).unwrap().version(), 1);
    }

    #[test]
    fn parse_sorts_versions_and_ignores_comments() {
        let text = format!(
            "# hello\n\n   # indented comment\ncustodian-key-file v1\r\nroot 3 {}\nroot 1 {}\nindex 2 {}\n",
            b64(&[3; 32]),
            b64(&[1; 32]),
            b64(&[2; 32])
        );
        let file = KeyFile::parse(&text).unwrap();
        assert_eq!(file.roots()[0].version(), 1);
        assert_eq!(file.primary_root().version(), 3);
        assert_eq!(file.primary_root().material(), &[3; 32]);
        assert_eq!(file.primary_index().version(), 2);
    }

    #[test]
    fn parse_bad_header() {
        let msg = parse_err(&format!("# c\nroot 1 {}\n", b64(&[1; 32])));
        assert!(msg.starts_with("line 2:"), "{msg}");
        assert!(msg.contains("custodian-key-file v1"), "{msg}");
        let msg = parse_err("custodian-key-file v2\n");
        assert!(msg.starts_with("line 1:"), "{msg}");
        assert!(msg.contains("unsupported"), "{msg}");
        let msg = parse_err("# only comments\n\n");
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn parse_bad_base64() {
        let msg = parse_err(&format!(
            "custodian-key-file v1\nroot 1 {}\nindex 1 not*base64*at*all\n",
            b64(&[1; 32])
        ));
        assert!(msg.starts_with("line 3:"), "{msg}");
        assert!(msg.contains("base64"), "{msg}");
        assert!(!msg.contains("not*base64"), "{msg}");
    }

    #[test]
    fn parse_wrong_length() {
        let short = b64(&[1; 16]);
        let msg = parse_err(&format!(
            "custodian-key-file v1\nroot 1 {short}\nindex 1 {short}\n"
        ));
        assert!(msg.starts_with("line 2:"), "{msg}");
        assert!(msg.contains("32 bytes"), "{msg}");
        assert!(!msg.contains(&short), "{msg}");
        let long = b64(&[1; 33]);
        let msg = parse_err(&format!(
            "custodian-key-file v1\nroot 1 {}\nindex 1 {long}\n",
            b64(&[1; 32])
        ));
        assert!(msg.starts_with("line 3:"), "{msg}");
        assert!(msg.contains("32 bytes"), "{msg}");
        let huge = b64(&[1; 200]);
        let msg = parse_err(&format!("custodian-key-file v1\nroot 1 {huge}\n"));
        assert!(msg.starts_with("line 2:"), "{msg}");
    }

    #[test]
    fn parse_duplicate_version() {
        let msg = parse_err(&format!(
            "custodian-key-file v1\nroot 1 {}\nindex 1 {}\nroot 1 {}\n",
            b64(&[1; 32]),
            b64(&[2; 32]),
            b64(&[3; 32])
        ));
        assert!(msg.starts_with("line 4:"), "{msg}");
        assert!(msg.contains("duplicate root key version 1"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn parse_missing_index_and_root() {
        let msg = parse_err(&format!(
            "custodian-key-file v1\nroot 1 {}\n",
            b64(&[1; 32])
        ));
        assert!(msg.contains("no index key"), "{msg}");
        let msg = parse_err(&format!(
            "custodian-key-file v1\nindex 1 {}\n",
            b64(&[1; 32])
        ));
        assert!(msg.contains("no root key"), "{msg}");
    }

    #[test]
    fn parse_bad_lines_do_not_echo_text() {
        let key = b64(&[9; 32]);
        for (line, expect) in [
            (
                format!("root {key}"),
                "expected `root <version> <base64 key>`",
            ),
            (key.clone(), "expected `root <version> <base64 key>`"),
            (format!("root 1 {key} extra"), "expected"),
            (format!("secret 1 {key}"), "expected"),
            (format!("root 0 {key}"), "whole number"),
            (format!("root -1 {key}"), "whole number"),
            (format!("root +1 {key}"), "whole number"),
        ] {
            let msg = parse_err(&format!("custodian-key-file v1\n{line}\n"));
            assert!(msg.starts_with("line 2:"), "{msg}");
            assert!(msg.contains(expect), "{msg}");
            assert!(!msg.contains(&key), "{msg}");
            assert!(!msg.contains("secret"), "{msg}");
        }
    }

    #[test]
    fn debug_and_errors_never_contain_key_text() {
        let rng = DeterministicRandom::new(3);
        let file = KeyFile::generate(&rng).unwrap();
        let root_b64 = b64(file.primary_root().material());
        let index_b64 = b64(file.primary_index().material());
        let debug = format!("{file:?}");
        assert!(debug.contains("[REDACTED]"));
        assert!(!debug.contains(&root_b64));
        assert!(!debug.contains(&index_b64));
        assert_eq!(
            format!("{:?}", file.primary_root()),
            "RootKey { version: 1, material: [REDACTED] }"
        );
        assert_eq!(
            format!("{:?}", file.primary_index()),
            "IndexKey { version: 1, material: [REDACTED] }"
        );
        // A key with a typo'd tail: the error must not repeat any of it.
        let mut bad = root_b64.clone();
        bad.pop();
        bad.push('!');
        let err = KeyFile::parse(&format!("custodian-key-file v1\nroot 1 {bad}\n")).unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(&bad[..20]), "{text}");
        }
    }

    #[test]
    fn fingerprints() {
        let a = RootKey::from_bytes(1, [1; 32]);
        let a2 = RootKey::from_bytes(1, [1; 32]);
        let b = RootKey::from_bytes(1, [2; 32]);
        let a_v2 = RootKey::from_bytes(2, [1; 32]);
        let idx = IndexKey::from_bytes(1, [1; 32]);
        assert_eq!(a.fingerprint(), a2.fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), a_v2.fingerprint());
        assert_ne!(a.fingerprint(), idx.fingerprint());
        assert_eq!(a.fingerprint().len(), 32);
        assert!(
            a.fingerprint()
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        // Stable across builds: computed independently.
        let mut h = Sha256::new();
        h.update(b"custodian/key-fingerprint/v1\0root\0\0\0\0\x01");
        h.update([1u8; 32]);
        let d = h.finalize();
        let expected: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
        assert_eq!(a.fingerprint(), expected);
    }

    #[test]
    fn generated_keys_differ() {
        let rng = DeterministicRandom::new(4);
        let file = KeyFile::generate(&rng).unwrap();
        assert_ne!(
            file.primary_root().material(),
            file.primary_index().material()
        );
        assert_ne!(file.primary_root().material(), &[0; 32]);
    }
}
