//! Typed configuration, read once from flags and environment variables (a flag wins over
//! its variable) and passed down; nothing reads the environment after start-up.
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The command line of the `cosell` binary.
#[derive(Debug, Parser)]
#[command(name = "cosell", version, about = "GraphQL API server for co-selling")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does; `serve` when none is given.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Fill the demo data (only into an empty database) and exit.
    Seed,
    /// Print a signed token for a user, for local use.
    Token {
        /// The user's email address.
        #[arg(long)]
        user: String,
        /// Lifetime of the token in hours.
        #[arg(long, default_value_t = 24 * 30)]
        hours: i64,
    },
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Run the outbox worker alone (no HTTP server) until stopped; with `--until-empty`,
    /// deliver every due email, print the totals and emails per second, and exit.
    SendMail {
        /// Exit once no email is due (those waiting for a retry later are left).
        #[arg(long)]
        until_empty: bool,
    },
    /// Run the invitation sweep once: expire every due invitation, then send the due
    /// reminders; print how many and how long each took, and exit.
    Sweep,
}

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Every setting of the server.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "COSELL_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,
    /// Folder for the SQLite file, the generated JWT secret and the `.eml` outbox.
    #[arg(long, env = "COSELL_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://...`; defaults to
    /// `cosell.db` in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Maximum database connections in the pool (the readers' on SQLite, whose one writer
    /// has its own); default four per core, from 8 to 32 (see `db::default_pool_size`).
    #[arg(long, env = "COSELL_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// HS256 secret for tokens; when neither this nor a public key (or JWKS) file is set,
    /// a secret is generated once and kept in the data folder.
    #[arg(long, env = "COSELL_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// PEM file with an RS256 public key of an external identity provider; tokens are then
    /// verified with it and `cosell token` cannot mint any.
    #[arg(long, env = "COSELL_JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,
    /// JSON Web Key Set file (`{"keys": [...]}`) with the RS256 public keys of an external
    /// identity provider; a token is verified with the key its `kid` names (a set of one
    /// key also takes tokens without `kid`). Not together with a public key file; `cosell
    /// token` cannot mint.
    #[arg(long, env = "COSELL_JWT_JWKS_FILE", global = true)]
    pub jwt_jwks_file: Option<PathBuf>,
    /// Expected `iss` claim, checked when set.
    #[arg(long, env = "COSELL_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// Expected `aud` claim, checked when set.
    #[arg(long, env = "COSELL_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// Fill the demo data on start when the database is empty.
    #[arg(long, env = "COSELL_SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub seed_demo: bool,
    /// Number of generated demo customers (besides the named ones).
    #[arg(
        long,
        env = "COSELL_SEED_CUSTOMERS",
        default_value_t = 120,
        global = true
    )]
    pub seed_customers: u32,
    /// Days an invitee has to answer an invitation (Microsoft's decision window too).
    #[arg(
        long,
        env = "COSELL_RESPONSE_WINDOW_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub response_window_days: i64,
    /// Events a live subscriber may fall behind before it catches up from the log.
    #[arg(
        long,
        env = "COSELL_EVENT_BUFFER",
        default_value_t = 1024,
        global = true
    )]
    pub event_buffer: usize,
    /// Milliseconds a WebSocket has to send `connection_init` (then closed with 4408).
    #[arg(
        long,
        env = "COSELL_WS_INIT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub ws_init_timeout_ms: u64,
    /// Subscriptions one WebSocket may hold at once.
    #[arg(
        long,
        env = "COSELL_WS_MAX_SUBSCRIPTIONS",
        default_value_t = 100,
        global = true
    )]
    pub ws_max_subscriptions: usize,
    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, env = "COSELL_WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024, global = true)]
    pub ws_max_message_bytes: usize,
    /// The front end's base URL, for links in emails.
    #[arg(
        long,
        env = "COSELL_FRONTEND_URL",
        default_value = "http://localhost:3000",
        global = true
    )]
    pub frontend_url: String,
    /// SMTP server; without it, emails are written as `.eml` files into `<data-dir>/outbox`.
    #[arg(long, env = "COSELL_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 25 without TLS, 587 with STARTTLS, 465 with TLS).
    #[arg(long, env = "COSELL_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,
    /// SMTP security: none, starttls or tls.
    #[arg(long, env = "COSELL_SMTP_TLS", value_enum, default_value_t = crate::email::worker::TlsMode::Starttls, global = true)]
    pub smtp_tls: crate::email::worker::TlsMode,
    /// SMTP user name.
    #[arg(long, env = "COSELL_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[arg(
        long,
        env = "COSELL_SMTP_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub smtp_password: Option<String>,
    /// Sender of every email.
    #[arg(
        long,
        env = "COSELL_MAIL_FROM",
        default_value = "cosell <no-reply@cosell.localhost>",
        global = true
    )]
    pub mail_from: String,
    /// Delivery attempts before an email is marked failed.
    #[arg(
        long,
        env = "COSELL_MAIL_MAX_ATTEMPTS",
        default_value_t = 8,
        global = true
    )]
    pub mail_max_attempts: i32,
    /// First retry delay in milliseconds; it doubles with each attempt (at most an hour).
    #[arg(
        long,
        env = "COSELL_MAIL_RETRY_BASE_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub mail_retry_base_ms: u64,
    /// How often the outbox worker looks for due emails, in milliseconds.
    #[arg(
        long,
        env = "COSELL_MAIL_POLL_MS",
        default_value_t = 500,
        global = true
    )]
    pub mail_poll_ms: u64,
    /// Seconds a worker holds the emails it claimed; another instance takes them over
    /// after that (a crashed worker's). Longer than a batch can take to send.
    #[arg(
        long,
        env = "COSELL_MAIL_LEASE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub mail_lease_secs: u64,
    /// Emails the outbox worker claims at once (one lease, recorded together).
    #[arg(long, env = "COSELL_MAIL_BATCH", default_value_t = 256, global = true)]
    pub mail_batch: i64,
    /// Emails the outbox worker sends at once, each on its own SMTP connection.
    #[arg(
        long,
        env = "COSELL_MAIL_CONCURRENCY",
        default_value_t = 8,
        global = true
    )]
    pub mail_concurrency: usize,
    /// Seconds one send may take, connecting included; a send starts only while its
    /// lease has at least this long left (at most half the lease is used).
    #[arg(
        long,
        env = "COSELL_MAIL_SEND_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub mail_send_timeout_secs: u64,
    /// Run the outbox worker in this instance.
    #[arg(long, env = "COSELL_MAIL_WORKER", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub mail_worker: bool,
    /// Seconds between expiry sweeps (expire due invitations, send reminders); 0 turns
    /// the sweeper off in this instance.
    #[arg(
        long,
        env = "COSELL_SWEEP_INTERVAL_SECS",
        default_value_t = 60,
        global = true
    )]
    pub sweep_interval_secs: u64,
    /// Hours before an invitation's window ends that its invitee is reminded.
    #[arg(
        long,
        env = "COSELL_REMINDER_HOURS",
        default_value_t = 72,
        global = true
    )]
    pub reminder_hours: i64,
    /// Days after a win during which the deal may be registered.
    #[arg(
        long,
        env = "COSELL_REGISTRATION_DAYS",
        default_value_t = 90,
        global = true
    )]
    pub registration_days: i64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "COSELL_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    /// Deepest accepted query (the standard introspection query needs 13).
    #[arg(
        long,
        env = "COSELL_MAX_QUERY_DEPTH",
        default_value_t = 16,
        global = true
    )]
    pub max_query_depth: usize,
    /// Largest accepted query complexity (one per field, list fields times their page).
    #[arg(
        long,
        env = "COSELL_MAX_QUERY_COMPLEXITY",
        default_value_t = 5000,
        global = true
    )]
    pub max_query_complexity: usize,
    /// Most aliases one document may use (alias floods cost work per alias).
    #[arg(long, env = "COSELL_MAX_ALIASES", default_value_t = 30, global = true)]
    pub max_aliases: usize,
    /// Most root fields one operation may select.
    #[arg(
        long,
        env = "COSELL_MAX_ROOT_FIELDS",
        default_value_t = 20,
        global = true
    )]
    pub max_root_fields: usize,
    /// Most operations one batched request (a JSON array) may hold; 0 turns batches off.
    /// Each operation is checked and rate-limited as a request of its own.
    #[arg(long, env = "COSELL_MAX_BATCH", default_value_t = 0, global = true)]
    pub max_batch: usize,
    /// Production mode: introspection and field suggestions off.
    #[arg(long, env = "COSELL_PRODUCTION", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub production: bool,
    /// Origins allowed to call the API from a browser (comma-separated; `*` for any).
    /// None by default: same-origin pages such as GraphiQL need none.
    #[arg(
        long,
        env = "COSELL_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Requests per minute one token may send on average (0: no limit).
    #[arg(
        long,
        env = "COSELL_RATE_LIMIT_PER_MINUTE",
        default_value_t = 1200,
        global = true
    )]
    pub rate_limit_per_minute: u32,
    /// Queries and mutations run at once over HTTP; more wait their turn, first come
    /// first served (0: no limit). WebSocket operations are not counted.
    #[arg(
        long,
        env = "COSELL_MAX_CONCURRENT_REQUESTS",
        default_value_t = 0,
        global = true
    )]
    pub max_concurrent_requests: usize,
    /// Requests one token may send in a burst.
    #[arg(
        long,
        env = "COSELL_RATE_LIMIT_BURST",
        default_value_t = 200,
        global = true
    )]
    pub rate_limit_burst: u32,
    /// Log format.
    #[arg(long, env = "COSELL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// Log filter in `tracing` syntax.
    #[arg(
        long,
        env = "RUST_LOG",
        default_value = "info,sqlx=warn,sea_orm=warn",
        global = true
    )]
    pub log_filter: String,
}

impl Config {
    /// The database URL in force: the configured one, or the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("cosell.db").display()
            ),
        }
    }

    /// A configuration with every default, for tests and tools.
    pub fn defaults() -> Self {
        Cli::parse_from(["cosell"]).config
    }
}
