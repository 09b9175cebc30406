//! Credentials of `wasmjob serve`: a private CA and a server certificate for 127.0.0.1 and
//! localhost and an admin bearer token (`kubeconfig` hands them to kubectl). Created on first
//! start and kept in the data directory, so a restart keeps working kubeconfigs.
//! (kubectl drops `--token` over plain http, hence HTTPS even on loopback.)

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Failures reading or creating credentials; messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        cause: std::io::Error,
    },
    /// Certificate generation or parsing failed.
    #[error("tls setup failed: {0}")]
    Tls(String),
}

/// The server's credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The CA certificate kubectl trusts (PEM).
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server key (PEM).
    pub key_pem: String,
    /// The admin bearer token.
    pub token: String,
}

fn read(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.display().to_string(),
            cause: source,
        }),
    }
}

fn write_private(path: &Path, content: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        cause: source,
    };
    use std::io::Write;
    let mut f = crate::private_fs::create_file(path).map_err(io)?;
    f.write_all(content.as_bytes()).map_err(io)?;
    // An existing file keeps its old mode through `create_file`.
    crate::private_fs::restrict(path).map_err(io)
}

/// Loads the credentials under `dir`, creating any that are missing.
pub fn load_or_create(dir: &Path) -> Result<Credentials, Error> {
    crate::private_fs::ensure_dir(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        cause: source,
    })?;
    let (ca_path, cert_path, key_path, token_path) = (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
        dir.join("token"),
    );
    let (ca, cert, key) = match (read(&ca_path)?, read(&cert_path)?, read(&key_path)?) {
        (Some(ca), Some(cert), Some(key)) => (ca, cert, key),
        _ => {
            let (ca, cert, key) = generate().map_err(|e| Error::Tls(e.to_string()))?;
            write_private(&ca_path, &ca)?;
            write_private(&cert_path, &cert)?;
            write_private(&key_path, &key)?;
            (ca, cert, key)
        }
    };
    let token = match read(&token_path)? {
        Some(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            let t = hex::encode(rand::random::<[u8; 32]>());
            write_private(&token_path, &t)?;
            t
        }
    };
    Ok(Credentials {
        ca_pem: ca,
        cert_pem: cert,
        key_pem: key,
        token,
    })
}

fn generate() -> Result<(String, String, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wasmjob-ca");
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(DnType::CommonName, "wasmjob-apiserver");
    let cert = params.signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

/// The rustls server configuration (HTTP/1.1 only).
pub fn server_config(c: &Credentials) -> Result<Arc<rustls::ServerConfig>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(c.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls(format!("server.crt: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes())
        .map_err(|e| Error::Tls(format!("server.key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.token, again.token);
        assert_eq!(first.cert_pem, again.cert_pem);
        assert_eq!(first.token.len(), 64);
        server_config(&again).unwrap();
    }
}
