//! `hero_logic_admin`: resolves its configuration and serves the admin (see the library).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hero_logic_admin::{bind, serve, shutdown_signal, Access, AdminError, AppState};
use hero_logic_api::admin_token;
use hero_logic_api::service::ServiceConfig;

/// The hero_logic web admin. Flags override the environment, which overrides service.toml.
#[derive(Debug, Parser)]
#[command(name = "hero_logic_admin", version, about)]
struct Args {
    /// Address to listen on [default: admin.listen in service.toml, 127.0.0.1:9820; env HERO_LOGIC_ADMIN_ADDR]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The daemon's JSON-RPC socket [default: hero_logic.sock in the data dir; env HERO_LOGIC_SOCKET]
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Data dir, used to find the default socket and token file [default: ~/.hero_logic; env HERO_LOGIC_HOME]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The access token file, made (mode 0600) on first start [default: admin.token in the data dir; env HERO_LOGIC_ADMIN_TOKEN_FILE]
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // `hero_logic up` pipes our stderr into its own; escape codes would only be noise there.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hero_logic_admin: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), AdminError> {
    let config = ServiceConfig::defaults();
    let data_dir = config.data_dir(args.data_dir.as_deref());
    let socket = config.socket(args.socket.as_deref(), &data_dir);
    let token_file = config.admin_token_file(args.token_file.as_deref(), &data_dir);
    let token = admin_token::ensure(&token_file)?;
    let listen = config.admin_listen(args.listen.as_deref());
    let listener = bind(&listen).await?;
    let bound = listener.local_addr().map_err(AdminError::Serve)?;
    // The bound port, not the requested one, so `--listen 127.0.0.1:0` works too.
    let access = Access::new(token, &token_file, &listen, bound.port());
    // So `hero_logic admin-url` prints this admin's link, whatever --listen it was given.
    if let Err(err) = admin_token::remember_addr(&token_file, access.link_addr()) {
        tracing::warn!("cannot note the admin's address beside {}: {err}", token_file.display());
    }
    tracing::info!(
        "hero_logic_admin listening on http://{bound}/ (daemon socket {}; access token in {}; \
         `hero_logic admin-url` prints the login link)",
        socket.display(),
        token_file.display()
    );
    serve(listener, AppState::new(socket, access), shutdown_signal()).await
}
