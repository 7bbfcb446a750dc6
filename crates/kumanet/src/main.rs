//! `kumanet`: serve, migrate, audit verify, demo, config example.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kumanet::config;

#[derive(Parser)]
#[command(
    name = "kumanet",
    version,
    about = "くまねっと: the secure care-collaboration server of a home-medical-care network"
)]
struct Cli {
    /// Configuration file (default: ./kumanet.toml when present).
    #[arg(long, global = true, env = "KUMANET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (runs migrations first).
    Serve {
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        data_dir: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<String>,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Fill an empty database with a fictional demo region and print its one-time passwords.
    Demo {
        #[arg(long)]
        data_dir: Option<String>,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit 1 and name the first bad row when it is broken.
    Verify {
        #[arg(long)]
        data_dir: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every setting with its documentation and default.
    Example,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Config { command: ConfigCommand::Example } = cli.command {
        print!("{}", config::example());
        return ExitCode::SUCCESS;
    }
    let env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("KUMANET_")).collect();
    let flags: Vec<(&str, Option<String>)> = match &cli.command {
        Command::Serve { listen, data_dir } => vec![("listen", listen.clone()), ("data_dir", data_dir.clone())],
        Command::Migrate { data_dir }
        | Command::Demo { data_dir }
        | Command::Audit { command: AuditCommand::Verify { data_dir } } => {
            vec![("data_dir", data_dir.clone())]
        }
        Command::Config { .. } => vec![],
    };
    let cfg = match config::load(cli.config.as_deref(), &env, &flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kumanet: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cfg.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kumanet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli.command, cfg))
}

async fn run(command: Command, cfg: kumanet::Config) -> ExitCode {
    let result = match command {
        Command::Serve { .. } => kumanet::serve(cfg).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate { .. } => match kumanet::open_store(&cfg).await {
            Ok(store) => {
                println!("migrations are up to date ({})", cfg.database_url.split("://").next().unwrap_or(""));
                store.close().await;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e),
        },
        Command::Audit { command: AuditCommand::Verify { .. } } => verify(&cfg).await,
        Command::Demo { .. } => kumanet::demo::run(&cfg).await.map(|()| ExitCode::SUCCESS),
        Command::Config { .. } => Ok(ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kumanet: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn verify(cfg: &kumanet::Config) -> Result<ExitCode, kumanet::ServerError> {
    if !cfg.audit_key_file.exists() {
        eprintln!("kumanet: the audit key file {} does not exist", cfg.audit_key_file.display());
        return Ok(ExitCode::FAILURE);
    }
    let store = kumanet::open_store(cfg).await?;
    let result = store.audit_verify().await?;
    let store_head = store.audit_head_file();
    store.close().await;
    match result {
        Ok(n) => {
            match store_head {
                Some(h) => println!(
                    "audit log verified: {n} rows, chain intact, its head agrees with the head file (seq {})",
                    h.seq
                ),
                None => println!("audit log verified: {n} rows, chain intact (no head file to compare with)"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("audit log BROKEN: first bad row seq={} — {e}", e.seq());
            Ok(ExitCode::FAILURE)
        }
    }
}
