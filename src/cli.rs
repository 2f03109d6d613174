//! The subcommands: serve (default), migrate, seed, token, schema, sweep.
use std::process::ExitCode;

use anyhow::Context;

use crate::app::{self, RunningServer, Services};
use crate::auth::TokenKeys;
use crate::config::{Cli, Command, Config};
use crate::{db, seed, telemetry};

pub fn main(cli: Cli) -> ExitCode {
    let command = cli.command.clone().unwrap_or(Command::Serve);
    if let Command::Schema = command {
        print!("{}", crate::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    telemetry::init(cli.config.log_format, &cli.config.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.config, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(config: Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let url = config.database_url();
            if db::is_sqlite(&url) {
                std::fs::create_dir_all(&config.data_dir)?;
            }
            let conn = db::connect(&url, 2).await?;
            db::migrate(&conn).await?;
            println!("migrated {}", app::redact(&url));
            Ok(())
        }
        Command::Seed => {
            let mut config = config;
            config.seed_demo = false;
            let (services, _) = app::prepare(&config).await?;
            if app::seed_demo(&services, config.seed_customers).await? {
                println!("demo data written");
            } else {
                println!("the database already holds data; nothing written");
            }
            Ok(())
        }
        Command::Token { user, hours } => {
            let (services, _) = app::prepare(&config).await?;
            let found = crate::store::directory::user_by_email(&services.db, &user)
                .await?
                .with_context(|| format!("no user with email {user}"))?;
            println!("{}", services.keys.mint(found.id, found.tenant_id, hours)?);
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::SendMail { until_empty } => send_mail(config, until_empty).await,
        Command::Sweep => {
            let mut config = config;
            config.seed_demo = false;
            let (services, _) = app::prepare(&config).await?;
            let deps = services.deps();
            let started = std::time::Instant::now();
            let expired = crate::service::expiry::expire_due(&deps).await?;
            println!(
                "expired {expired} invitations in {:.3} s",
                started.elapsed().as_secs_f64()
            );
            let started = std::time::Instant::now();
            let reminded = crate::service::expiry::remind_due(&deps).await?;
            println!(
                "reminded {reminded} invitees in {:.3} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// `cosell send-mail`: the outbox worker without the server.
async fn send_mail(config: Config, until_empty: bool) -> anyhow::Result<()> {
    use crate::email::worker;
    let mut config = config;
    config.seed_demo = false;
    let (services, _) = app::prepare(&config).await?;
    if !until_empty {
        let task = worker::spawn(
            services.writer.clone(),
            services.clock.clone(),
            services.mail.clone(),
            services.stop.subscribe(),
        )?;
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        // The worker finishes its round, then stops.
        let _ = services.stop.send(true);
        task.await?;
        return Ok(());
    }
    let started = std::time::Instant::now();
    let done = worker::drain(&services.writer, &services.clock, &services.mail).await?;
    let secs = started.elapsed().as_secs_f64();
    let attempts = done.sent + done.retried + done.failed;
    println!(
        "sent {} retried {} failed {} in {secs:.3} s: {:.0} emails/s",
        done.sent,
        done.retried,
        done.failed,
        attempts as f64 / secs.max(1e-9)
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let (services, seeded) = app::prepare(&config).await?;
    let server = app::serve(config, services).await?;
    println!("{}", banner(server.addr, &server.services, seeded).await?);
    println!("GraphiQL: http://{}/graphql", server.addr);
    shutdown_on_signal(server).await
}

/// The demo users and a ready token for each, with GraphiQL links that carry the token
/// in the fragment (never sent to the server, so never logged).
async fn banner(
    addr: std::net::SocketAddr,
    services: &Services,
    seeded: bool,
) -> anyhow::Result<String> {
    let users = seed::demo_users(&services.db).await?;
    let mut out = String::new();
    if seeded {
        out.push_str("Demo data written.\n");
    }
    if users.is_empty() {
        return Ok(out);
    }
    out.push_str("Demo users (token valid 30 days; open the link to use it in GraphiQL):\n");
    let base = format!("http://{addr}");
    for (user, org) in users {
        let Ok(token) = mint(&services.keys, &user) else {
            out.push_str("  (tokens are verified with an external key: mint them there)\n");
            break;
        };
        out.push_str(&format!(
            "\n  {} <{}>  {}  [{}]\n  {}/graphql#token={}\n",
            user.name, user.email, org, user.roles, base, token
        ));
    }
    Ok(out)
}

fn mint(keys: &TokenKeys, user: &entity::users::Model) -> anyhow::Result<String> {
    keys.mint(user.id, user.tenant_id, 24 * 30)
}

async fn shutdown_on_signal(server: RunningServer) -> anyhow::Result<()> {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await?;
    tracing::info!("shutting down");
    server.shutdown().await
}
