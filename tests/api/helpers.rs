//! `TestApp`: the real server on a random port with a fresh database, and a GraphQL client.
use std::path::PathBuf;
use std::time::Duration;

use cosell::app::RunningServer;
use cosell::config::Config;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

pub const TEST_SECRET: &str = "test-secret-0123456789abcdef";

/// Polls `probe` every 50 ms until it answers, for at most `patience`.
pub async fn eventually<T>(
    what: &str,
    patience: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + patience;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body on both databases: `db_test!(name, |app| async move { ... })` makes
/// `name::sqlite` and `name::postgres` ([`configured_test!`] with the test configuration
/// as it is).
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::configured_test!($name, |_: &mut cosell::config::Config| {}, |$app| $body);
    };
}

/// A test body on both databases, on a server whose configuration `$tweak` (a
/// `fn(&mut Config)` or a closure) adjusts first:
/// `configured_test!(name, tweak, |app| async move { ... })`.
#[macro_export]
macro_rules! configured_test {
    ($name:ident, $tweak:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::helpers::TestApp) {
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::run_with($crate::helpers::Backend::Sqlite, $tweak, body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::run_with($crate::helpers::Backend::Postgres, $tweak, body).await;
            }
        }
    };
}

/// Starts an app on `backend`, runs `body`, then stops it and drops its database.
pub async fn run<F, Fut>(body: F, backend: Backend)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run_with(backend, |_| {}, body).await;
}

/// As [`run`], with the app's configuration adjusted by `tweak` first.
pub async fn run_with<F, Fut>(backend: Backend, tweak: impl FnOnce(&mut Config), body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(app) = TestApp::spawn_with(backend, tweak).await else {
        return;
    };
    let cleanup = app.cleanup.clone();
    // A failing test's database and folder go too: the panic is held until cleanup ran.
    let outcome =
        futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body(app))).await;
    cleanup.run().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

tokio::task_local! {
    /// The cleanups of the apps a [`guarded`] test spawned itself.
    static SPAWNED: std::cell::RefCell<Vec<Cleanup>>;
}

/// Runs a test that spawns its apps itself (instead of through [`run`]); when it fails,
/// the databases and folders of every app it spawned go too, then the panic goes on. A
/// test that passes cleans up with [`TestApp::finish`].
pub async fn guarded(body: impl std::future::Future<Output = ()>) {
    SPAWNED
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let outcome =
                futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body)).await;
            if let Err(panic) = outcome {
                for cleanup in SPAWNED.with(|s| s.take()) {
                    cleanup.run().await;
                }
                std::panic::resume_unwind(panic);
            }
        })
        .await;
}

/// The PostgreSQL server URL tests create their databases on: `TEST_DATABASE_URL`, or the
/// local default when it answers. `None` means PostgreSQL tests are skipped, which
/// `COSELL_REQUIRE_POSTGRES=1` (set by `.ci/run`) turns into a failure.
async fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let reachable = tokio::time::timeout(Duration::from_secs(3), Database::connect(url.as_str()))
        .await
        .ok()
        .and_then(Result::ok);
    match reachable {
        Some(conn) => {
            let _ = conn.close().await;
            Some(url)
        }
        None => {
            let required = std::env::var("COSELL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "PostgreSQL at {url} is required but does not answer"
            );
            eprintln!("PostgreSQL at {url} does not answer: skipping the PostgreSQL variant");
            None
        }
    }
}

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// What to undo after a test: its PostgreSQL database, or its SQLite folder.
#[derive(Clone)]
pub struct Cleanup {
    pg: Option<(String, String)>,
    dir: PathBuf,
    /// The server's stop signal: every background task holds a receiver of it.
    stop: tokio::sync::watch::Sender<bool>,
}

impl Cleanup {
    async fn run(self) {
        // The server stops when its `TestApp` is dropped; its background tasks end after
        // it. Until then they may write into the folder (the outbox's files, a new SQLite
        // connection) and bring it back after it was removed, so wait for the last one.
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.stop.closed()).await;
        if let Some((admin, name)) = self.pg
            && let Ok(conn) = Database::connect(admin.as_str()).await
        {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = conn.close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: DatabaseConnection,
    pub server: RunningServer,
    pub config: Config,
    cleanup: Cleanup,
}

impl TestApp {
    /// A fresh app with the demo data, its configuration adjusted by `tweak` first;
    /// `None` when PostgreSQL is wanted but not there.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let run_id = Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("cosell-test-{run_id}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut config = Config::defaults();
        config.listen = "127.0.0.1:0".parse().expect("address");
        config.data_dir = dir.clone();
        config.jwt_secret = Some(TEST_SECRET.into());
        config.jwt_public_key_file = None;
        config.jwt_jwks_file = None;
        config.jwt_issuer = None;
        config.jwt_audience = None;
        config.seed_demo = true;
        config.seed_customers = 40;
        config.db_max_connections = Some(8);
        // Tests run sweeps themselves (`expire_now`), at the times they choose.
        config.sweep_interval_secs = 0;
        config.mail_poll_ms = 50;
        config.mail_retry_base_ms = 50;
        config.mail_lease_secs = 60;
        // The rate limit has its own test; the others send as fast as they like.
        config.rate_limit_per_minute = 0;
        let mut pg = None;
        config.database_url = Some(match backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
            Backend::Postgres => {
                let admin = postgres_admin_url().await?;
                let name = format!("cosell_test_{run_id}");
                let conn = Database::connect(admin.as_str()).await.expect("postgres");
                conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let url = with_database(&admin, &name);
                pg = Some((admin, name));
                url
            }
        });
        tweak(&mut config);
        let server = cosell::run(config.clone()).await.expect("server starts");
        let cleanup = Cleanup {
            pg,
            dir,
            stop: server.services.stop.clone(),
        };
        let _ = SPAWNED.try_with(|s| s.borrow_mut().push(cleanup.clone()));
        let db = server.services.db.clone();
        Some(TestApp {
            base: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            db,
            server,
            config,
            cleanup,
        })
    }

    /// Stops the server (waiting up to 10 s for it), then drops its database and
    /// folder: for a test that spawned its app itself instead of through [`run`].
    pub async fn finish(self) {
        let TestApp {
            server,
            cleanup,
            db,
            ..
        } = self;
        let _ = tokio::time::timeout(Duration::from_secs(10), server.shutdown()).await;
        let _ = db.close().await;
        cleanup.run().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A token for the demo user with this email, signing in through its own tenant.
    pub async fn token(&self, email: &str) -> String {
        let user = cosell::store::directory::user_by_email(&self.db, email)
            .await
            .expect("db")
            .unwrap_or_else(|| panic!("no demo user {email}"));
        self.server
            .services
            .keys
            .mint(user.id, user.tenant_id, 1)
            .expect("mint")
    }

    /// POSTs a GraphQL request and returns the JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_at(&self.base, token, query, variables).await
    }

    /// As [`TestApp::gql`], to the server at `base` (this app's, or another instance's on
    /// the same database).
    pub async fn gql_at(
        &self,
        base: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut req = self
            .http
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        assert!(resp.status().is_success(), "status {}", resp.status());
        resp.json().await.expect("json body")
    }

    /// As [`TestApp::gql`], with the token of `email`; panics on any top-level error.
    pub async fn gql_as(&self, email: &str, query: &str, variables: Value) -> Value {
        self.gql_as_at(&self.base, email, query, variables).await
    }

    /// As [`TestApp::gql_as`], to the server at `base`.
    pub async fn gql_as_at(&self, base: &str, email: &str, query: &str, variables: Value) -> Value {
        let token = self.token(email).await;
        let v = self.gql_at(base, Some(&token), query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v}");
        v["data"].clone()
    }

    /// The number of rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// The `extensions.code` of the first top-level error.
pub fn error_code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

/// Tables whose rows a refused mutation must leave alone.
pub const TABLES: [&str; 14] = [
    "customers",
    "customer_words",
    "engagements",
    "opportunities",
    "team_members",
    "opportunity_solutions",
    "invitations",
    "favorites",
    "events",
    "event_visibility",
    "idempotency_keys",
    "email_outbox",
    "deal_registrations",
    "users",
];

impl TestApp {
    /// A fingerprint of every table a mutation can write: row counts, and the state of
    /// every opportunity, engagement and invitation. Equal before and after means the
    /// database is unchanged.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in TABLES {
            out.push(format!("{t}={}", self.count(t).await));
        }
        for (table, cols) in [
            (
                "opportunities",
                "id, stage, version, deal_name, value_e4, currency, close_date, notes, crm_id, campaign_id, updated_at",
            ),
            (
                "engagements",
                "id, deal_type, contact_name, contact_phone, contact_email, contact_consent, microsoft_invited_at",
            ),
            ("invitations", "id, status, answered_at"),
            ("team_members", "id, name, phone, email, notify"),
        ] {
            let backend = self.db.get_database_backend();
            // SQLite keeps uuids as blobs: `quote` renders any value as text there.
            let text = cols
                .split(", ")
                .map(|c| match backend {
                    sea_orm::DbBackend::Sqlite => format!("COALESCE(quote({c}), '~')"),
                    _ => format!("COALESCE(CAST({c} AS TEXT), '~')"),
                })
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let rows = self
                .db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT {text} AS line FROM {table} ORDER BY id"),
                ))
                .await
                .expect("snapshot");
            for row in rows {
                let line: String = row.try_get("", "line").expect("line");
                out.push(format!("{table}:{line}"));
            }
        }
        out
    }

    /// SQL statements the server has run for requests so far (its background tasks'
    /// are counted apart).
    pub fn statements(&self) -> u64 {
        self.server
            .services
            .statements
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A second server on the same database (another instance behind the balancer).
    pub async fn second_instance(&self, tweak: impl FnOnce(&mut Config)) -> RunningServer {
        let mut config = self.config.clone();
        config.seed_demo = false;
        tweak(&mut config);
        cosell::run(config).await.expect("second instance starts")
    }

    /// Moves the server's clock forward.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.server.services.clock.advance(by);
    }

    /// Runs the expiry sweep now (at the server's clock).
    pub async fn expire_now(&self) -> usize {
        cosell::service::expiry::expire_due(&self.server.services.deps())
            .await
            .expect("sweep")
    }
}

impl TestApp {
    /// The id of the first co-sell-ready solution `email`'s organization publishes.
    pub async fn own_solution(&self, email: &str) -> serde_json::Value {
        self.gql_as(
            email,
            "{ solutions(kind: OWN, coSellReady: true) { nodes { id } } }",
            json!({}),
        )
        .await["solutions"]["nodes"][0]["id"]
            .clone()
    }

    /// The id of the first customer the picker finds for `search`.
    pub async fn customer_id(&self, email: &str, search: &str) -> serde_json::Value {
        self.gql_as(
            email,
            "query($s: String) { customers(search: $s) { nodes { id } } }",
            json!({ "s": search }),
        )
        .await["customers"]["nodes"][0]["id"]
            .clone()
    }

    /// The id of the first partner the picker finds for `search`, as `email` sees it.
    pub async fn partner_id(&self, email: &str, search: &str) -> serde_json::Value {
        self.gql_as(
            email,
            "query($s: String) { partners(search: $s) { nodes { id } } }",
            json!({ "s": search }),
        )
        .await["partners"]["nodes"][0]["id"]
            .clone()
    }
}
