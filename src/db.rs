//! Connecting to the database (SQLite or PostgreSQL, chosen by the URL alone), migrating
//! it, and opening write transactions the right way for each.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

pub mod sqlite_memory;

/// Opens a pool on `url`. SQLite files are created when missing and run in WAL mode with
/// a busy timeout, so readers never wait for the writer and writers queue.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_counted(url, max_connections, Arc::default()).await
}

/// The pool's size when none is configured, on either database (the SQLite readers'; its
/// writer is one connection apart): [`pool_size_for_cores`] of the cores this process may
/// use.
pub fn default_pool_size() -> u32 {
    pool_size_for_cores(std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Four connections per core, at least 8 and at most 32: 8 on the 2-core machines the
/// benchmarks ran on (bench/README.md), where 8 did better than 4, 12 and 16 on both
/// databases. Each SQLite connection is a thread of its own that runs its statements on
/// the server's cores, and each PostgreSQL connection a server process on the database's
/// cores: past what the cores can run at once they only add switching and contention.
/// With 8 instead of 16 PostgreSQL connections, mutations at 16 clients ran 24% faster
/// (p99 111 → 49 ms) and the page 5–7% faster; with 8 instead of 16 SQLite readers the
/// page's p99 at 16 clients fell from 33.9 to 26.5 ms. Only the 2-core point is measured;
/// the growth with cores follows PostgreSQL's usual advice of a few connections per core.
pub fn pool_size_for_cores(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(4))
        .unwrap_or(u32::MAX)
        .clamp(8, 32)
}

/// Whether `url` names a SQLite database: the backend is chosen by the URL alone.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres")
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
    if is_postgres(url) {
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
    if is_sqlite(url) {
        if let Err(code) = sqlite_memory::configure() {
            tracing::warn!(
                code,
                "SQLite kept its own allocator (it was in use already)"
            );
        }
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
    db.set_metric_callback(count_into(statements));
    Ok(db)
}

/// Another handle on `db`'s pool whose statements are counted in `statements` instead:
/// the background tasks' (event pump, outbox, sweeps, checkpoints) apart from the
/// requests', so that a request's statements can be counted on a running server.
pub fn counted_as(db: &DatabaseConnection, statements: Arc<AtomicU64>) -> DatabaseConnection {
    let mut db = db.clone();
    db.set_metric_callback(count_into(statements));
    db
}

fn count_into(
    statements: Arc<AtomicU64>,
) -> impl Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static {
    move |m| {
        statements.fetch_add(1, Ordering::Relaxed);
        // `--log-filter cosell::sql=debug` shows every statement with its time.
        tracing::debug!(
            target: "cosell::sql",
            elapsed_us = m.elapsed.as_micros() as u64,
            failed = m.failed,
            sql = %m.statement.sql,
        );
    }
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

/// How many write transactions one SQLite group commit takes at most. Measured against
/// 32 and 4 (bench/README.md): 8 kept the throughput of 32 with a shorter tail.
pub const GROUP_MAX_MEMBERS: usize = 8;

/// How long a SQLite group stays open at most: a transaction that queued behind it
/// then starts the next one.
pub const GROUP_MAX_AGE: Duration = Duration::from_millis(10);

/// How long a member that has done its part waits for its group's commit before
/// committing the group itself (a safety net for a queue that emptied without anyone
/// left to commit, e.g. a waiting request that was cancelled).
pub const GROUP_SETTLE_AFTER: Duration = Duration::from_millis(20);

/// The write transactions of the interactive use cases (the mutations).
///
/// On PostgreSQL each is a transaction of its own. On SQLite one connection writes, and
/// the mutations waiting for it commit together (*group commit*): the first opens a
/// transaction (`BEGIN IMMEDIATE`), each runs inside a savepoint of it, and the group
/// commits once nobody is queued behind the member that just finished (or it holds
/// [`GROUP_MAX_MEMBERS`], or it is [`GROUP_MAX_AGE`] old). A member's `commit` returns
/// only after the group's `COMMIT`, with its outcome; a member that fails or is dropped
/// rolls back to its savepoint and takes nothing of the others with it. One commit
/// writes each page the group changed once (the event counter, the events' last pages,
/// shared index pages), where one commit per mutation wrote them every time
/// (bench/README.md). With one request at a time nobody is queued, so each commits
/// alone, at once.
#[derive(Clone)]
pub struct Writes {
    writer: DatabaseConnection,
    group: Option<Arc<GroupState>>,
    max_age: Duration,
}

struct GroupState {
    open: Arc<tokio::sync::Mutex<Option<OpenGroup>>>,
    /// Transactions waiting for `open`'s lock (not members waiting for their commit).
    waiting: AtomicUsize,
    next_id: AtomicU64,
    commits: AtomicU64,
    members: AtomicU64,
}

type Outcome = Option<Result<(), String>>;

struct OpenGroup {
    id: u64,
    txn: DatabaseTransaction,
    /// Members whose part is done (savepoint released), waiting for the commit.
    members: usize,
    /// When the member finishing then commits the group whoever is queued.
    deadline: Instant,
    done: tokio::sync::watch::Sender<Outcome>,
}

/// Counts a transaction waiting for the group's lock while it waits (also when it is
/// cancelled while waiting).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::AcqRel);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

type GroupGuard = tokio::sync::OwnedMutexGuard<Option<OpenGroup>>;

impl Writes {
    /// Group commits on SQLite, plain transactions on PostgreSQL.
    pub fn new(writer: DatabaseConnection) -> Self {
        let group = (writer.get_database_backend() == DbBackend::Sqlite).then(|| {
            Arc::new(GroupState {
                open: Arc::default(),
                waiting: AtomicUsize::new(0),
                next_id: AtomicU64::new(0),
                commits: AtomicU64::new(0),
                members: AtomicU64::new(0),
            })
        });
        Writes {
            writer,
            group,
            max_age: GROUP_MAX_AGE,
        }
    }

    /// The same, with another [`GROUP_MAX_AGE`] (tests).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Group commits so far and the transactions they committed (SQLite; zeros on
    /// PostgreSQL).
    pub fn group_stats(&self) -> (u64, u64) {
        self.group.as_ref().map_or((0, 0), |g| {
            (
                g.commits.load(Ordering::Acquire),
                g.members.load(Ordering::Acquire),
            )
        })
    }

    /// Transactions queued for the group right now.
    pub fn queued(&self) -> usize {
        self.group
            .as_ref()
            .map_or(0, |g| g.waiting.load(Ordering::Acquire))
    }

    /// Begins a write transaction (on SQLite a member of the open group, or the first
    /// of a new one).
    pub async fn begin(&self) -> Result<Write, DbErr> {
        let Some(state) = &self.group else {
            return Ok(Write {
                txn: begin_write(&self.writer).await?,
                member: None,
            });
        };
        let mut guard = {
            let _queued = Waiting::new(&state.waiting);
            state.open.clone().lock_owned().await
        };
        if guard.is_none() {
            *guard = Some(OpenGroup {
                id: state.next_id.fetch_add(1, Ordering::AcqRel),
                txn: begin_write(&self.writer).await?,
                members: 0,
                deadline: Instant::now() + self.max_age,
                done: tokio::sync::watch::channel(None).0,
            });
        }
        let savepoint = match guard.as_ref() {
            Some(group) => group.txn.begin().await,
            None => unreachable!("the group was opened above"),
        };
        match savepoint {
            Ok(txn) => Ok(Write {
                txn,
                member: Some(Member {
                    state: state.clone(),
                    guard: Some(guard),
                }),
            }),
            Err(e) => {
                settle(state.clone(), guard, true);
                Err(e)
            }
        }
    }
}

/// Ends the open group in the background, still holding its lock until the end: commits
/// it (rolls it back when `keep` is false or no member is left in it), then tells every
/// member the outcome. In a task of its own, so that a cancelled request cannot stop a
/// commit that other requests wait for.
fn settle(state: Arc<GroupState>, mut guard: GroupGuard, keep: bool) {
    let Some(group) = guard.take() else { return };
    tokio::spawn(async move {
        let members = group.members;
        let outcome = if keep && members > 0 {
            let r = group.txn.commit().await;
            if r.is_ok() {
                state.commits.fetch_add(1, Ordering::AcqRel);
                state.members.fetch_add(members as u64, Ordering::AcqRel);
                metrics::counter!("cosell_sqlite_group_commits_total").increment(1);
                metrics::counter!("cosell_sqlite_group_members_total").increment(members as u64);
            }
            r
        } else {
            let r = group.txn.rollback().await;
            if keep {
                r
            } else {
                Err(DbErr::Custom("the group was rolled back".into()))
            }
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, members, "SQLite group commit failed");
        }
        group
            .done
            .send_replace(Some(outcome.map_err(|e| e.to_string())));
        drop(guard);
    });
}

/// One write transaction of [`Writes`]. Dropping it uncommitted rolls it back.
pub struct Write {
    // Declared first, so dropped first: the savepoint is rolled back before the group
    // moves on.
    txn: DatabaseTransaction,
    member: Option<Member>,
}

/// A member's hold on its group while its part runs.
struct Member {
    state: Arc<GroupState>,
    guard: Option<GroupGuard>,
}

impl Drop for Member {
    /// A member dropped before its commit (an error, a cancelled request): its savepoint
    /// is rolled back (the `Write`'s transaction, dropped just before). The group ends
    /// here when nobody is queued to carry it on, and also when no finished member is in
    /// it: then nobody would wait for it either, and a queued request cancelled before
    /// its turn would leave the write lock taken until the next mutation.
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            let empty = guard.as_ref().is_none_or(|g| g.members == 0);
            if empty || self.state.waiting.load(Ordering::Acquire) == 0 {
                settle(self.state.clone(), guard, true);
            } else {
                drop(guard);
            }
        }
    }
}

impl Write {
    /// Commits: on SQLite releases the savepoint, then waits for the group's commit and
    /// returns its outcome.
    pub async fn commit(self) -> Result<(), DbErr> {
        let Write { txn, member } = self;
        let Some(mut member) = member else {
            return txn.commit().await;
        };
        let state = member.state.clone();
        let Some(mut guard) = member.guard.take() else {
            return Err(DbErr::Custom("write transaction without its group".into()));
        };
        if let Err(e) = txn.commit().await {
            // The savepoint may be half released: give the whole group up.
            settle(state, guard, false);
            return Err(e);
        }
        let Some(group) = guard.as_mut() else {
            return Err(DbErr::Custom("write transaction without its group".into()));
        };
        group.members += 1;
        let id = group.id;
        let mut done = group.done.subscribe();
        let last = state.waiting.load(Ordering::Acquire) == 0
            || group.members >= GROUP_MAX_MEMBERS
            || Instant::now() >= group.deadline;
        if last {
            settle(state.clone(), guard, true);
        } else {
            drop(guard);
        }
        loop {
            let waited = match tokio::time::timeout(
                GROUP_SETTLE_AFTER,
                done.wait_for(Option::is_some),
            )
            .await
            {
                Ok(Ok(outcome)) => Some(match outcome.as_ref() {
                    Some(Ok(())) => Ok(()),
                    Some(Err(e)) => Err(DbErr::Custom(e.clone())),
                    None => unreachable!("waited for an outcome"),
                }),
                Ok(Err(_)) => Some(Err(DbErr::Custom("the group commit was lost".into()))),
                Err(_) => None,
            };
            if let Some(outcome) = waited {
                return outcome;
            }
            let guard = state.open.clone().lock_owned().await;
            if guard.as_ref().is_some_and(|g| g.id == id) {
                settle(state.clone(), guard, true);
            }
        }
    }

    /// Rolls back (on SQLite to the savepoint: the rest of the group goes on).
    pub async fn rollback(self) -> Result<(), DbErr> {
        let Write { txn, member } = self;
        let result = txn.rollback().await;
        drop(member);
        result
    }
}

impl std::ops::Deref for Write {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[sea_orm::prelude::async_trait::async_trait]
impl ConnectionTrait for Write {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<sea_orm::ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

#[cfg(test)]
mod tests {
    use super::pool_size_for_cores;

    #[test]
    fn a_pool_holds_four_connections_per_core_from_8_to_32() {
        let sizes: Vec<u32> = [0, 1, 2, 3, 4, 8, 9, 64, usize::MAX]
            .into_iter()
            .map(pool_size_for_cores)
            .collect();
        assert_eq!(sizes, [8, 8, 8, 12, 16, 32, 32, 32, 32]);
    }
}
