//! Connecting to the database (SQLite or PostgreSQL, chosen by the URL alone), migrating
//! it, and opening write transactions the right way for each.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// Opens a pool on `url`. SQLite files are created when missing and run in WAL mode with
/// a busy timeout, so readers never wait for the writer and writers queue.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_counted(url, max_connections, Arc::default()).await
}

/// How many WAL pages a SQLite commit may leave before it checkpoints them itself: a
/// safety net that bounds the WAL file (1 GB at 4 KB pages), since
/// [`spawn_checkpointer`] copies the pages back much sooner.
///
/// The WAL only starts again from its beginning (a *restart*) when a write transaction
/// begins while every frame has been copied back: at rest, soon after a checkpoint, but
/// never under a steady write load, where a frame newer than the last checkpoint is
/// always there. So under load the WAL grows until this threshold, and then the commit
/// that crosses it checkpoints inline, and the next one restarts the WAL, which SQLite
/// fsyncs (three fsyncs, 40–70 ms on these machines, while every queued writer waits).
/// At 16,384 pages (64 MB) that happened every ~2 s of a steady mutation load and made
/// most of its latency tail (bench/README.md); SQLite's default of 1,000 pages made it
/// every ~100th commit. Now it is ~20 s of the heaviest load. The file is not cut back
/// at a restart (`journal_size_limit`: truncating a few hundred MB took 200–300 ms
/// inside a commit); [`spawn_checkpointer`] empties it once writes pause.
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 262_144;

/// How long no commit must have come before [`spawn_checkpointer`] empties the WAL file.
pub const WAL_TRUNCATE_AFTER_QUIET: Duration = Duration::from_secs(1);

/// How often the background checkpointer runs on SQLite.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The SQLite writer: one connection, so write transactions queue in the pool instead of
/// failing on the file lock, and commits that leave checkpointing to
/// [`spawn_checkpointer`].
pub async fn connect_sqlite_writer(
    url: &str,
    statements: Arc<AtomicU64>,
) -> Result<DatabaseConnection, DbErr> {
    open(url, 1, statements, Some(WRITER_AUTOCHECKPOINT_PAGES)).await
}

/// Copies the SQLite WAL back into the database file every [`CHECKPOINT_EVERY`], on a
/// connection of `readers` (a passive checkpoint: it never waits for, nor blocks, the
/// writer or a reader), so the writer's commits only append to the WAL. Once no commit
/// has come for [`WAL_TRUNCATE_AFTER_QUIET`], a truncating checkpoint empties the WAL
/// file, giving back the disk a burst of writes took (it holds the write lock for that
/// moment; a write arriving then waits for it). Stops when `stop` turns true; a no-op on
/// PostgreSQL.
pub fn spawn_checkpointer(
    readers: DatabaseConnection,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if readers.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The WAL's last frame as the previous checkpoint saw it, and since when.
        let mut last: Option<(i64, std::time::Instant)> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {},
                _ = stop.changed() => return,
            }
            let passive =
                Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
            let frames = match readers.query_one_raw(passive).await {
                Ok(row) => row.and_then(|r| r.try_get::<i64>("", "log").ok()),
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpoint");
                    None
                }
            };
            let Some(frames) = frames else { continue };
            let now = std::time::Instant::now();
            let since = match last {
                Some((f, at)) if f == frames => at,
                _ => now,
            };
            last = Some((frames, since));
            if frames > 0 && now - since >= WAL_TRUNCATE_AFTER_QUIET {
                match readers
                    .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                    .await
                {
                    Ok(_) => last = None,
                    Err(e) => tracing::warn!(error = %e, "SQLite checkpoint (truncate)"),
                }
            }
        }
    });
}

/// As [`connect`], counting every statement run in `statements` (for metrics, and for
/// the tests that prove nested fields load in batches).
pub async fn connect_counted(
    url: &str,
    max_connections: u32,
    statements: Arc<AtomicU64>,
) -> Result<DatabaseConnection, DbErr> {
    open(url, max_connections, statements, None).await
}

async fn open(
    url: &str,
    max_connections: u32,
    statements: Arc<AtomicU64>,
    autocheckpoint: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        // A ping only for a connection idle long enough to have been dropped, not a
        // round trip before every statement.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("postgres") {
        // Every statement cosell runs is a key lookup or an index walk, prepared once per
        // connection: generic plans skip planning on each execution (PostgreSQL would
        // plan IN lists afresh every time), and page costs for data in memory or on SSD
        // keep the planner on the indexes for small tables (bench/README.md measures
        // both: PostgreSQL's CPU per page 4.1 -> 0.9 ms).
        opts.map_sqlx_postgres_opts(|o| {
            o.options([
                ("plan_cache_mode", "force_generic_plan"),
                ("random_page_cost", "1.1"),
            ])
        });
    }
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_pool_opts(|p| {
            p.after_connect(|conn, _| Box::pin(async move { keep_query_plans(conn).await }))
        });
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            match autocheckpoint {
                Some(pages) => o.pragma("wal_autocheckpoint", pages.to_string()),
                None => o,
            }
        });
    }
    let mut db = Database::connect(opts).await?;
    db.set_metric_callback(move |m| {
        statements.fetch_add(1, Ordering::Relaxed);
        // `--log-filter cosell::sql=debug` shows every statement with its time.
        tracing::debug!(
            target: "cosell::sql",
            elapsed_us = m.elapsed.as_micros() as u64,
            failed = m.failed,
            sql = %m.statement.sql,
        );
    });
    Ok(db)
}

/// Turns on SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) for
/// a new connection, so a prepared statement keeps its plan whatever values are bound.
///
/// Without it SQLite (3.51, as bundled) marks a statement for re-preparing whenever a
/// parameter it looked at while planning is bound anew: every `LIMIT ?` (sea-orm binds the
/// `1` of each `.one()`) and every parameter compared with a partial index's condition.
/// sqlx clears the bindings after each execution, so such a statement was parsed and
/// planned again on every run, its cached copy never reused: 16.5% of cosell's CPU under
/// the SQLite mutation load (bench/README.md). The plans cosell relies on do not need the
/// bound values: the partial indexes' conditions are written as literals in the queries
/// that use them, and no `sqlite_stat4` is kept.
async fn keep_query_plans(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    use libsqlite3_sys::{SQLITE_DBCONFIG_ENABLE_QPSG, SQLITE_OK, sqlite3_db_config};
    use std::ffi::c_int;
    let mut handle = conn.lock_handle().await?;
    let mut now_on: c_int = -1;
    // SAFETY: the handle is locked out of sqlx's worker thread for this call, and this
    // `sqlite3_db_config` verb takes exactly an int and an int pointer (which it writes).
    let rc = unsafe {
        sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            &mut now_on as *mut c_int,
        )
    };
    if rc != SQLITE_OK || now_on != 1 {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("SQLite refused the query planner stability guarantee (code {rc})").into(),
        ));
    }
    Ok(())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Begins a transaction that will write. On SQLite it starts with `BEGIN IMMEDIATE`, so
/// it takes the write lock at once and concurrent writers wait their turn (busy timeout)
/// instead of failing with "database is locked" when they upgrade a read lock.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}
