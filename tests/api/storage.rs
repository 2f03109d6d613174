//! How cosell keeps its SQLite file: commits only append to the write-ahead log, and a
//! background checkpointer copies it back into the database file.
use std::time::Duration;

use serde_json::json;

use crate::db_test;
use crate::helpers::{Backend, TestApp, eventually};

/// `(mxFrame, nBackfill)` from the WAL index (`<db>-shm`), laid out as SQLite's file
/// format documents it: the last valid frame of the log at byte 16 of the first header
/// copy, the frames already copied back into the database at byte 96 (native byte order).
fn wal_frames(shm: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(shm).expect("read the WAL index");
    let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(96))
}

/// One small write transaction per locale: Uwe's settings changed to it.
async fn commit_settings(app: &TestApp, locales: &[&str]) {
    let q = "mutation($i: UpdateMySettingsInput!) { updateMySettings(input: $i) { userErrors { code } } }";
    for locale in locales {
        let r = app
            .gql_as(
                "uwe@contoso.example",
                q,
                json!({ "i": { "locale": locale } }),
            )
            .await;
        assert_eq!(r["updateMySettings"]["userErrors"], json!([]), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_leave_checkpointing_to_the_background_checkpointer() {
    crate::helpers::run(commits_then_checkpoint, Backend::Sqlite).await;
}

async fn commits_then_checkpoint(app: TestApp) {
    let shm = app.config.data_dir.join("test.db-shm");
    // Each commit appends a few frames: far below the writer's own checkpoint threshold,
    // so only the background checkpointer copies them back.
    commit_settings(&app, &["de-DE", "fr-FR", "en-GB"]).await;
    let (logged, _) = wal_frames(&shm);
    assert!(logged > 0, "the commits went to the write-ahead log");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (logged, copied) = wal_frames(&shm);
        if logged == copied {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log was not copied back: {copied} of {logged} frames"
        );
        tokio::time::sleep(cosell::db::CHECKPOINT_EVERY / 2).await;
    }
}

/// Anna's accepted outbound opportunities in the demo data (id, version, notes).
async fn accepted_outbound(app: &TestApp) -> Vec<serde_json::Value> {
    let list = app
        .gql_as(
            "anna@contoso.example",
            "{ opportunities(view: OUTBOUND, first: 50) { edges { node { id stage version notes } } } }",
            json!({}),
        )
        .await;
    list["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .filter(|n| n["stage"] == "ACCEPTED")
        .collect()
}

/// Sends `updateOpportunity` with `input` as Anna from a task of its own, which yields
/// the response's JSON.
async fn update_in_background(
    app: &TestApp,
    input: serde_json::Value,
) -> tokio::task::JoinHandle<serde_json::Value> {
    let token = app.token("anna@contoso.example").await;
    let (http, url) = (app.http.clone(), app.url("/graphql"));
    let body = json!({
        "query": "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version notes } userErrors { code } } }",
        "variables": { "i": input },
    });
    tokio::spawn(async move {
        http.post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send")
            .json::<serde_json::Value>()
            .await
            .expect("json")
    })
}

/// On SQLite a mutation reads its opportunity before it queues for the one writer
/// connection; a change committed while it waits must still be the one it builds on, as
/// when writes simply went one after another: an edit without `expectedVersion` then
/// succeeds on top of it instead of failing with `CONFLICT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_mutation_queued_behind_a_write_builds_on_it() {
    crate::helpers::run(queued_behind_a_write, Backend::Sqlite).await;
}

async fn queued_behind_a_write(app: TestApp) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let node = accepted_outbound(&app)
        .await
        .into_iter()
        .next()
        .expect("an accepted outbound opportunity in the demo data");
    let gid = node["id"].as_str().expect("id").to_owned();
    let version = node["version"].as_i64().expect("version");
    let (_, id) = cosell::domain::global_id::decode(&gid).expect("global id");

    // Hold the writer with a change of our own, as another mutation would.
    let writer = &app.server.services.writer;
    let held = cosell::db::begin_write(writer).await.expect("writer");
    held.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE opportunities SET notes = 'held', version = version + 1 WHERE id = ?",
        [id.into()],
    ))
    .await
    .expect("held update");

    let waiting = update_in_background(
        &app,
        json!({ "opportunityId": gid, "dealName": "Queued edit" }),
    )
    .await;
    // The mutation has read the row as it was and waits for the writer meanwhile.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "the mutation waited for the writer");
    held.commit().await.expect("commit");

    let r = waiting.await.expect("request");
    let p = &r["data"]["updateOpportunity"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    assert_eq!(p["opportunity"]["version"], version + 2, "{r}");
    assert_eq!(p["opportunity"]["notes"], "held", "{r}");
}

/// A burst of writes may grow the WAL file far, since the writer checkpoints inline only
/// past `WRITER_AUTOCHECKPOINT_PAGES` and SQLite never cuts the file back by itself; once
/// writes pause, the background checkpointer empties it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_wal_file_is_emptied_once_writes_pause() {
    crate::helpers::run(wal_emptied_when_quiet, Backend::Sqlite).await;
}

async fn wal_emptied_when_quiet(app: TestApp) {
    let wal = app.config.data_dir.join("test.db-wal");
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    commit_settings(&app, &["de-DE", "fr-FR", "en-GB", "de-DE"]).await;
    assert!(size() > 0, "the commits grew the WAL file");
    let deadline =
        std::time::Instant::now() + cosell::db::WAL_TRUNCATE_AFTER_QUIET + Duration::from_secs(5);
    while size() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL file still holds {} bytes",
            size()
        );
        tokio::time::sleep(cosell::db::CHECKPOINT_EVERY).await;
    }
}

/// The plan of `SELECT … WHERE stage = ? AND expires_at <= ?` with `RECEIVED` bound, and
/// with it written as a literal, on `db`.
async fn expiry_plans(db: &sea_orm::DatabaseConnection) -> (String, String) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let plan = |sql: &str, values: Vec<sea_orm::Value>| {
        let stmt = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
        async move {
            let rows = db.query_all_raw(stmt).await.expect("explain");
            rows.iter()
                .map(|r| r.try_get::<String>("", "detail").expect("detail"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    let now = chrono::Utc::now().to_rfc3339();
    let bound = plan(
        "EXPLAIN QUERY PLAN SELECT id FROM opportunities WHERE stage = ? AND expires_at <= ?",
        vec!["RECEIVED".into(), now.clone().into()],
    )
    .await;
    let literal = plan(
        "EXPLAIN QUERY PLAN SELECT id FROM opportunities WHERE stage = 'RECEIVED' AND expires_at <= ?",
        vec![now.into()],
    )
    .await;
    (bound, literal)
}

/// Every SQLite connection keeps a prepared statement's plan whatever values are bound
/// (`SQLITE_DBCONFIG_ENABLE_QPSG`). Without it, SQLite re-prepares a statement on each
/// run whose plan looked at a bound value (every `LIMIT ?`, every parameter compared with
/// a partial index's condition), since sqlx rebinds on each run: parsed and planned every
/// time. Seen from SQL: a bound `RECEIVED` no longer picks the partial expiry index,
/// which a literal still does (the queries that need the index write it so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statements_keep_their_plan_whatever_is_bound() {
    crate::helpers::run(plans_ignore_bound_values, Backend::Sqlite).await;
}

async fn plans_ignore_bound_values(app: TestApp) {
    let writer = &app.server.services.writer;
    for (name, db) in [("readers", &app.db), ("writer", writer)] {
        let (bound, literal) = expiry_plans(db).await;
        assert!(
            literal.contains("opportunities_received_expiry"),
            "{name}: a literal stage uses the partial index: {literal}"
        );
        assert!(
            !bound.contains("opportunities_received_expiry"),
            "{name}: the plan depended on the bound value: {bound}"
        );
    }
}

/// On SQLite, write transactions that queue for the one writer commit together: one
/// `COMMIT` for the group, each member's part in a savepoint of it, and a member dropped
/// uncommitted (a refused mutation, a cancelled request) takes back its own writes and
/// nothing of the others'. Every member's `commit` returns once the group's is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queued_writes_commit_together_and_a_dropped_one_writes_nothing() {
    crate::helpers::run(queued_writes_commit_together, Backend::Sqlite).await;
}

async fn queued_writes_commit_together(app: TestApp) {
    use sea_orm::ConnectionTrait;

    let writer = &app.server.services.writer;
    writer
        .execute_unprepared("CREATE TABLE group_probe (n INTEGER NOT NULL)")
        .await
        .expect("probe table");
    // Its own group, never cut short by age: the test decides who queues.
    let writes = cosell::db::Writes::new(writer.clone()).with_max_age(Duration::from_secs(600));
    let (commits, members) = writes.group_stats();

    let first = writes.begin().await.expect("first");
    first
        .execute_unprepared("INSERT INTO group_probe VALUES (0)")
        .await
        .expect("insert 0");
    let queued: Vec<_> = (1..=5)
        .map(|n| {
            let writes = writes.clone();
            tokio::spawn(async move {
                let w = writes.begin().await.expect("begin");
                w.execute_unprepared(&format!("INSERT INTO group_probe VALUES ({n})"))
                    .await
                    .expect("insert");
                if n == 3 {
                    drop(w); // refused: its insert must not survive
                    Ok(())
                } else {
                    w.commit().await
                }
            })
        })
        .collect();
    eventually("the writes queued", Duration::from_secs(10), async || {
        (writes.queued() >= 5).then_some(())
    })
    .await;
    // Nothing is visible before the group commits.
    let visible = |db: sea_orm::DatabaseConnection| async move {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT n FROM group_probe ORDER BY n",
            ))
            .await
            .expect("read");
        rows.iter()
            .map(|r| r.try_get::<i64>("", "n").expect("n"))
            .collect::<Vec<_>>()
    };
    assert_eq!(visible(app.db.clone()).await, Vec::<i64>::new());

    first.commit().await.expect("the group committed");
    for q in queued {
        q.await.expect("task").expect("member committed");
    }
    assert_eq!(visible(app.db.clone()).await, vec![0, 1, 2, 4, 5]);
    let (commits_after, members_after) = writes.group_stats();
    assert_eq!(commits_after - commits, 1, "one commit for the whole queue");
    assert_eq!(members_after - members, 5, "five members kept their writes");
}

/// Through the server: mutations that queue for the writer while it is held all succeed
/// (committed together), each built on the row as it is, and one refused among them
/// (a stale `expectedVersion`) changes nothing while the others keep their changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_mutations_queued_together_keep_their_own_outcome() {
    crate::helpers::run(mutations_queued_together, Backend::Sqlite).await;
}

async fn mutations_queued_together(app: TestApp) {
    let nodes: Vec<serde_json::Value> = accepted_outbound(&app).await.into_iter().take(4).collect();
    assert_eq!(
        nodes.len(),
        4,
        "four accepted outbound opportunities in the demo data"
    );

    let writes = &app.server.services.writes;
    let held = writes.begin().await.expect("hold the writer");
    let mut sent = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        let mut input = json!({ "opportunityId": n["id"], "notes": format!("queued {k}") });
        if k == 2 {
            input["expectedVersion"] = json!(n["version"].as_i64().expect("version") - 1);
        }
        sent.push(update_in_background(&app, input).await);
    }
    // The refused one fails its version check before it queues.
    eventually(
        "the mutations queued",
        Duration::from_secs(10),
        async || (writes.queued() >= 3).then_some(()),
    )
    .await;
    held.commit().await.expect("release the writer");

    for (k, s) in sent.into_iter().enumerate() {
        let r = s.await.expect("request");
        let p = &r["data"]["updateOpportunity"];
        if k == 2 {
            assert_eq!(p["userErrors"][0]["code"], "CONFLICT", "{r}");
        } else {
            assert_eq!(p["userErrors"], json!([]), "{r}");
            assert_eq!(p["opportunity"]["notes"], format!("queued {k}"), "{r}");
            assert_eq!(
                p["opportunity"]["version"],
                nodes[k]["version"].as_i64().unwrap() + 1
            );
        }
    }
    let again = app
        .gql_as(
            "anna@contoso.example",
            "query($id: ID!) { opportunity(id: $id) { version notes } }",
            json!({ "id": nodes[2]["id"] }),
        )
        .await;
    assert_eq!(
        again["opportunity"]["version"], nodes[2]["version"],
        "{again}"
    );
    assert_eq!(again["opportunity"]["notes"], nodes[2]["notes"], "{again}");
}

// A write transaction dropped uncommitted (a refused mutation, a cancelled request) ends
// as soon as its connection goes back to the pool: its row locks do not wait for the
// connection's next statement. sqlx no longer pings every connection it takes back
// (vendor/README.md); it still flushes one with a queued ROLLBACK. The transaction runs on
// a pool opened as cosell opens its own, which nothing else uses (the server's pools serve
// its background work too, whose next statement would flush the connection anyway), and
// the lock is tried from another.
db_test!(
    a_transaction_dropped_uncommitted_releases_its_locks_at_once,
    |app| async move {
        use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};

        let writer = &app.server.services.writer;
        writer
            .execute_unprepared("CREATE TABLE lock_probe (n BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
            .await
            .expect("probe table");
        writer
            .execute_unprepared("INSERT INTO lock_probe VALUES (1, 0)")
            .await
            .expect("probe row");

        let url = app.config.database_url.clone().expect("database url");
        let pool = cosell::db::connect(&url, 2).await.expect("a pool");
        let dropped = cosell::db::begin_write(&pool).await.expect("begin");
        dropped
            .execute_unprepared("UPDATE lock_probe SET v = 1 WHERE n = 1")
            .await
            .expect("lock the row");
        drop(dropped);

        // A lock still held makes this update fail after 2 s instead of waiting on.
        let other = Database::connect(url.as_str()).await.expect("another pool");
        let backend = other.get_database_backend();
        let txn = other.begin().await.expect("begin");
        let wait = match backend {
            sea_orm::DbBackend::Postgres => "SET LOCAL lock_timeout = '2s'",
            _ => "PRAGMA busy_timeout = 2000",
        };
        txn.execute_unprepared(wait).await.expect("lock timeout");
        let before = txn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT v FROM lock_probe WHERE n = 1",
            ))
            .await
            .expect("read")
            .expect("the row")
            .try_get::<i64>("", "v")
            .expect("v");
        assert_eq!(before, 0, "the dropped update was not kept");
        txn.execute_unprepared("UPDATE lock_probe SET v = 2 WHERE n = 1")
            .await
            .expect("the row is free: the dropped transaction ended");
        txn.commit().await.expect("commit");
        other.close().await.expect("close");
        pool.close().await.expect("close");
    }
);

/// SQLite takes its memory from mimalloc and keeps no memory statistics
/// (`src/db/sqlite_memory.rs`): with its defaults every value sqlx copies out of a row
/// went through the C library's `malloc` and a process-wide mutex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_takes_its_memory_from_mimalloc_and_keeps_no_statistics() {
    crate::helpers::run(sqlite_memory, Backend::Sqlite).await;
}

async fn sqlite_memory(app: TestApp) {
    use libmimalloc_sys::mi_is_in_heap_region;
    use libsqlite3_sys::{sqlite3_free, sqlite3_malloc, sqlite3_memory_used};
    // The server has opened its connections and read the demo data: SQLite is in use.
    let r = app
        .gql_as(
            "anna@contoso.example",
            "{ opportunities(view: OUTBOUND, first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(
        r["opportunities"]["totalCount"].as_i64().unwrap_or(0) > 0,
        "{r}"
    );
    assert_eq!(cosell::db::sqlite_memory::configure(), Ok(()));
    // SAFETY: a plain allocation and its release through SQLite's own API.
    let (ours, used) = unsafe {
        let p = sqlite3_malloc(100);
        assert!(!p.is_null());
        let ours = mi_is_in_heap_region(p as *const std::ffi::c_void);
        sqlite3_free(p);
        (ours, sqlite3_memory_used())
    };
    assert!(ours, "SQLite's allocation is not mimalloc's");
    // With statistics on, the connections' caches alone would count megabytes here.
    assert_eq!(used, 0, "SQLite keeps memory statistics");
}

/// Without a configured pool size, both databases get four connections per core the
/// server may use, from 8 to 32 (`db::default_pool_size`; 8 on the 2-core machines the
/// benchmarks ran on, where more made the page's tail and the mutations slower,
/// bench/README.md). Checked on the pools of servers started with no size set; the
/// SQLite writer stays one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_size_a_pool_holds_four_connections_per_core_from_8_to_32() {
    use cosell::config::Config;
    assert_eq!(Config::defaults().db_max_connections, None);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let expected = (cores as u32 * 4).clamp(8, 32);
    assert_eq!(cosell::db::default_pool_size(), expected);
    let unset = |c: &mut Config| c.db_max_connections = None;
    crate::helpers::run_with(Backend::Sqlite, unset, |app: TestApp| async move {
        let services = &app.server.services;
        let readers = services.db.get_sqlite_connection_pool().options();
        let writer = services.writer.get_sqlite_connection_pool().options();
        assert_eq!(readers.get_max_connections(), expected);
        assert_eq!(writer.get_max_connections(), 1);
    })
    .await;
    crate::helpers::run_with(Backend::Postgres, unset, |app: TestApp| async move {
        let pool = app.server.services.db.get_postgres_connection_pool();
        assert_eq!(pool.options().get_max_connections(), expected);
    })
    .await;
}
