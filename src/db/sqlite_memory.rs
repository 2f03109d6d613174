//! Where SQLite takes its memory from: mimalloc, as the rest of cosell does, and without
//! SQLite's memory statistics.
//!
//! sqlx copies every column value of every row out of SQLite (`sqlite3_value_dup`), so a
//! page of 50 opportunities with their nested rows makes thousands of SQLite allocations
//! and frees. By default each of them goes to the C library's `malloc` and, to keep the
//! statistics behind `sqlite3_memory_used`, takes one process-wide mutex: at 1 client that
//! was ~9% of the server's CPU samples in glibc's allocator and ~7% in
//! `pthread_mutex_lock`/`unlock` for a SQLite page (bench/README.md, "Seventeenth
//! session's steps"). cosell never reads those statistics nor sets a soft heap limit, the
//! one SQLite feature that needs them.
use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
use libsqlite3_sys::{
    SQLITE_CONFIG_MALLOC, SQLITE_CONFIG_MEMSTATUS, SQLITE_OK, sqlite3_config, sqlite3_mem_methods,
};

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    // SAFETY: SQLite never asks for a negative size; mimalloc aligns to 16 bytes, more
    // than the 8 SQLite needs.
    unsafe { mi_malloc(n.max(0) as usize) }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    // SAFETY: `p` came from `x_malloc` or `x_realloc` (or is null, which mi_free takes).
    unsafe { mi_free(p) }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as for `x_malloc` and `x_free`.
    unsafe { mi_realloc(p, n.max(0) as usize) }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    // SAFETY: `p` is a live allocation of `x_malloc` or `x_realloc`; SQLite's
    // allocations stay far below 2 GiB (its own limit is 1 GB per allocation).
    unsafe { mi_usable_size(p).min(c_int::MAX as usize) as c_int }
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    // What SQLite's own allocator does: a multiple of 8.
    (n.max(0) + 7) & !7
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Sets SQLite's allocator to mimalloc and turns its memory statistics off, once per
/// process and before SQLite's first use (SQLite refuses both settings afterwards). Every
/// SQLite connection cosell opens goes through `db::open`, which calls this first. Gives
/// SQLite's answer: `Err` with its code when it refused (SQLite then keeps its defaults,
/// which are correct, only slower).
pub fn configure() -> Result<(), c_int> {
    static DONE: OnceLock<Result<(), c_int>> = OnceLock::new();
    *DONE.get_or_init(|| {
        let methods = sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: `sqlite3_config` is called before any other SQLite function of this
        // process (see above; it answers SQLITE_MISUSE otherwise, changing nothing), with
        // the argument each verb documents: an int for MEMSTATUS, a pointer to a
        // `sqlite3_mem_methods` for MALLOC (SQLite copies it before returning).
        let rc = unsafe { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if rc != SQLITE_OK {
            return Err(rc);
        }
        let rc =
            unsafe { sqlite3_config(SQLITE_CONFIG_MALLOC, &methods as *const sqlite3_mem_methods) };
        if rc != SQLITE_OK {
            return Err(rc);
        }
        Ok(())
    })
}
