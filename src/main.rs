//! The `certflow` command: serve, migrate, validate, graph, user add, audit verify, bench.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use certflow::config::Settings;
use certflow::domain::definition::diagram;
use certflow::domain::role::Role;
use certflow::domain::text::Lang;
use certflow::engine::{NewUser, RoleGrant, SystemClock, load_definitions};
use certflow::startup::{Application, build_engine, connect};

/// certflow: a workflow and approval engine for government certification and subsidy programmes.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (settings from CERTFLOW_* variables; see the README).
    Serve {
        /// Seeds demo users, enterprises and applications, and prints the logins.
        #[arg(long)]
        demo: bool,
        /// Listen address (overrides CERTFLOW_BIND).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Creates or updates the database schema and exits.
    Migrate,
    /// Validates the definitions folder; prints every error as file:line:column and exits non-zero.
    Validate {
        /// The folder (default: CERTFLOW_WORKFLOWS or `workflows`).
        dir: Option<PathBuf>,
    },
    /// Draws a workflow as SVG (default) or Mermaid text.
    Graph {
        key: String,
        #[arg(long, default_value = "svg", value_parser = ["svg", "mermaid"])]
        format: String,
        /// Labels in English instead of Chinese.
        #[arg(long)]
        en: bool,
    },
    /// Manages users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Audit log checks.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Measures full application lifecycles against bare database transactions.
    Bench(certflow::bench::BenchArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user, e.g. `certflow user add --email a@b.cn --name A --password … --role reviewer:jingkou`.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "CERTFLOW_NEW_USER_PASSWORD")]
        password: String,
        /// A role, optionally with its jurisdiction: `admin`, `reviewer:city`, `enterprise`. Repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The enterprise of an `enterprise` user.
        #[arg(long)]
        enterprise: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks every application's hash chain; exits non-zero on the first broken entry.
    Verify,
}

fn settings() -> anyhow::Result<Settings> {
    Settings::from_env().map_err(|e| anyhow::anyhow!(e))
}

/// Runs one command. One arm per subcommand, each a few calls: the length is the command line's.
async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { demo, bind } => {
            let mut s = settings()?;
            if let Some(b) = bind {
                s.bind = b;
            }
            let app = Application::build(s.clone(), Arc::new(SystemClock)).await?;
            if demo {
                let logins =
                    certflow::demo::seed(&app.engine).await.map_err(|e| anyhow::anyhow!("seeding demo data: {e}"))?;
                println!("Demo logins (password for all: {}):", certflow::demo::PASSWORD);
                for (email, what) in logins {
                    println!("  {email:<32} {what}");
                }
            }
            println!("certflow listening on http://127.0.0.1:{}", app.port());
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let s = settings()?;
            connect(&s.database_url).await?;
            println!("database schema is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { dir } => {
            let s = settings()?;
            let dir = dir.unwrap_or(s.workflows);
            match load_definitions(&dir, &s.templates) {
                Ok(defs) => {
                    for w in &defs.warnings {
                        eprintln!("warning: {w}");
                    }
                    let n = defs.catalogue.all().count();
                    println!("{}: {n} workflow definition(s) valid", dir.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    eprintln!("{} error(s)", errors.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Graph { key, format, en } => {
            let s = settings()?;
            let defs = load_definitions(&s.workflows, &s.templates)
                .map_err(|e| anyhow::anyhow!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
            let def = defs.catalogue.latest(&key).ok_or_else(|| anyhow::anyhow!("no workflow `{key}`"))?;
            let lang = if en { Lang::En } else { Lang::Zh };
            print!(
                "{}",
                if format == "mermaid" {
                    diagram::mermaid(def, lang)
                } else {
                    certflow::draw::diagram::diagram(def, lang).svg
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command: UserCommand::Add { email, name, password, roles, enterprise } } => {
            let mut s = settings()?;
            s.run_scheduler = false;
            let engine = build_engine(&s, Arc::new(SystemClock)).await?;
            let mut grants = Vec::new();
            for r in roles {
                let (role, j) = r.split_once(':').map_or((r.as_str(), None), |(a, b)| (a, Some(b.to_string())));
                let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
                grants.push(RoleGrant { role, jurisdiction: j });
            }
            let u = engine
                .create_user_unchecked(NewUser {
                    email,
                    password,
                    name,
                    roles: grants,
                    enterprise_id: enterprise,
                    lang: None,
                })
                .await
                .map_err(|e| anyhow::anyhow!("{}", serde_json::to_string(&e.problem(Lang::En)).unwrap_or_default()))?;
            println!("created user {} ({})", u.email, u.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let s = settings()?;
            let engine = build_engine(&s, Arc::new(SystemClock)).await?;
            let report = engine.verify_audit().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Bench(args) => {
            certflow::bench::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CERTFLOW_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
