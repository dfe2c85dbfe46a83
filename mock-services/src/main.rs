//! `mock-services`: runs ssobench's mock services (IdP, store, forums) on loopback.

use clap::Parser;
use mock_services::serve::{ServeArgs, run};

#[derive(Debug, Parser)]
#[command(version, about = "ssobench's mock services")]
enum Command {
    /// Serve on loopback until Ctrl-C; prints each service's base URL on its own line.
    Serve(ServeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Command::parse() {
        Command::Serve(args) => run(&args).await,
    }
}
