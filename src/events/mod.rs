//! The event log as a live feed: reading the log, the in-process bus that a pump fills
//! from the log (woken by local commits, PostgreSQL `NOTIFY` from other instances, and a
//! slow tick), and resumable per-subscriber streams with visibility checked per event.
pub mod bus;
pub mod log;
pub mod stream;

pub use bus::EventBus;
pub use log::LoggedEvent;
