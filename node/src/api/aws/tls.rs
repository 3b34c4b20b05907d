//! TLS on the AWS endpoint, when a certificate and key are configured: rustls with the ring
//! provider, ALPN offering HTTP/2 and HTTP/1.1 (the SDKs pick HTTP/2 where they speak it).

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: String },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The server configuration for the certificate chain in `cert` and the key in `key`
/// (PEM files), checked at start so that a bad pair stops the node before it serves.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let read =
        |path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { path: path.display().to_string(), source });
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut read(cert)?.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Read { path: cert.display().to_string(), source })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: cert.display().to_string() });
    }
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut read(key)?.as_slice())
        .map_err(|source| TlsError::Read { path: key.display().to_string(), source })?
        .ok_or_else(|| TlsError::NoKey { path: key.display().to_string() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let err = server_config(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }) && err.to_string().contains("cert.pem"), "{err}");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "").unwrap();
        let err = server_config(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        let fake = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        std::fs::write(&cert, fake).unwrap();
        let err = server_config(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::NoKey { .. }) && err.to_string().contains("key.pem"), "{err}");
    }
}
