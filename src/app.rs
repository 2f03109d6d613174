//! Builds the state (database, keys, schema) and the router, and runs the server.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::auth::TokenKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::email::worker::MailSettings;
use crate::events::EventBus;
use crate::graphql::{self, AppContext, Limits};
use crate::http::{self, HttpState, WsLimits};
use crate::service::Deps;
use crate::{db, seed};

/// Everything a running server holds.
pub struct Services {
    pub db: DatabaseConnection,
    /// Write transactions (see `Deps::writer`).
    pub writer: DatabaseConnection,
    /// The mutations' write transactions (see `Deps::writes`).
    pub writes: db::Writes,
    /// How many SQL statements have run on `db` and `writer`: the requests' (and the
    /// start's: migrations, demo data).
    pub statements: Arc<AtomicU64>,
    /// `db` and `writer` for the background tasks (event pump, outbox worker, sweeps,
    /// SQLite checkpoints): the same pools, their statements counted apart.
    pub background_db: DatabaseConnection,
    pub background_writer: DatabaseConnection,
    /// How many SQL statements the background tasks have run.
    pub background_statements: Arc<AtomicU64>,
    pub keys: TokenKeys,
    pub clock: Clock,
    pub response_window: chrono::Duration,
    pub bus: EventBus,
    /// Set to `true` to stop the background tasks (pump, sweeps, outbox).
    pub stop: watch::Sender<bool>,
    /// The database URL, for the PostgreSQL listener.
    pub database_url: String,
    pub frontend_url: String,
    pub reminder_before: chrono::Duration,
    pub registration_period: chrono::Duration,
    pub mail: MailSettings,
}

impl Services {
    /// What the use cases need.
    pub fn deps(&self) -> Deps {
        Deps {
            db: self.db.clone(),
            writer: self.writer.clone(),
            writes: self.writes.clone(),
            clock: self.clock.clone(),
            response_window: self.response_window,
            bus: self.bus.clone(),
            frontend_url: self.frontend_url.clone(),
            reminder_before: self.reminder_before,
            registration_period: self.registration_period,
        }
    }

    /// What a background task needs: as [`Services::deps`], on the background handles.
    pub fn background_deps(&self) -> Deps {
        Deps {
            db: self.background_db.clone(),
            writer: self.background_writer.clone(),
            ..self.deps()
        }
    }
}

/// Connects, migrates, and (when configured and the database is empty) fills the demo
/// data. Returns whether demo data was written.
pub async fn prepare(config: &Config) -> anyhow::Result<(Services, bool)> {
    let url = config.database_url();
    if db::is_sqlite(&url) {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data folder {}", config.data_dir.display()))?;
    }
    let statements = Arc::new(AtomicU64::new(0));
    let pool_size = config
        .db_max_connections
        .unwrap_or_else(db::default_pool_size);
    let db = db::connect_counted(&url, pool_size, statements.clone())
        .await
        .with_context(|| format!("connecting to {}", redact(&url)))?;
    db::migrate(&db).await.context("migrating the database")?;
    let writer = if db::is_sqlite(&url) {
        db::connect_sqlite_writer(&url, statements.clone())
            .await
            .context("opening the SQLite writer")?
    } else {
        db.clone()
    };
    let keys = TokenKeys::from_config(config)?;
    let background_statements = Arc::new(AtomicU64::new(0));
    let services = Services {
        background_db: db::counted_as(&db, background_statements.clone()),
        background_writer: db::counted_as(&writer, background_statements.clone()),
        background_statements,
        db,
        writes: db::Writes::new(writer.clone()),
        writer,
        statements,
        keys,
        clock: Clock::default(),
        response_window: chrono::Duration::days(config.response_window_days.max(1)),
        bus: EventBus::new(config.event_buffer),
        stop: watch::channel(false).0,
        database_url: url.clone(),
        frontend_url: config.frontend_url.clone(),
        reminder_before: chrono::Duration::hours(config.reminder_hours.max(0)),
        registration_period: chrono::Duration::days(config.registration_days.max(0)),
        mail: mail_settings(config)?,
    };
    db::spawn_checkpointer(services.background_db.clone(), services.stop.subscribe());
    let seeded = config.seed_demo && seed_demo(&services, config.seed_customers).await?;
    Ok((services, seeded))
}

/// Fills the demo data into an empty database: the directory, then deals through the
/// services. Returns whether anything was written.
pub async fn seed_demo(services: &Services, customers: u32) -> anyhow::Result<bool> {
    if !seed::seed_if_empty(&services.writer, customers).await? {
        return Ok(false);
    }
    crate::seed_deals::seed_deals(&services.deps())
        .await
        .context("writing the demo deals")?;
    Ok(true)
}

/// A server listening in the background.
pub struct RunningServer {
    /// The address it listens on (the real port when the configured one was 0).
    pub addr: SocketAddr,
    pub services: Services,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.await??;
        Ok(())
    }

    /// Waits until the server stops by itself.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.handle.await??;
        Ok(())
    }
}

/// Prepares the services and serves the API on `config.listen` in the background.
pub async fn run(config: Config) -> anyhow::Result<RunningServer> {
    let (services, _) = prepare(&config).await?;
    serve(config, services).await
}

/// Serves the API with services already prepared.
pub async fn serve(config: Config, services: Services) -> anyhow::Result<RunningServer> {
    let _ = crate::telemetry::metrics();
    let ctx = AppContext {
        db: services.db.clone(),
        keys: services.keys.clone(),
        deps: services.deps(),
        bus: services.bus.clone(),
        sign_ins: Default::default(),
        tab_counts: Default::default(),
    };
    let pg_url = db::is_postgres(&services.database_url).then(|| services.database_url.clone());
    let mut tasks = vec![services.bus.spawn(
        services.background_db.clone(),
        pg_url,
        services.stop.subscribe(),
    )];
    if config.mail_worker {
        tasks.push(crate::email::worker::spawn(
            services.background_writer.clone(),
            services.clock.clone(),
            services.mail.clone(),
            services.stop.subscribe(),
        )?);
    }
    if config.sweep_interval_secs > 0 {
        tasks.push(crate::service::expiry::spawn_sweeper(
            services.background_deps(),
            std::time::Duration::from_secs(config.sweep_interval_secs),
            services.stop.subscribe(),
        ));
    }
    let schema = graphql::build_schema(
        Some(ctx.clone()),
        Limits {
            max_depth: config.max_query_depth,
            max_complexity: config.max_query_complexity,
            max_aliases: config.max_aliases,
            max_root_fields: config.max_root_fields,
            production: config.production,
        },
    );
    if config.max_batch > 0
        && config.rate_limit_per_minute > 0
        && config.max_batch > config.rate_limit_burst as usize
    {
        // A batch takes one request per operation from its token's bucket, at once.
        tracing::warn!(
            max_batch = config.max_batch,
            rate_limit_burst = config.rate_limit_burst,
            "batches larger than the rate limit's burst are always refused"
        );
    }
    let state = HttpState {
        schema,
        ctx: std::sync::Arc::new(ctx),
        ws: WsLimits {
            init_timeout: std::time::Duration::from_millis(config.ws_init_timeout_ms),
            max_subscriptions: config.ws_max_subscriptions,
            max_message_bytes: config.ws_max_message_bytes,
        },
        stop: services.stop.subscribe(),
        limiter: http::RateLimiter::new(config.rate_limit_per_minute, config.rate_limit_burst),
        admission: http::admission(config.max_concurrent_requests),
        max_batch: config.max_batch,
    };
    let router = http::router(state, config.max_body_bytes, &config.cors_origins);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let stop = services.stop.clone();
    let handle = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
                // Sockets complete their subscriptions and close; background tasks end.
                let _ = stop.send(true);
            })
            .await;
        // In-flight deliveries and sweeps finish their round before the tasks end.
        for t in tasks {
            let _ = t.await;
        }
        served
    });
    Ok(RunningServer {
        addr,
        services,
        shutdown: Some(tx),
        handle,
    })
}

/// The outbox worker's settings from the configuration.
fn mail_settings(config: &Config) -> anyhow::Result<MailSettings> {
    use crate::email::worker::{Smtp, TlsMode};
    let from: lettre::message::Mailbox = config
        .mail_from
        .parse()
        .with_context(|| format!("COSELL_MAIL_FROM {:?} is not a mailbox", config.mail_from))?;
    let domain = from.email.domain().to_owned();
    let smtp = config.smtp_host.as_ref().map(|host| Smtp {
        host: host.clone(),
        port: config.smtp_port.unwrap_or(match config.smtp_tls {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }),
        tls: config.smtp_tls,
        username: config.smtp_username.clone(),
        password: config.smtp_password.clone(),
    });
    Ok(MailSettings {
        smtp,
        out_dir: config.data_dir.join("outbox"),
        from,
        domain,
        frontend_url: config.frontend_url.clone(),
        max_attempts: config.mail_max_attempts.max(1),
        retry_base: std::time::Duration::from_millis(config.mail_retry_base_ms),
        lease: std::time::Duration::from_secs(config.mail_lease_secs.max(1)),
        poll: std::time::Duration::from_millis(config.mail_poll_ms.max(10)),
        batch: config.mail_batch.max(1),
        concurrency: config.mail_concurrency.max(1),
        send_timeout: std::time::Duration::from_secs(config.mail_send_timeout_secs.max(1)),
    })
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
