//! `mock-services dev-cert`: a throwaway certificate authority and a server certificate it
//! signed, for trying HTTPS on this host — `serve --tls-cert` takes the certificate and key,
//! and `loadtest --ca-cert` (and `serve --ca-cert`, for the apps' calls to the IdP) the CA.
//! The tests make theirs the same way. Never a certificate for a host that is not yours.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The names a certificate is for when none are given: this host's loopback addresses the
/// stack uses, and `localhost`.
pub const DEFAULT_NAMES: [&str; 7] = [
    "localhost",
    "127.0.0.1",
    "127.0.0.2",
    "127.0.0.3",
    "127.0.0.4",
    "127.0.0.5",
    "::1",
];

/// How long the certificates are valid, from yesterday.
const VALID_DAYS: i64 = 90;

/// The files written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCert {
    /// The CA's certificate (PEM): what clients trust.
    pub ca: PathBuf,
    /// The server's certificate chain (PEM: the leaf, then the CA).
    pub cert: PathBuf,
    /// The server's private key (PEM, PKCS#8).
    pub key: PathBuf,
}

/// Why the certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DevCertError {
    #[error("making the certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir` (created if missing): a new CA and a
/// server certificate it signed for `names` (host names or IP addresses).
pub fn write(dir: &Path, names: &[String]) -> Result<DevCert, DevCertError> {
    let (first, last) = validity();
    let ymd = |date: jiff::civil::Date| {
        rcgen::date_time_ymd(
            i32::from(date.year()),
            u8::try_from(date.month()).unwrap_or(1),
            u8::try_from(date.day()).unwrap_or(1),
        )
    };
    let (not_before, not_after) = (ymd(first), ymd(last));
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ssobench development CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("localhost", String::as_str),
    );
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate()?;
    let leaf = params.signed_by(&key, &issuer)?;

    let files = DevCert {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    // The key is readable by its owner only, as a server's key should be.
    let write = |path: &Path, text: String, mode: u32| {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::create_dir_all(dir)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(mode)
                    .open(path)
            })
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|source| DevCertError::Write {
                path: path.display().to_string(),
                source,
            })
    };
    write(&files.ca, ca.pem(), 0o644)?;
    write(&files.cert, format!("{}{}", leaf.pem(), ca.pem()), 0o644)?;
    write(&files.key, key.serialize_pem(), 0o600)?;
    Ok(files)
}

/// From yesterday (clocks differ a little) for [`VALID_DAYS`].
fn validity() -> (jiff::civil::Date, jiff::civil::Date) {
    let today = jiff::Zoned::now().date();
    let yesterday = today.yesterday().unwrap_or(today);
    let end = today
        .checked_add(jiff::Span::new().days(VALID_DAYS))
        .unwrap_or(today);
    (yesterday, end)
}
