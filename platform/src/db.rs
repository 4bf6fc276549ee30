//! The database handle: one sqlx `Any` pool over SQLite (the embedded default: one file, WAL)
//! or PostgreSQL (production, and required for more than one replica), chosen by the URL.
//!
//! Every query in Kura is written once in the SQL both engines accept (lowercase, `$n`
//! placeholders, `cast(... as bigint)` instead of `::`), so one behavioural test suite covers
//! both. Two decisions worth knowing:
//! - SQLite gets a single-connection *writer* pool beside its reader pool: SQLite allows one
//!   writer at a time anyway, and queueing writers in-process avoids `SQLITE_BUSY` upgrades.
//!   PostgreSQL uses one pool for both.
//! - Write transactions run through [`transaction!`](crate::transaction), which retries the
//!   whole transaction on deadlock, serialization failure or a busy SQLite file, so those never
//!   surface as 500s.
//!
//! `sqlite://PATH` works as written: the file is created when missing (`mode=rwc` is added
//! unless the URL sets a mode), and a missing directory is named in the error.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

/// A write transaction.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The OpenTelemetry `db.system` name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// The engine a URL names, if it is one Kura runs on.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A crate's embedded migrations, one set per engine (see [`crate::migrations`]).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// How to connect.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Statements slower than this are logged at WARN and counted as slow queries
    /// (`db_client_slow_queries_total`, see `telemetry::db`).
    pub slow_statement: Duration,
    /// PostgreSQL pool size.
    pub max_connections: u32,
    /// SQLite reader pool size (the writer pool always has one connection).
    pub sqlite_readers: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { slow_statement: DEFAULT_SLOW_STATEMENT, max_connections: 32, sqlite_readers: 8 }
    }
}

/// Statements slower than this are slow queries unless configured otherwise.
pub const DEFAULT_SLOW_STATEMENT: Duration = Duration::from_millis(100);

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    migrations: Migrations,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the database URL must start with sqlite:// or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    #[error("the SQLite database {file:?} cannot be created: its directory {dir:?} does not exist (create it first)")]
    MissingDirectory { file: String, dir: String },
    #[error("cannot open the database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl OpenError {
    /// Whether the operator must change the configuration (exit 64) rather than wait for the
    /// database (the other errors).
    pub fn is_configuration(&self) -> bool {
        matches!(self, OpenError::UnsupportedUrl(_) | OpenError::MissingDirectory { .. })
    }
}

/// The URL to connect with: a SQLite URL without `mode=` gets `mode=rwc`, so the file is
/// created when missing, as `sqlite://kura.db` promises.
pub fn normalize_url(url: &str) -> Result<String, OpenError> {
    let Some(backend) = Backend::of_url(url) else {
        return Err(OpenError::UnsupportedUrl(url.to_owned()));
    };
    if backend == Backend::Postgres {
        return Ok(url.to_owned());
    }
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") || query.split('&').any(|p| p.starts_with("mode=")) {
        return Ok(url.to_owned());
    }
    let dir = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir
        && !dir.is_dir()
    {
        return Err(OpenError::MissingDirectory { file: path.to_owned(), dir: dir.display().to_string() });
    }
    let separator = if query.is_empty() { "?" } else { "&" };
    Ok(format!("{}{separator}mode=rwc", url.trim_end_matches('?')))
}

impl Db {
    /// Connects without migrating.
    pub async fn connect(url: &str, migrations: Migrations, options: Options) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let url = normalize_url(url)?;
        let backend = Backend::of_url(&url).ok_or_else(|| OpenError::UnsupportedUrl(url.clone()))?;
        telemetry::db::set_system(backend.name());
        let connect = AnyConnectOptions::from_str(&url)?
            .log_statements(log::LevelFilter::Debug)
            .log_slow_statements(log::LevelFilter::Warn, options.slow_statement);
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
                        .connect_with(connect.clone())
                };
                let writer = pool(1).await?;
                let reader = pool(options.sqlite_readers).await?;
                Ok(Self { reader, writer, backend, migrations })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(connect)
                    .await?;
                Ok(Self { reader: pool.clone(), writer: pool, backend, migrations })
            }
        }
    }

    /// Connects and applies any pending migrations (idempotent).
    pub async fn open(url: &str, migrations: Migrations, options: Options) -> Result<Self, OpenError> {
        let db = Self::connect(url, migrations, options).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        self.migrator().run(&self.writer).await?;
        Ok(())
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => self.migrations.sqlite,
            Backend::Postgres => self.migrations.postgres,
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

    /// The pool for writes (one connection on SQLite). Prefer
    /// [`transaction!`](crate::transaction) for anything that writes more than one row.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Begins a write transaction; prefer [`transaction!`](crate::transaction), which retries.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        self.writer.begin().await
    }

    /// Waits before the `attempt`th retry of a transaction (2^attempt ms, at most 256 ms).
    pub async fn backoff(&self, attempt: u32) {
        tracing::debug!(attempt, "retrying a transaction after a transient conflict");
        tokio::time::sleep(Duration::from_millis(2u64.pow(attempt.min(8)))).await;
    }
}

/// An error type that transactions can fail with: it wraps database errors and says which one
/// it holds, so [`transaction!`](crate::transaction) can tell a transient conflict from a real
/// failure.
pub trait DbError: From<sqlx::Error> {
    fn as_sqlx(&self) -> Option<&sqlx::Error>;
}

impl DbError for sqlx::Error {
    fn as_sqlx(&self) -> Option<&sqlx::Error> {
        Some(self)
    }
}

/// Whether a failed transaction should run again from scratch.
pub fn should_retry<E: DbError>(e: &E, attempt: u32) -> bool {
    attempt < RETRY_ATTEMPTS && e.as_sqlx().is_some_and(is_transient)
}

/// Fixes a transaction block's error type so `?` inside it converts.
pub async fn typed<T, E>(block: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    block.await
}

/// How often [`transaction!`](crate::transaction) runs a transaction that keeps hitting
/// deadlocks, serialization failures or a busy SQLite file.
pub const RETRY_ATTEMPTS: u32 = 8;

/// Runs the block in a write transaction and commits it; on a transient conflict the whole
/// block runs again from scratch, so it must not have effects outside the transaction.
/// `transaction!(db, Error, |tx| { ... })`: the block evaluates to `Result<T, Error>`, where
/// `Error` implements [`DbError`]; `return` inside it leaves the block.
///
/// A macro rather than a closure-taking method because the block borrows both the
/// transaction and the caller's data, which closures returning futures cannot express.
#[macro_export]
macro_rules! transaction {
    ($db:expr, $error:ty, |$tx:ident| $body:block) => {{
        let db: &$crate::db::Db = $db;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result = async {
                let mut owned = db.begin_write().await.map_err(<$error>::from)?;
                let value = {
                    let $tx = &mut owned;
                    $crate::db::typed::<_, $error>(async { $body }).await
                }?;
                owned.commit().await.map_err(<$error>::from)?;
                Ok::<_, $error>(value)
            }
            .await;
            match result {
                Err(e) if $crate::db::should_retry(&e, attempt) => db.backoff(attempt).await,
                other => break other,
            }
        }
    }};
}

/// Deadlock / serialization failure (PostgreSQL) or a locked file (SQLite).
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("40001" | "40P01" | "5" | "6" | "517" | "261"))
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Whether `e` violates the unique constraint named `constraint` (PostgreSQL) or covering
/// `columns` (SQLite, whose messages name the columns: `item.shipper_id, item.code`).
pub fn is_unique_violation(e: &sqlx::Error, constraint: &str, columns: &str) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let unique = matches!(db.code().as_deref(), Some("23505" | "2067" | "1555"))
        || db.message().contains("UNIQUE constraint failed");
    unique && (db.constraint() == Some(constraint) || db.message().contains(columns))
}

/// A flag stored as a 0/1 integer (the `Any` driver cannot decode SQLite booleans); the one
/// way Kura stores booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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

impl From<Flag> for i64 {
    fn from(f: Flag) -> i64 {
        i64::from(f.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_without_a_mode_creates_its_file() {
        assert_eq!(normalize_url("sqlite://kura.db").unwrap(), "sqlite://kura.db?mode=rwc");
        assert_eq!(normalize_url("sqlite:///tmp/kura.db").unwrap(), "sqlite:///tmp/kura.db?mode=rwc");
        assert_eq!(
            normalize_url("sqlite:///tmp/k.db?cache=shared").unwrap(),
            "sqlite:///tmp/k.db?cache=shared&mode=rwc"
        );
        assert_eq!(normalize_url("sqlite://kura.db?mode=ro").unwrap(), "sqlite://kura.db?mode=ro");
        assert_eq!(normalize_url("sqlite::memory:").unwrap(), "sqlite::memory:");
        assert_eq!(normalize_url("postgres://u@h/db").unwrap(), "postgres://u@h/db");
    }

    #[test]
    fn a_missing_directory_and_a_foreign_scheme_are_configuration_errors_that_say_what_to_do() {
        let e = normalize_url("sqlite:///no/such/dir/kura.db").unwrap_err();
        assert!(e.is_configuration());
        assert!(e.to_string().contains("/no/such/dir"), "{e}");
        let e = normalize_url("mysql://h/db").unwrap_err();
        assert!(e.is_configuration());
    }

    #[test]
    fn flags_are_zero_or_one() {
        assert_eq!(Flag::try_from(1), Ok(Flag(true)));
        assert_eq!(Flag::try_from(0), Ok(Flag(false)));
        assert!(Flag::try_from(2).is_err());
    }
}
