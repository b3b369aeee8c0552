//! HTTPS: a user-supplied certificate, or a self-signed one for first runs. TLS 1.2 and 1.3
//! only (rustls, aws-lc-rs provider), checked for expiry at start.

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// Validity of the generated certificate.
pub const SELF_SIGNED_DAYS: i64 = 90;
/// A generated certificate is replaced at start when fewer days than this remain.
pub const RENEW_BEFORE_DAYS: i64 = 30;
pub const SELF_SIGNED_NAMES: &[&str] = &["localhost", "custodian.localhost"];

pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Writes a new self-signed certificate for localhost, custodian.localhost and 127.0.0.1.
pub fn write_self_signed(data_dir: &Path, now: OffsetDateTime) -> anyhow::Result<()> {
    let mut params = rcgen::CertificateParams::new(
        SELF_SIGNED_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>(),
    )?;
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Custodian (self-signed)");
    params.not_before = now - time::Duration::hours(1);
    // rcgen's default not_after is the year 4096: always set it.
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let (cert_path, key_path) = self_signed_paths(data_dir);
    let dir = cert_path
        .parent()
        .context("certificate path has no parent")?;
    crate::datadir::create_private_dir(dir)?;
    crate::datadir::write_private_file(&key_path, key.serialize_pem().as_bytes(), true)?;
    std::fs::write(&cert_path, cert.pem())
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    Ok(())
}

/// Seconds until the first certificate in the PEM file expires (negative when expired).
pub fn seconds_until_expiry(cert_pem: &Path, now: OffsetDateTime) -> anyhow::Result<i64> {
    let cert = CertificateDer::from_pem_file(cert_pem)
        .with_context(|| format!("{} holds no PEM certificate", cert_pem.display()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid X.509 certificate: {e}",
            cert_pem.display()
        )
    })?;
    Ok(parsed.validity().not_after.timestamp() - now.unix_timestamp())
}

pub fn server_config(cert_pem: &Path, key_pem: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .with_context(|| format!("cannot read certificate {}", cert_pem.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert_pem.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", cert_pem.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .with_context(|| format!("{} holds no PEM private key", key_pem.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and private key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Which certificate to serve: the configured one (refused when expired) or the self-signed
/// one (renewed when close to expiry).
pub fn resolve(
    configured: Option<(PathBuf, PathBuf)>,
    data_dir: &Path,
    now: OffsetDateTime,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let day = 86_400;
    match configured {
        Some((cert, key)) => {
            let left = seconds_until_expiry(&cert, now)?;
            if left <= 0 {
                bail!(
                    "the TLS certificate {} has expired; install a renewed certificate (tls.cert_file) before starting",
                    cert.display()
                );
            }
            if left < RENEW_BEFORE_DAYS * day {
                tracing::warn!(
                    days_left = left / day,
                    "TLS certificate expires soon; renew it"
                );
            }
            Ok((cert, key))
        }
        None => {
            let (cert, key) = self_signed_paths(data_dir);
            let renew = !cert.is_file()
                || !key.is_file()
                || seconds_until_expiry(&cert, now)? < RENEW_BEFORE_DAYS * day;
            if renew {
                write_self_signed(data_dir, now)?;
                tracing::info!(path = %cert.display(), "generated a self-signed TLS certificate valid for 90 days");
            }
            Ok((cert, key))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_valid_90_days_and_renewed_when_close() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let (cert, key) = resolve(None, dir.path(), now).unwrap();
        let left = seconds_until_expiry(&cert, now).unwrap();
        assert!((89 * 86_400..=90 * 86_400).contains(&left), "{left}");
        server_config(&cert, &key).unwrap();
        let first = std::fs::read(&cert).unwrap();
        // 70 days later fewer than 30 remain: renewed.
        let later = now + time::Duration::days(70);
        resolve(None, dir.path(), later).unwrap();
        assert_ne!(std::fs::read(&cert).unwrap(), first);
        assert!(seconds_until_expiry(&cert, later).unwrap() > 80 * 86_400);
    }

    #[test]
    fn expired_configured_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        write_self_signed(dir.path(), now).unwrap();
        let (cert, key) = self_signed_paths(dir.path());
        let err = resolve(
            Some((cert, key)),
            dir.path(),
            now + time::Duration::days(91),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expired"), "{err}");
    }
}
