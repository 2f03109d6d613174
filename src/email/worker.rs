//! The outbox worker. It claims due rows with a lease (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so instances never take one row together; a crashed
//! worker's lease runs out and another picks the row up), sends each with a
//! `Message-ID` derived from the row id (a resend after a crash is recognisably the same
//! message), and records the outcome: sent; a passing refusal retried with backoff; a
//! permanent refusal, or too many attempts, failed (visible to admins).
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use entity::email_outbox;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter,
};
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
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub lease: Duration,
    pub poll: Duration,
    pub batch: i64,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// A delivery's outcome.
enum Outcome {
    Sent,
    Transient(String),
    Permanent(String),
}

impl Transport {
    fn new(s: &MailSettings) -> anyhow::Result<Self> {
        Ok(match &s.smtp {
            None => {
                std::fs::create_dir_all(&s.out_dir)?;
                Transport::File(AsyncFileTransport::<Tokio1Executor>::new(&s.out_dir))
            }
            Some(smtp) => {
                let mut b = match smtp.tls {
                    TlsMode::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    TlsMode::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                    }
                    TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                }
                .port(smtp.port)
                .timeout(Some(Duration::from_secs(20)));
                if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
                    b = b.credentials(Credentials::new(u.clone(), p.clone()));
                }
                Transport::Smtp(b.build())
            }
        })
    }

    async fn send(&self, m: Message) -> Outcome {
        match self {
            Transport::Smtp(t) => match t.send(m).await {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
                Err(e) => Outcome::Transient(e.to_string()),
            },
            Transport::File(t) => match t.send(m).await {
                Ok(_) => Outcome::Sent,
                Err(e) => Outcome::Transient(e.to_string()),
            },
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
    let transport = Transport::new(&settings)?;
    Ok(tokio::spawn(async move {
        loop {
            loop {
                match deliver_due(&db, &clock, &settings, &transport).await {
                    Ok(r) if r.claimed as i64 >= settings.batch && !*stop.borrow() => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox: delivery round failed");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.poll) => {},
                _ = stop.changed() => return,
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
    let transport = Transport::new(settings)?;
    let mut total = Delivered::default();
    loop {
        let round = deliver_due(db, clock, settings, &transport).await?;
        total += round;
        if round.claimed == 0 {
            return Ok(total);
        }
    }
}

/// Claims one batch of due rows and delivers them.
async fn deliver_due(
    db: &DatabaseConnection,
    clock: &Clock,
    settings: &MailSettings,
    transport: &Transport,
) -> anyhow::Result<Delivered> {
    let rows = claim(db, clock, settings).await?;
    let mut done = Delivered {
        claimed: rows.len() as u64,
        ..Delivered::default()
    };
    let pending = email_outbox::Entity::find()
        .filter(email_outbox::Column::Status.eq("PENDING"))
        .count(db)
        .await?;
    metrics::gauge!("cosell_outbox_pending").set(pending as f64);
    for row in rows {
        let outcome = match message(settings, &row) {
            Ok(m) => transport.send(m).await,
            Err(e) => Outcome::Permanent(e),
        };
        match record(db, clock, settings, &row, outcome).await? {
            "sent" => done.sent += 1,
            "retry" => done.retried += 1,
            _ => done.failed += 1,
        }
    }
    Ok(done)
}

async fn claim(
    db: &DatabaseConnection,
    clock: &Clock,
    s: &MailSettings,
) -> anyhow::Result<Vec<email_outbox::Model>> {
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
        .bind(s.batch);
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
    Ok(out)
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

async fn record(
    db: &DatabaseConnection,
    clock: &Clock,
    s: &MailSettings,
    row: &email_outbox::Model,
    outcome: Outcome,
) -> anyhow::Result<&'static str> {
    let now = clock.now();
    let attempts = row.attempts + 1;
    let mut q = email_outbox::Entity::update_many()
        .col_expr(email_outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(email_outbox::Column::Id.eq(row.id))
        .filter(email_outbox::Column::Status.eq("PENDING"));
    let label = match &outcome {
        Outcome::Sent => "sent",
        Outcome::Transient(_) if attempts < s.max_attempts => "retry",
        _ => "failed",
    };
    metrics::counter!("cosell_emails_total", "outcome" => label).increment(1);
    match outcome {
        Outcome::Sent => {
            q = q
                .col_expr(email_outbox::Column::Status, Expr::value("SENT"))
                .col_expr(email_outbox::Column::SentAt, Expr::value(Some(now)));
        }
        Outcome::Transient(e) if attempts < s.max_attempts => {
            tracing::info!(id = %row.id, attempts, error = %e, "outbox: will retry");
            let factor = 2u32.saturating_pow((attempts - 1).clamp(0, 16) as u32);
            let wait = (s.retry_base * factor).min(Duration::from_secs(3600));
            q = q
                .col_expr(
                    email_outbox::Column::NextAttemptAt,
                    Expr::value(now + chrono::Duration::from_std(wait)?),
                )
                .col_expr(email_outbox::Column::LastError, Expr::value(Some(e)));
        }
        Outcome::Transient(e) | Outcome::Permanent(e) => {
            tracing::warn!(id = %row.id, attempts, error = %e, "outbox: delivery failed for good");
            q = q
                .col_expr(email_outbox::Column::Status, Expr::value("FAILED"))
                .col_expr(email_outbox::Column::LastError, Expr::value(Some(e)));
        }
    }
    q.exec(db).await?;
    Ok(label)
}
