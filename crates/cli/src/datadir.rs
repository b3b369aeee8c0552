//! The data directory: SQLite database, master key file (0600), TLS material. Created with
//! owner-only permissions on the first run and never silently re-created afterwards.

use anyhow::{Context, bail};
use custodian_crypto::audit::AuditSigningKey;
use custodian_crypto::keys::KeyFile;
use custodian_crypto::random::SecureRandom;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const KEY_FILE_NAME: &str = "master.key";

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE_NAME)
}

/// True when the directory is missing or empty: the first run may initialise it.
pub fn is_fresh(data_dir: &Path) -> anyhow::Result<bool> {
    if !data_dir.exists() {
        return Ok(true);
    }
    let mut entries = fs::read_dir(data_dir)
        .with_context(|| format!("cannot read data directory {}", data_dir.display()))?;
    Ok(entries.next().is_none())
}

pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict permissions of {}", dir.display()))?;
    Ok(())
}

/// Writes a file readable by the owner only. `replace` allows replacing an existing file
/// (a renewed TLS key); the master key is never replaced.
pub fn write_private_file(path: &Path, contents: &[u8], replace: bool) -> anyhow::Result<()> {
    if replace && path.exists() {
        fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn create_key_file(data_dir: &Path, rng: &dyn SecureRandom) -> anyhow::Result<KeyFile> {
    let path = key_path(data_dir);
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a master key",
            path.display()
        );
    }
    let file = KeyFile::generate(rng)?;
    write_private_file(&path, file.to_text().as_bytes(), false)?;
    Ok(file)
}

pub fn read_key_file(data_dir: &Path) -> anyhow::Result<KeyFile> {
    let path = key_path(data_dir);
    if !path.exists() {
        bail!(
            "the master key file {} is missing. If this data directory was initialised before, restore master.key from your offline key backup; to start afresh, use an empty data directory",
            path.display()
        );
    }
    check_private(&path, "master key file")?;
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    KeyFile::parse(&text).with_context(|| format!("{} is not a valid key file", path.display()))
}

/// Refuses a secret file that others can read.
fn check_private(path: &Path, what: &str) -> anyhow::Result<()> {
    let mode = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the {what} {} is readable by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Reads the audit signing key.
pub fn read_audit_key(path: &Path) -> anyhow::Result<AuditSigningKey> {
    check_private(path, "audit signing key file")?;
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    AuditSigningKey::parse(&text)
        .with_context(|| format!("{} is not a valid audit signing key", path.display()))
}

/// Reads the audit signing key, or creates it when the log has never been signed (a new data
/// directory, or one from before the audit log). Once checkpoints exist a missing key is an
/// error: a new key would make every earlier signature unverifiable.
pub fn audit_key(
    path: &Path,
    log_was_signed: bool,
    rng: &dyn SecureRandom,
    created: &mut Vec<String>,
) -> anyhow::Result<AuditSigningKey> {
    if path.exists() {
        return read_audit_key(path);
    }
    if log_was_signed {
        bail!(
            "the audit signing key file {} is missing, but the audit log holds checkpoints it signed; restore the file from your key backup (or set audit.signing_key_file to where it is)",
            path.display()
        );
    }
    let key = AuditSigningKey::generate(rng)?;
    write_private_file(path, key.to_text().as_bytes(), false)?;
    created.push(format!(
        "audit signing key {} (mode 0600, key id {}) — back it up with the master key",
        path.display(),
        key.key_id()
    ));
    Ok(key)
}
