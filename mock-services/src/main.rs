//! `mock-services`: runs ssobench's mock services (IdP, store, forums), and makes a
//! certificate to try them over HTTPS.

use clap::Parser;
use mock_services::dev_cert;
use mock_services::serve::ServeCommand;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(version, about = "ssobench's mock services")]
enum Command {
    /// Serve until Ctrl-C (on loopback by default); prints each service's base URL on its own
    /// line.
    Serve(Box<ServeCommand>),
    /// Write a throwaway CA (ca.pem) and a server certificate it signed (cert.pem, key.pem)
    /// for trying HTTPS on this host: serve --tls-cert cert.pem --tls-key key.pem
    /// --ca-cert ca.pem, and loadtest --ca-cert ca.pem.
    DevCert {
        /// Where the three files go.
        #[arg(long)]
        out: PathBuf,
        /// A name the certificate is for (host name or IP address); repeatable [default:
        /// localhost, 127.0.0.1 to 127.0.0.5, ::1].
        #[arg(long = "name")]
        names: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Every connection is a descriptor: `serve` sizes its --max-connections default from the
    // raised limit.
    let _ = mock_services::limits::raise_open_files();
    match Command::parse() {
        Command::Serve(command) => Ok(command.run().await?),
        Command::DevCert { out, names } => {
            let names = if names.is_empty() {
                dev_cert::DEFAULT_NAMES.map(String::from).to_vec()
            } else {
                names
            };
            let files = dev_cert::write(&out, &names)?;
            println!("ca   {}", files.ca.display());
            println!("cert {}", files.cert.display());
            println!("key  {}", files.key.display());
            Ok(())
        }
    }
}
