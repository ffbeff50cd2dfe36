//! TLS on the API port and the HTTP door: a certificate the operator gives
//! (`--tls-cert`/`--tls-key`), or one made once with rcgen into the data
//! dir (`--tls self-signed`), and the rule that keeps access keys off a
//! network in clear text: a non-loopback listener needs TLS unless the
//! operator says the network is a lab (`--insecure-listen`).
//!
//! The self-signed set is a small CA of its own (`tls/ca.pem`, the bundle
//! clients trust; its key is thrown away once the server certificate is
//! signed) and the server's certificate and key (`tls/cert.pem`,
//! `tls/key.pem`, 0600). Delete `tls/` to make a new set (e.g. for
//! another host name).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tonic::transport::Identity;

use crate::config::TlsConfig;

/// The folder of the self-signed set, under the data dir.
const SELF_SIGNED_DIR: &str = "tls";

/// The API port's certificate, ready for tonic (and for the HTTP door).
pub(crate) struct Tls {
    pub identity: Identity,
    /// The same certificate chain and key for the HTTP door.
    pub rustls: std::sync::Arc<tokio_rustls::rustls::ServerConfig>,
    /// What clients must trust, when funnel made the certificate (an
    /// absolute path: it goes into the credentials file).
    pub ca_bundle: Option<PathBuf>,
}

impl Tls {
    /// The certificate `config` asks for, if any (made on first use for
    /// `self_signed`).
    pub fn load(config: &TlsConfig, data_dir: &Path) -> anyhow::Result<Option<Tls>> {
        if config.ca_bundle.is_some() && config.cert.is_none() {
            anyhow::bail!("--tls-ca-bundle goes with --tls-cert and --tls-key");
        }
        match (&config.cert, &config.key, config.self_signed) {
            (None, None, false) => Ok(None),
            (Some(cert), Some(key), false) => {
                let read = |path: &Path, what: &str| {
                    std::fs::read(path)
                        .with_context(|| format!("reading the TLS {what} {}", path.display()))
                };
                let ca_bundle = config
                    .ca_bundle
                    .as_deref()
                    .map(|bundle| {
                        read(bundle, "CA bundle")?;
                        std::path::absolute(bundle)
                            .with_context(|| format!("resolving the path of {}", bundle.display()))
                    })
                    .transpose()?;
                let (cert, key) = (read(cert, "certificate")?, read(key, "key")?);
                Ok(Some(Tls {
                    rustls: rustls_config(&cert, &key)?,
                    identity: Identity::from_pem(cert, key),
                    ca_bundle,
                }))
            }
            (None, None, true) => self_signed(&data_dir.join(SELF_SIGNED_DIR)).map(Some),
            (_, _, true) => {
                anyhow::bail!("--tls self-signed and --tls-cert/--tls-key cannot be used together")
            }
            _ => anyhow::bail!("--tls-cert and --tls-key go together: give both"),
        }
    }
}

/// A rustls server config for the HTTP door from a PEM chain and key
/// (HTTP/1.1 by ALPN).
fn rustls_config(
    cert: &[u8],
    key: &[u8],
) -> anyhow::Result<std::sync::Arc<tokio_rustls::rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .context("reading the TLS certificate chain (PEM)")?;
    anyhow::ensure!(
        !chain.is_empty(),
        "the TLS certificate file holds no certificate"
    );
    let key = PrivateKeyDer::from_pem_slice(key).context("reading the TLS key (PEM)")?;
    // ring, as tonic's `tls-ring` on the API port (rustls marks it
    // deprecated for lacking post-quantum key exchange; aws-lc is not
    // built here).
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not go together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(std::sync::Arc::new(config))
}

/// Refuses to serve access keys in clear text beyond this machine.
pub(crate) fn check_listener(addr: SocketAddr, tls: bool, insecure: bool) -> anyhow::Result<()> {
    if tls || insecure || addr.ip().is_loopback() {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to listen on {addr} without TLS: every call carries an access key, which \
         would cross the network in clear text. Serve TLS with `--tls self-signed` (clients \
         trust the ca_bundle written to the credentials file) or `--tls-cert FILE --tls-key \
         FILE`; or, on a lab network you trust, pass `--insecure-listen`"
    )
}

/// Loads the set in `dir`, or makes it.
fn self_signed(dir: &Path) -> anyhow::Result<Tls> {
    let ca = dir.join("ca.pem");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if !(ca.is_file() && cert.is_file() && key.is_file()) {
        make_self_signed(dir, &ca, &cert, &key)?;
    }
    let cert = std::fs::read(&cert).with_context(|| format!("reading {}", cert.display()))?;
    let key = std::fs::read(&key).with_context(|| format!("reading {}", key.display()))?;
    let rustls = rustls_config(&cert, &key)?;
    let identity = Identity::from_pem(cert, key);
    let ca_bundle = std::path::absolute(&ca)
        .with_context(|| format!("resolving the path of {}", ca.display()))?;
    Ok(Tls {
        identity,
        rustls,
        ca_bundle: Some(ca_bundle),
    })
}

fn make_self_signed(dir: &Path, ca: &Path, cert: &Path, key: &Path) -> anyhow::Result<()> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    crate::create_private_dir(dir)?;
    let host = host_name();
    let mut ca_params = CertificateParams::new(Vec::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!(
            "funnel local CA ({})",
            host.as_deref().unwrap_or("localhost")
        ),
    );
    let ca_cert = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    names.extend(host);
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "funnel".to_string());
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_cert = params.signed_by(&server_key, &ca_cert)?;

    crate::write_private(key, &server_key.serialize_pem())
        .with_context(|| format!("writing {}", key.display()))?;
    crate::write_private(cert, &server_cert.pem())
        .with_context(|| format!("writing {}", cert.display()))?;
    // Written last: its presence says the set is whole.
    crate::write_private(ca, &ca_cert.pem())
        .with_context(|| format!("writing {}", ca.display()))?;
    tracing::info!(dir = %dir.display(), "made a self-signed TLS certificate");
    Ok(())
}

/// This machine's host name, when it is a valid DNS name.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let name = name.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name != "localhost"
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_goes_without_tls() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(check_listener(at("127.0.0.1:1"), false, false).is_ok());
        assert!(check_listener(at("[::1]:1"), false, false).is_ok());
        let refused = check_listener(at("0.0.0.0:1"), false, false).unwrap_err();
        assert!(
            refused.to_string().contains("--insecure-listen"),
            "{refused}"
        );
        assert!(check_listener(at("0.0.0.0:1"), true, false).is_ok());
        assert!(check_listener(at("10.0.0.1:1"), false, true).is_ok());
    }

    #[test]
    fn the_self_signed_set_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let config = TlsConfig {
            self_signed: true,
            ..TlsConfig::default()
        };
        let first = Tls::load(&config, dir.path()).unwrap().unwrap();
        let bundle = first.ca_bundle.unwrap();
        let ca = std::fs::read(&bundle).unwrap();
        assert!(String::from_utf8_lossy(&ca).starts_with("-----BEGIN CERTIFICATE-----"));
        let again = Tls::load(&config, dir.path()).unwrap().unwrap();
        assert_eq!(std::fs::read(again.ca_bundle.unwrap()).unwrap(), ca);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn cert_and_key_go_together() {
        let config = TlsConfig {
            cert: Some("c.pem".into()),
            ..TlsConfig::default()
        };
        let err = Tls::load(&config, Path::new(".")).err().unwrap();
        assert!(err.to_string().contains("give both"), "{err}");
    }
}
