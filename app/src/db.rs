//! Storage: one sqlx `Any` pool over SQLite (the embedded default: one file, WAL) or
//! PostgreSQL (production), chosen by `DATABASE_URL`.
//!
//! Every query in `db/` is written once in the SQL both engines accept (lowercase, `$n`
//! placeholders, `cast(... as bigint)` instead of `::`), so one behavioural test suite
//! covers both. Two decisions worth knowing:
//! - SQLite gets a single-connection *writer* pool beside its reader pool: SQLite allows one
//!   writer at a time anyway, and queueing writers in-process avoids `SQLITE_BUSY` upgrades.
//!   PostgreSQL uses one pool for both.
//! - Write transactions run through [`transaction!`](crate::transaction), which retries the whole transaction on
//!   deadlock, serialization failure or a busy SQLite file, so those never surface as 500s.

pub mod billing;
pub mod channels;
pub mod idempotency;
pub mod inbounds;
pub mod items;
pub mod maintenance;
pub mod packages;
pub mod scans;
pub mod seed;
pub mod shipments;
pub mod stock;
pub mod tokens;
pub mod warehouses;
pub mod waves;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::domain::Error;

/// Statements slower than this are slow queries unless configured otherwise.
pub const DEFAULT_SLOW_STATEMENT: Duration = Duration::from_millis(100);

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kura.db?mode=rwc";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL must start with sqlite:// or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Connects without migrating, with the default slow-statement threshold.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        Self::connect_with(url, DEFAULT_SLOW_STATEMENT).await
    }

    /// Connects; statements slower than `slow` are logged at WARN and counted
    /// (`db_client_slow_queries_total`, see `telemetry::db`).
    pub async fn connect_with(url: &str, slow: Duration) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(OpenError::UnsupportedUrl(url.to_owned()));
        };
        telemetry::db::set_system(backend.name());
        let options = AnyConnectOptions::from_str(url)?
            .log_statements(log::LevelFilter::Debug)
            .log_slow_statements(log::LevelFilter::Warn, slow);
        match backend {
            Backend::Sqlite => {
                let pool = |n: u32| {
                    AnyPoolOptions::new()
                        .max_connections(n)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                // FULL: an acknowledged write survives power loss, not just a process crash.
                                conn.execute(
                                    "pragma journal_mode = wal; pragma synchronous = full; \
                                     pragma foreign_keys = on; pragma busy_timeout = 10000;",
                                )
                                .await?;
                                Ok(())
                            })
                        })
                        .connect_with(options.clone())
                };
                let writer = pool(1).await?;
                let reader = pool(8).await?;
                Ok(Self { reader, writer, backend })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Ok(Self { reader: pool.clone(), writer: pool, backend })
            }
        }
    }

    /// Connects and applies any pending migrations (idempotent).
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, DEFAULT_SLOW_STATEMENT).await
    }

    pub async fn open_with(url: &str, slow: Duration) -> Result<Self, OpenError> {
        let db = Self::connect_with(url, slow).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        self.migrator().run(&self.writer).await?;
        Ok(())
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Ready = reachable and every embedded migration applied.
    pub async fn ready(&self) -> Result<(), String> {
        let applied: Vec<i64> = sqlx::query_scalar("select version from _sqlx_migrations where success = true")
            .fetch_all(&self.reader)
            .await
            .map_err(|e| format!("database unreachable or not migrated: {e}"))?;
        let missing: Vec<i64> = self.migrator().iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("migrations not applied: {missing:?}")) }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads outside a transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Begins a write transaction; prefer [`transaction!`](crate::transaction), which retries.
    pub async fn begin_write(&self) -> Result<Tx, Error> {
        Ok(self.writer.begin().await?)
    }

    /// Whether a failed transaction should be run again from scratch.
    pub fn should_retry(&self, e: &Error, attempt: u32) -> bool {
        matches!(e, Error::Database(e) if attempt < RETRY_ATTEMPTS && is_transient(e))
    }

    pub async fn backoff(&self, attempt: u32) {
        tracing::debug!(attempt, "retrying a transaction after a transient conflict");
        tokio::time::sleep(Duration::from_millis(2u64.pow(attempt.min(8)))).await;
    }
}

/// Fixes a transaction block's error type to [`Error`] so `?` inside it converts.
pub async fn typed<T>(block: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    block.await
}

/// How often [`transaction!`](crate::transaction) runs a transaction that keeps hitting
/// deadlocks, serialization failures or a busy SQLite file.
pub const RETRY_ATTEMPTS: u32 = 8;

/// Runs the block in a write transaction and commits it; on a transient conflict the whole
/// block runs again from scratch, so it must not have effects outside the transaction.
/// The block evaluates to `Result<T, domain::Error>`; `return` inside it leaves the block.
///
/// A macro rather than a closure-taking method because the block borrows both the
/// transaction and the caller's data, which closures returning futures cannot express.
#[macro_export]
macro_rules! transaction {
    ($db:expr, |$tx:ident| $body:block) => {{
        let db: &$crate::db::Db = $db;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut owned = db.begin_write().await?;
                let value = {
                    let $tx = &mut owned;
                    $crate::db::typed(async { $body }).await
                }?;
                owned.commit().await.map_err($crate::domain::Error::from)?;
                Ok::<_, $crate::domain::Error>(value)
            }
            .await;
            match result {
                Err(e) if db.should_retry(&e, attempt) => db.backoff(attempt).await,
                other => break other,
            }
        }
    }};
}

/// Deadlock / serialization failure (PostgreSQL) or a locked file (SQLite).
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("40001" | "40P01" | "5" | "6" | "517" | "261"))
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Whether `e` is a violation of the unique constraint that mentions `columns` (for SQLite,
/// whose messages name columns) or is named `constraint` (PostgreSQL).
pub fn is_unique_violation(e: &Error, constraint: &str, columns: &str) -> bool {
    let Error::Database(sqlx::Error::Database(db)) = e else {
        return false;
    };
    let unique = matches!(db.code().as_deref(), Some("23505" | "2067" | "1555"))
        || db.message().contains("UNIQUE constraint failed");
    unique && (db.constraint() == Some(constraint) || db.message().contains(columns))
}

/// A flag stored as a 0/1 integer (the `Any` driver cannot decode SQLite booleans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = bool)]
pub struct Flag(pub bool);

impl TryFrom<i64> for Flag {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            0 => Ok(Flag(false)),
            1 => Ok(Flag(true)),
            other => Err(format!("flag must be 0 or 1, found {other}")),
        }
    }
}

/// Now, as stored: UTC RFC 3339 with exactly six fractional digits, so text order is time order.
pub fn now() -> String {
    format_timestamp(jiff::Timestamp::now())
}

pub fn format_timestamp(ts: jiff::Timestamp) -> String {
    let dt = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1000
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_timestamps_have_a_fixed_width() {
        let a = super::format_timestamp(jiff::Timestamp::from_second(0).expect("epoch"));
        assert_eq!(a, "1970-01-01T00:00:00.000000Z");
        assert_eq!(super::now().len(), a.len());
    }

    #[test]
    fn rendered_migrations_match_the_schema_template() {
        let template = include_str!("../migrations/schema.sql.in");
        let sqlite = include_str!("../migrations/sqlite/0001_init.sql");
        let postgres = include_str!("../migrations/postgres/0001_init.sql");
        assert_eq!(sqlite, template.replace("@PK@", "integer primary key"), "run app/migrations/gen.sh");
        assert_eq!(
            postgres,
            template.replace("@PK@", "bigint generated by default as identity primary key"),
            "run app/migrations/gen.sh"
        );
    }
}
