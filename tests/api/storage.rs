//! How cosell keeps its SQLite file: commits only append to the write-ahead log, and a
//! background checkpointer copies it back into the database file.
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, TestApp};

/// `(mxFrame, nBackfill)` from the WAL index (`<db>-shm`), laid out as SQLite's file
/// format documents it: the last valid frame of the log at byte 16 of the first header
/// copy, the frames already copied back into the database at byte 96 (native byte order).
fn wal_frames(shm: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(shm).expect("read the WAL index");
    let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(96))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_leave_checkpointing_to_the_background_checkpointer() {
    crate::helpers::run(commits_then_checkpoint, Backend::Sqlite).await;
}

async fn commits_then_checkpoint(app: TestApp) {
    let shm = app.config.data_dir.join("test.db-shm");
    let q = "mutation($i: UpdateMySettingsInput!) { updateMySettings(input: $i) { userErrors { code } } }";
    // Each commit appends a few frames: far below the writer's own checkpoint threshold,
    // so only the background checkpointer copies them back.
    for locale in ["de-DE", "fr-FR", "en-GB"] {
        let r = app
            .gql_as(
                "uwe@contoso.example",
                q,
                json!({ "i": { "locale": locale } }),
            )
            .await;
        assert_eq!(r["updateMySettings"]["userErrors"], json!([]), "{r}");
    }
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
