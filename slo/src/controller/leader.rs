//! Who evaluates: on PostgreSQL, the holder of the session advisory lock [`LEADER_LOCK_KEY`];
//! on SQLite (one file, one process), always this replica.
//!
//! The lock is held on a connection of its own, detached from the pool, so it lives exactly as
//! long as that session: a leader that exits, crashes or loses its connection releases it, and
//! a standby, which retries every interval, takes over within one interval. The leader checks
//! its session at every cycle and steps down if it is gone.
//!
//! The flag (`Leader::flag`) is shared with the embedded scraper, which scrapes only while it is
//! set (see [`crate::source::scrape`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use platform::db::{Backend, Db};
use sqlx::{AnyConnection, Connection};
use tokio::sync::Mutex;

/// The PostgreSQL advisory lock key of the evaluating replica: "KuraSLO" in ASCII.
pub const LEADER_LOCK_KEY: i64 = 0x004b_7572_6153_4c4f;

/// This replica's claim to evaluate.
#[derive(Debug)]
pub struct Leader {
    flag: Arc<AtomicBool>,
    /// The session holding [`LEADER_LOCK_KEY`] (PostgreSQL only).
    lock: Mutex<Option<AnyConnection>>,
}

impl Leader {
    /// Not leading yet; `flag` is set while this replica leads (the scraper's flag, when there is one).
    pub fn new(flag: Arc<AtomicBool>) -> Leader {
        flag.store(false, Ordering::Relaxed);
        Leader { flag, lock: Mutex::new(None) }
    }

    pub fn is_leader(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Takes (or confirms) the lock; returns whether this replica leads, and whether that
    /// changed.
    pub async fn try_lead(&self, db: &Db) -> (bool, bool) {
        let leading = match db.backend() {
            Backend::Sqlite => true,
            Backend::Postgres => self.try_lock(db).await,
        };
        let was = self.flag.swap(leading, Ordering::Relaxed);
        (leading, was != leading)
    }

    async fn try_lock(&self, db: &Db) -> bool {
        let mut lock = self.lock.lock().await;
        if let Some(conn) = lock.as_mut() {
            // Still our session? If not, the lock went with it.
            if conn.ping().await.is_ok() {
                return true;
            }
            tracing::warn!("the leader lock session is gone; stepping down");
            *lock = None;
        }
        let mut conn = match db.writer().acquire().await {
            Ok(c) => c.detach(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a session for the leader lock");
                return false;
            }
        };
        match sqlx::query_scalar::<_, bool>("select pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
        {
            Ok(true) => {
                *lock = Some(conn);
                true
            }
            Ok(false) => {
                let _ = conn.close().await;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "pg_try_advisory_lock failed");
                false
            }
        }
    }

    /// Gives the lock up (graceful shutdown): a standby takes over at its next interval.
    pub async fn release(&self) {
        if let Some(conn) = self.lock.lock().await.take() {
            let _ = conn.close().await;
        }
        self.flag.store(false, Ordering::Relaxed);
    }
}
