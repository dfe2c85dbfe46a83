//! `mock-services`: runs ssobench's mock services on loopback.

use clap::Parser;
use mock_services::cli::BackendArgs;
use mock_services::serve::{IdpArgs, run_idp};

#[derive(Debug, Parser)]
#[command(version, about = "ssobench's mock services")]
enum Command {
    /// Serve on loopback until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Which service this process runs.
    #[arg(long, value_enum, default_value_t = Role::Idp)]
    role: Role,
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    idp: IdpArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Role {
    /// The identity provider.
    Idp,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Command::parse() {
        Command::Serve(args) => match args.role {
            Role::Idp => run_idp(&args.idp, &args.backend).await,
        },
    }
}
