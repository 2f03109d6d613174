//! The outbox worker. It claims due rows with a lease (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so instances never take one row together; a crashed
//! worker's lease runs out and another picks the row up), sends each with a
//! `Message-ID` derived from the row id (a resend after a crash is recognisably the same
//! message), and records the outcome: sent; a passing refusal retried with backoff; a
//! permanent refusal, or too many attempts, failed (visible to admins).
//!
//! Throughput: a claimed batch is sent `concurrency` at a time, each send on its own
//! kept-open SMTP connection ([`SmtpPool`]), and its outcomes are recorded in one
//! transaction, the sent rows with one set-based UPDATE. A send starts only while the
//! lease has `send_timeout` left (and is cut off at that timeout), so a big batch never
//! outlives its lease: the rows it could not start in time are released, not sent late
//! while another instance may have claimed them.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::email_outbox;
use futures_util::stream::{self, StreamExt};
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter,
};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::db::begin_write;
use crate::store::Sql;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    /// Plain SMTP (a local relay or a test sink).
    None,
    /// Plain, then upgraded with STARTTLS.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// An SMTP server.
#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// The worker's settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: write `.eml` files into `out_dir`.
    pub smtp: Option<Smtp>,
    pub out_dir: PathBuf,
    pub from: Mailbox,
    /// The right-hand side of every `Message-ID`.
    pub domain: String,
    /// The front end's base URL, for the links of emails rendered at delivery.
    pub frontend_url: String,
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub lease: Duration,
    pub poll: Duration,
    /// Rows claimed at once.
    pub batch: i64,
    /// Sends in flight at once (each on its own SMTP connection).
    pub concurrency: usize,
    /// Longest a send may take (connecting included); it starts only while its lease
    /// has at least this long left.
    pub send_timeout: Duration,
}

enum Transport {
    Smtp(SmtpPool),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// A delivery's outcome.
enum Outcome {
    Sent,
    Transient(String),
    Permanent(String),
    /// Not tried: the lease would have run out during the send; released for the next
    /// round (or another instance).
    Unsent,
}

impl Transport {
    fn new(s: &MailSettings) -> anyhow::Result<Self> {
        Ok(match &s.smtp {
            None => {
                std::fs::create_dir_all(&s.out_dir)?;
                Transport::File(AsyncFileTransport::<Tokio1Executor>::new(&s.out_dir))
            }
            Some(smtp) => Transport::Smtp(SmtpPool::new(smtp)?),
        })
    }

    async fn send(&self, m: Message) -> Outcome {
        match self {
            Transport::Smtp(pool) => pool.send(m.envelope(), &m.formatted()).await,
            Transport::File(t) => match t.send(m).await {
                Ok(_) => Outcome::Sent,
                Err(e) => Outcome::Transient(e.to_string()),
            },
        }
    }
}

/// A pooled connection may have been closed by the server while it waited; one idle
/// longer than this is checked with `NOOP` before it is used again.
const CHECK_AFTER: Duration = Duration::from_secs(2);
/// Idle connections are closed (`QUIT`) after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting (TCP, greeting, EHLO, STARTTLS, AUTH) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The worker's SMTP connections: lettre's `AsyncSmtpConnection`, kept between sends,
/// one per send in flight (the concurrency setting bounds them).
///
/// Not lettre's `AsyncSmtpTransport` pool: lettre 0.11.23 leaves Nagle's algorithm on
/// and writes a message's body and its final `.` in two writes, so every message waited
/// for the relay's delayed ACK (40 ms on Linux: 23 emails/s on one connection). Here the
/// TCP socket is opened with `TCP_NODELAY` and handed to lettre
/// (`connect_with_transport`, then STARTTLS and AUTH as lettre's transport does them).
/// The pool also skips the `NOOP` lettre sends before every reuse, unless the
/// connection sat idle (see [`CHECK_AFTER`]). Implicit TLS (SMTPS) keeps lettre's own
/// connect, which has no way to set the option.
struct SmtpPool {
    server: Smtp,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl SmtpPool {
    fn new(server: &Smtp) -> anyhow::Result<Self> {
        let tls = match server.tls {
            TlsMode::None => None,
            TlsMode::Starttls | TlsMode::Tls => Some(TlsParameters::new(server.host.clone())?),
        };
        let credentials = match (&server.username, &server.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.clone())),
            _ => None,
        };
        Ok(SmtpPool {
            server: server.clone(),
            tls,
            credentials,
            hello: ClientId::default(),
            idle: std::sync::Mutex::default(),
        })
    }

    /// The idle connections. A panic while the lock was held leaves the list intact
    /// (each push and pop completes or never starts), so a poisoned lock is taken as is
    /// rather than stopping delivery.
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn send(&self, envelope: &Envelope, email: &[u8]) -> Outcome {
        let mut conn = match self.take().await {
            Ok(c) => c,
            // The relay could not be reached or refused the session: nothing is known
            // about this message, so it is retried whatever the reply.
            Err(e) => return Outcome::Transient(format!("connecting: {e}")),
        };
        let result = conn.send(envelope, email).await;
        // lettre closes the connection after a refusal; a working one goes back.
        if !conn.has_broken() {
            self.idle().push((conn, Instant::now()));
        }
        match result {
            Ok(_) => Outcome::Sent,
            Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
            Err(e) => Outcome::Transient(e.to_string()),
        }
    }

    /// An idle connection (checked if it waited long), or a new one.
    async fn take(&self) -> anyhow::Result<AsyncSmtpConnection> {
        loop {
            let parked = self.idle().pop();
            let Some((mut conn, since)) = parked else {
                return tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
                    .await
                    .map_err(|_| anyhow::anyhow!("timed out"))?;
            };
            if since.elapsed() < CHECK_AFTER || conn.test_connected().await {
                return Ok(conn);
            }
            conn.abort().await;
        }
    }

    async fn connect(&self) -> anyhow::Result<AsyncSmtpConnection> {
        let s = &self.server;
        let mut conn = if s.tls == TlsMode::Tls {
            AsyncSmtpConnection::connect_tokio1(
                (s.host.as_str(), s.port),
                Some(CONNECT_TIMEOUT),
                &self.hello,
                self.tls.clone(),
                None,
            )
            .await?
        } else {
            let tcp = TcpStream::connect((s.host.as_str(), s.port)).await?;
            tcp.set_nodelay(true)?;
            let stream: Box<dyn AsyncTokioStream> = Box::new(tcp);
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
            if let Some(tls) = &self.tls {
                conn.starttls(tls.clone(), &self.hello).await?;
            }
            conn
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(conn)
    }

    /// Closes (`QUIT`) the connections idle at least `after`.
    async fn close_idle(&self, after: Duration) {
        let stale: Vec<AsyncSmtpConnection> = {
            let mut idle = self.idle();
            let (stale, keep) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|(_, since)| since.elapsed() >= after);
            *idle = keep;
            stale.into_iter().map(|(c, _)| c).collect()
        };
        for mut conn in stale {
            conn.abort().await;
        }
    }
}

/// Starts the worker; it stops after its current batch when `stop` turns true.
pub fn spawn(
    db: DatabaseConnection,
    clock: Clock,
    settings: MailSettings,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let mut worker = Worker::new(db, clock, settings)?;
    Ok(tokio::spawn(async move {
        loop {
            loop {
                match worker.deliver_due().await {
                    // More may be due (or a round was cut short by its lease).
                    Ok(r) if r.claimed > 0 && !*stop.borrow() => {
                        continue;
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox: delivery round failed");
                        break;
                    }
                }
            }
            worker.close_idle(IDLE_TIMEOUT).await;
            tokio::select! {
                _ = tokio::time::sleep(worker.settings.poll) => {},
                _ = stop.changed() => {
                    worker.close_idle(Duration::ZERO).await;
                    return;
                }
            }
        }
    }))
}

/// What delivery rounds did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Rows claimed.
    pub claimed: u64,
    pub sent: u64,
    /// Passing refusals, to be retried.
    pub retried: u64,
    /// Refused for good (or out of attempts).
    pub failed: u64,
}

impl std::ops::AddAssign for Delivered {
    fn add_assign(&mut self, o: Self) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
    }
}

/// Delivers every due email, round after round, until a round finds none due (emails
/// waiting for a retry later are left for the running worker). For `cosell send-mail
/// --until-empty`: an operator's drain, and the outbox benchmark.
pub async fn drain(
    db: &DatabaseConnection,
    clock: &Clock,
    settings: &MailSettings,
) -> anyhow::Result<Delivered> {
    let mut worker = Worker::new(db.clone(), clock.clone(), settings.clone())?;
    let mut total = Delivered::default();
    loop {
        let round = worker.deliver_due().await?;
        total += round;
        if round.claimed == 0 {
            worker.close_idle(Duration::ZERO).await;
            return Ok(total);
        }
    }
}

struct Worker {
    db: DatabaseConnection,
    clock: Clock,
    settings: MailSettings,
    transport: Transport,
    /// Rows the next round claims: the configured batch, halved after a round whose
    /// lease ran short (sends left unstarted), grown back slowly after rounds that fit.
    batch: i64,
    /// When the pending gauge was last counted.
    counted: Option<Instant>,
}

impl Worker {
    fn new(db: DatabaseConnection, clock: Clock, settings: MailSettings) -> anyhow::Result<Self> {
        Ok(Worker {
            transport: Transport::new(&settings)?,
            batch: settings.batch.max(1),
            db,
            clock,
            settings,
            counted: None,
        })
    }

    /// Closes the SMTP connections idle at least `after`.
    async fn close_idle(&self, after: Duration) {
        if let Transport::Smtp(pool) = &self.transport {
            pool.close_idle(after).await;
        }
    }

    /// Claims one batch of due rows and delivers them, `concurrency` at a time.
    async fn deliver_due(&mut self) -> anyhow::Result<Delivered> {
        let s = &self.settings;
        let (mut rows, lease_until) = claim(&self.db, &self.clock, s, self.batch).await?;
        let claimed = rows.len() as u64;
        // Emails queued as facts (the sweeps') get their text now; one that cannot be
        // rendered (what it is about is gone) fails for good, as a malformed one does.
        let broken = super::deferred::render_rows(&self.db, &s.frontend_url, &mut rows).await?;
        if self
            .counted
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            let pending = email_outbox::Entity::find()
                .filter(email_outbox::Column::Status.eq("PENDING"))
                .count(&self.db)
                .await?;
            metrics::gauge!("cosell_outbox_pending").set(pending as f64);
            self.counted = Some(Instant::now());
        }
        // A send starts only if it ends (or times out) before the lease does: no other
        // instance can have claimed the row meanwhile.
        let budget = s.send_timeout.min(s.lease / 2);
        let last_start = lease_until - chrono::Duration::from_std(budget)?;
        let (clock, transport, broken) = (&self.clock, &self.transport, &broken);
        let outcomes: Vec<(email_outbox::Model, Outcome)> = stream::iter(rows)
            .map(|row| async move {
                if clock.now() > last_start {
                    return (row, Outcome::Unsent);
                }
                if let Some(why) = broken.get(&row.id) {
                    return (row, Outcome::Permanent(why.clone()));
                }
                let outcome = match message(s, &row) {
                    Ok(m) => tokio::time::timeout(budget, transport.send(m))
                        .await
                        .unwrap_or_else(|_| {
                            Outcome::Transient(format!("no answer within {budget:?}"))
                        }),
                    Err(e) => Outcome::Permanent(e),
                };
                (row, outcome)
            })
            .buffer_unordered(s.concurrency.max(1))
            .collect()
            .await;
        let mut done = record_all(&self.db, &self.clock, s, lease_until, outcomes).await?;
        done.claimed = claimed;
        let attempted = done.sent + done.retried + done.failed;
        if attempted < claimed {
            // The lease ran short of the batch (slow relay or database): smaller
            // rounds, or this would claim and release the same rows forever.
            let floor = (s.concurrency as i64).clamp(1, s.batch.max(1));
            self.batch = (self.batch / 2).max(floor);
            tracing::warn!(
                unsent = claimed - attempted,
                batch = self.batch,
                "outbox: the lease ran out before every send could start; claiming fewer"
            );
        } else if self.batch < s.batch {
            // Back up by a quarter per round that fit, not straight to the size that
            // did not.
            self.batch = (self.batch + self.batch / 4 + 1).min(s.batch);
        }
        Ok(done)
    }
}

/// Records a batch's outcomes in one transaction: the sent rows with one UPDATE (per
/// [`CHUNK`] ids), each refused one with its own (its error and backoff are its own; they
/// are rare), and the unsent ones released.
async fn record_all(
    db: &DatabaseConnection,
    clock: &Clock,
    s: &MailSettings,
    lease_until: DateTime<Utc>,
    outcomes: Vec<(email_outbox::Model, Outcome)>,
) -> anyhow::Result<Delivered> {
    let now = clock.now();
    let mut done = Delivered::default();
    let (mut sent, mut unsent) = (Vec::new(), Vec::new());
    let txn = begin_write(db).await?;
    for (row, outcome) in outcomes {
        match outcome {
            Outcome::Sent => sent.push(row.id),
            Outcome::Unsent => unsent.push(row.id),
            Outcome::Transient(e) => {
                if record_refusal(&txn, now, s, &row, e, false).await? {
                    done.retried += 1;
                } else {
                    done.failed += 1;
                }
            }
            Outcome::Permanent(e) => {
                record_refusal(&txn, now, s, &row, e, true).await?;
                done.failed += 1;
            }
        }
    }
    for ids in sent.chunks(CHUNK) {
        email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::Status, Expr::value("SENT"))
            .col_expr(email_outbox::Column::SentAt, Expr::value(Some(now)))
            .col_expr(
                email_outbox::Column::Attempts,
                sea_orm::sea_query::ExprTrait::add(Expr::col(email_outbox::Column::Attempts), 1),
            )
            .col_expr(
                email_outbox::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(email_outbox::Column::Id.is_in(ids.iter().copied()))
            .filter(still_pending())
            .exec(&txn)
            .await?;
    }
    // Released only while still this worker's (the same lease).
    for ids in unsent.chunks(CHUNK) {
        email_outbox::Entity::update_many()
            .col_expr(
                email_outbox::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(email_outbox::Column::Id.is_in(ids.iter().copied()))
            .filter(still_pending())
            .filter(email_outbox::Column::LeaseUntil.eq(lease_until))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    done.sent = sent.len() as u64;
    for (label, n) in [
        ("sent", done.sent),
        ("retry", done.retried),
        ("failed", done.failed),
    ] {
        if n > 0 {
            metrics::counter!("cosell_emails_total", "outcome" => label).increment(n);
        }
    }
    Ok(done)
}

/// `status = 'PENDING'`, written so that no index can serve it. With a plain
/// `status = ?` next to `id IN (...)`, SQLite (no statistics) picks the
/// `(status, next_attempt_at)` index and reads every pending row to find a batch's ids:
/// each batch cost time in proportion to the whole queue (15 ms for 10 rows of 5,000).
/// This way it looks the ids up by the primary key, as PostgreSQL does anyway.
fn still_pending() -> Expr {
    Expr::cust("status || '' = 'PENDING'")
}

/// Most ids one statement lists.
const CHUNK: usize = 500;

/// Claims up to `batch` due rows; returns them and the end of their lease.
async fn claim(
    db: &DatabaseConnection,
    clock: &Clock,
    s: &MailSettings,
    batch: i64,
) -> anyhow::Result<(Vec<email_outbox::Model>, DateTime<Utc>)> {
    let now = clock.now();
    let lease = now + chrono::Duration::from_std(s.lease)?;
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("UPDATE email_outbox SET lease_until = ")
        .bind(lease)
        .push(" WHERE id IN (SELECT id FROM email_outbox WHERE status = 'PENDING' AND next_attempt_at <= ")
        .bind(now)
        .push(" AND (lease_until IS NULL OR lease_until < ")
        .bind(now)
        .push(") ORDER BY next_attempt_at LIMIT ")
        .bind(batch);
    if backend == DbBackend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") RETURNING *");
    let rows = txn.query_all_raw(sql.build()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(email_outbox::Model::from_query_result(r, "")?);
    }
    txn.commit().await?;
    Ok((out, lease))
}

/// The `Message-ID` of an outbox row.
pub fn message_id(domain: &str, row: &email_outbox::Model) -> String {
    format!("<outbox-{}@{domain}>", row.id)
}

fn message(s: &MailSettings, row: &email_outbox::Model) -> Result<Message, String> {
    let to: Mailbox = format!(
        "{} <{}>",
        row.recipient_name.replace(['<', '>', '"'], ""),
        row.recipient_email
    )
    .parse()
    .or_else(|_| row.recipient_email.parse())
    .map_err(|e| format!("bad recipient {}: {e}", row.recipient_email))?;
    Message::builder()
        .from(s.from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(message_id(&s.domain, row)))
        .multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            row.body_html.clone(),
        ))
        .map_err(|e| e.to_string())
}

/// Records a refusal: retried with backoff while attempts remain, unless `permanent`;
/// otherwise failed. Returns whether it will be retried.
async fn record_refusal(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    s: &MailSettings,
    row: &email_outbox::Model,
    error: String,
    permanent: bool,
) -> anyhow::Result<bool> {
    let attempts = row.attempts + 1;
    let retry = !permanent && attempts < s.max_attempts;
    let mut q = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            email_outbox::Column::LastError,
            Expr::value(Some(error.clone())),
        )
        .filter(email_outbox::Column::Id.eq(row.id))
        .filter(email_outbox::Column::Status.eq("PENDING"));
    if retry {
        tracing::info!(id = %row.id, attempts, error = %error, "outbox: will retry");
        let factor = 2u32.saturating_pow((attempts - 1).clamp(0, 16) as u32);
        let wait = (s.retry_base * factor).min(Duration::from_secs(3600));
        q = q.col_expr(
            email_outbox::Column::NextAttemptAt,
            Expr::value(now + chrono::Duration::from_std(wait)?),
        );
    } else {
        tracing::warn!(id = %row.id, attempts, error = %error, "outbox: delivery failed for good");
        q = q.col_expr(email_outbox::Column::Status, Expr::value("FAILED"));
    }
    q.exec(txn).await?;
    Ok(retry)
}
