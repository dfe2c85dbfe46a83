//! Serving over HTTPS: the certificate chain and private key as PEM files (as nginx takes
//! them: the chain leaf first, the key PKCS#8, PKCS#1 or SEC1), one rustls server
//! configuration for every service of a process (TLS 1.2 and 1.3, ALPN `http/1.1`, stateless
//! session tickets so that any number of browsers can resume).

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a process's certificate chain and key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsFilesError {
    #[error("--tls-cert {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("--tls-key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("--tls-cert and --tls-key do not go together: {0}")]
    Config(String),
}

impl TlsFiles {
    /// Reads both files and builds the acceptor every service of this process uses.
    pub fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, TlsFilesError> {
        let chain = read_chain(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|error| TlsFilesError::Key {
            path: self.key.display().to_string(),
            reason: error.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| TlsFilesError::Config(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| TlsFilesError::Config(error.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Tickets carry the session themselves: resumption does not depend on a server-side
        // cache that many browsers would overflow.
        config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
            .map_err(|error| TlsFilesError::Config(error.to_string()))?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsFilesError> {
    let failed = |reason: String| TlsFilesError::Cert {
        path: path.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|error| failed(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| failed(error.to_string()))?;
    if chain.is_empty() {
        return Err(failed("no PEM certificate in it".into()));
    }
    Ok(chain)
}
