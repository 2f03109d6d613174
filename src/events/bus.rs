//! The in-process event bus. One pump per instance reads the log after the last number
//! it published and broadcasts in order; it wakes on local commits, on PostgreSQL
//! `NOTIFY` (commits of other instances) and on a slow tick, so the log stays the truth
//! and a lost wake-up only delays delivery.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use super::log::{LoggedEvent, head, read_after};

/// The channel PostgreSQL notifications use.
pub const CHANNEL: &str = "cosell_events";
/// Events per log read.
pub const PAGE: u64 = 500;

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<LoggedEvent>>,
    wake: Arc<Notify>,
    published: Arc<AtomicI64>,
}

impl EventBus {
    /// A bus whose subscribers may fall `capacity` events behind before they lag (and
    /// then catch up from the log).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        EventBus {
            tx,
            wake: Arc::new(Notify::new()),
            published: Arc::new(AtomicI64::new(0)),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LoggedEvent>> {
        self.tx.subscribe()
    }

    /// Tells the pump that events were committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The newest number the pump has broadcast.
    pub fn published(&self) -> i64 {
        self.published.load(Ordering::SeqCst)
    }

    /// How many subscriptions listen.
    pub fn receivers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Starts the pump (and, on PostgreSQL, the listener that wakes it).
    pub fn spawn(
        &self,
        db: DatabaseConnection,
        postgres_url: Option<String>,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        if let Some(url) = postgres_url {
            tokio::spawn(listen(url, self.wake.clone(), stop.clone()));
        }
        let bus = self.clone();
        tokio::spawn(async move {
            let mut last = match head(&db).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "event pump: reading the log head");
                    0
                }
            };
            bus.published.store(last, Ordering::SeqCst);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = bus.wake.notified() => {},
                    _ = tick.tick() => {},
                    _ = stop.changed() => return,
                }
                loop {
                    match read_after(&db, last, PAGE).await {
                        Ok(rows) => {
                            let n = rows.len();
                            tracing::debug!(after = last, read = n, "event pump");
                            for ev in rows {
                                last = ev.seq();
                                // No receiver is fine: nobody listens right now.
                                let _ = bus.tx.send(Arc::new(ev));
                            }
                            bus.published.store(last, Ordering::SeqCst);
                            metrics::counter!("cosell_events_published_total").increment(n as u64);
                            if (n as u64) < PAGE {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "event pump: reading the log");
                            break;
                        }
                    }
                }
            }
        })
    }
}

/// Forwards PostgreSQL notifications to the pump, reconnecting after failures.
async fn listen(url: String, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        match PgListener::connect(&url).await {
            Ok(mut l) => {
                if let Err(e) = l.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "event listener: LISTEN failed");
                } else {
                    loop {
                        tokio::select! {
                            n = l.recv() => match n {
                                Ok(_) => wake.notify_one(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "event listener: connection lost");
                                    break;
                                }
                            },
                            _ = stop.changed() => return,
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "event listener: connecting"),
        }
        // The log is the truth: the pump's tick covers the time without a listener.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {},
            _ = stop.changed() => return,
        }
    }
}
