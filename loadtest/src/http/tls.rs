//! TLS for the generator's connections: one rustls client configuration per run (TLS 1.2 and
//! 1.3, ALPN `http/1.1`, the platform's roots plus `--ca-cert`, or no verification at all with
//! `--insecure`), and how browsers resume sessions: each simulated browser with a resumption
//! cache of its own (as separate browsers are), one cache shared by every user, or none.

use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Tickets (TLS 1.3) or session IDs (TLS 1.2) a resumption cache keeps per server, as rustls's
/// default does.
const TICKETS_PER_SERVER: usize = 8;
/// Sessions the shared cache keeps: rustls keeps up to 8 per server, so this is 32 servers.
const SESSIONS_SHARED: usize = 256;

/// Where resumption tickets are kept.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ResumptionMode {
    /// Each simulated browser has a cache of its own, as separate browsers do: a user resumes
    /// only sessions it began itself.
    #[default]
    PerUser,
    /// One cache for every user of the generator (a lock taken on each handshake): a user may
    /// resume a session another began, which no set of real browsers can.
    Shared,
    /// No resumption: every connection makes a full handshake.
    Off,
}

impl ResumptionMode {
    pub fn name(self) -> &'static str {
        match self {
            ResumptionMode::PerUser => "per-user",
            ResumptionMode::Shared => "shared",
            ResumptionMode::Off => "off",
        }
    }
}

/// How a run's TLS connections are verified and resumed (its flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of CA certificates trusted besides the platform's roots.
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate (handshake signatures are still checked).
    pub insecure: bool,
    pub resumption: ResumptionMode,
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("--ca-cert {path}: {reason}")]
    CaCert { path: String, reason: String },
    #[error("the platform's CA certificates: {0} (give --ca-cert, or --insecure)")]
    Roots(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A run's TLS client configuration, from which each browser takes its own.
#[derive(Debug, Clone)]
pub struct TlsConnector {
    base: Arc<ClientConfig>,
    resumption: ResumptionMode,
}

impl TlsConnector {
    /// Builds the run's configuration: roots loaded once, here.
    pub fn new(options: &TlsOptions) -> Result<TlsConnector, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| TlsError::Config(error.to_string()))?
            .dangerous();
        let builder = if options.insecure {
            builder.with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
        } else {
            let extra = match &options.ca_cert {
                Some(path) => read_ca_certs(path)?,
                None => Vec::new(),
            };
            let verifier =
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
                    .map_err(|error| TlsError::Roots(error.to_string()))?;
            builder.with_custom_certificate_verifier(Arc::new(verifier))
        };
        let mut config = builder.with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.resumption = match options.resumption {
            ResumptionMode::Off => Resumption::disabled(),
            ResumptionMode::Shared => Resumption::in_memory_sessions(SESSIONS_SHARED),
            ResumptionMode::PerUser => Resumption::disabled(),
        };
        Ok(TlsConnector {
            base: Arc::new(config),
            resumption: options.resumption,
        })
    }

    /// The configuration one simulated browser connects with: with a resumption cache of its
    /// own for `servers` servers (per user), or the run's (shared, or none).
    pub fn for_browser(&self, servers: usize) -> BrowserTls {
        let config = match self.resumption {
            ResumptionMode::PerUser => {
                let mut own = ClientConfig::clone(&self.base);
                own.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(
                    servers.max(1) * TICKETS_PER_SERVER,
                )));
                Arc::new(own)
            }
            ResumptionMode::Shared | ResumptionMode::Off => Arc::clone(&self.base),
        };
        BrowserTls(tokio_rustls::TlsConnector::from(config))
    }

    /// A configuration for a one-off connection made outside the load (the check before a
    /// run, the provider's discovery document): no resumption, so nothing it does warms the
    /// run's shared cache.
    pub fn for_check(&self) -> BrowserTls {
        let mut own = ClientConfig::clone(&self.base);
        own.resumption = Resumption::disabled();
        BrowserTls(tokio_rustls::TlsConnector::from(Arc::new(own)))
    }

    pub fn resumption(&self) -> ResumptionMode {
        self.resumption
    }
}

/// One browser's TLS client: the run's configuration, with its own resumption cache or the
/// run's.
#[derive(Clone)]
pub struct BrowserTls(tokio_rustls::TlsConnector);

impl BrowserTls {
    /// The handshake over `tcp` with the server `name`.
    pub async fn connect(
        &self,
        name: ServerName<'static>,
        tcp: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        self.0.connect(name, tcp).await
    }
}

impl std::fmt::Debug for BrowserTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserTls").finish_non_exhaustive()
    }
}

/// One TLS handshake with `origin` (its first address), the error named as rustls gives it:
/// the run's check, before any load, that the certificate is trusted.
pub async fn check(origin: &super::Origin, connector: &TlsConnector) -> Result<(), TlsCheckError> {
    let failed = |reason: String| TlsCheckError {
        url: origin.base.clone(),
        reason,
    };
    let name = server_name(&origin.host).ok_or_else(|| failed("not a valid server name".into()))?;
    let addr = origin.addrs[0];
    let tcp = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .map_err(|_| failed(format!("connecting to {addr} timed out")))?
    .map_err(|error| failed(format!("connecting to {addr}: {error}")))?;
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        connector.for_check().connect(name, tcp),
    )
    .await
    .map_err(|_| failed("the TLS handshake timed out".into()))?
    .map_err(|error| failed(error.to_string()))?;
    Ok(())
}

/// A target whose TLS handshake failed before the run.
#[derive(Debug, thiserror::Error)]
#[error(
    "{url}: TLS handshake failed: {reason} (a private CA: --ca-cert FILE; to skip verification: --insecure)"
)]
pub struct TlsCheckError {
    pub url: String,
    pub reason: String,
}

/// The server name a connection to `host` presents (SNI) and verifies: a DNS name, or an IP
/// address (no SNI is sent for one).
pub fn server_name(host: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).ok()
}

fn read_ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::CaCert {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|failure| error(failure.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|failure| error(failure.to_string()))?;
    if certs.is_empty() {
        return Err(error("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// `--insecure`: any certificate is accepted, for any name; the handshake's signatures are
/// still verified, so the connection is encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
