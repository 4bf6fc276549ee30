//! The controller's storage: one sqlx `Any` pool over SQLite (the embedded default, one file)
//! or PostgreSQL (production, and required for active/standby), chosen by `DATABASE_URL`.
//! Migrations are written once, as `slo/migrations/NNNN_name.sql.in` (one per concern), and
//! rendered into `slo/migrations/{sqlite,postgres}` by `slo/migrations/gen.sh` for the few words
//! the engines spell differently (a test fails if they drift); queries are written once in the SQL both accept (lowercase,
//! `$n` placeholders, no `::` casts), and every storage behaviour is tested on both.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kura-slo.db?mode=rwc";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
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
    /// Connects and applies pending migrations (idempotent).
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(OpenError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyConnectOptions::from_str(url)?
            .log_statements(log::LevelFilter::Debug)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(100));
        let db = match backend {
            Backend::Sqlite => {
                let pool = |n: u32| {
                    AnyPoolOptions::new()
                        .max_connections(n)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                // FULL: an acknowledged decision or alert survives power loss.
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
                // SQLite takes one writer at a time: queue writers in-process instead of SQLITE_BUSY.
                Db { writer: pool(1).await?, reader: pool(4).await?, backend }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Db { reader: pool.clone(), writer: pool, backend }
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&db.writer).await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads.
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The pool for writes (one connection on SQLite).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Each engine's spelling of the template placeholders (`slo/migrations/gen.sh`).
    const SQLITE: [(&str, &str); 2] =
        [("@PK@", "integer primary key autoincrement"), ("@WITHOUT_ROWID@", " without rowid")];
    const POSTGRES: [(&str, &str); 2] =
        [("@PK@", "bigint generated always as identity primary key"), ("@WITHOUT_ROWID@", "")];

    fn render(template: &str, words: &[(&str, &str)]) -> String {
        words.iter().fold(template.to_string(), |text, (placeholder, word)| text.replace(placeholder, word))
    }

    #[test]
    fn every_migration_is_rendered_from_its_template_for_both_engines() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut templates: Vec<_> = std::fs::read_dir(&dir)
            .expect("slo/migrations")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql.in"))
            .collect();
        templates.sort();
        assert!(!templates.is_empty());
        for engine in ["sqlite", "postgres"] {
            let mut rendered: Vec<_> = std::fs::read_dir(dir.join(engine))
                .expect("engine directory")
                .map(|e| format!("{}.in", e.expect("entry").file_name().to_string_lossy()))
                .collect();
            rendered.sort();
            assert_eq!(
                rendered, templates,
                "{engine}: every migration comes from a template (run slo/migrations/gen.sh)"
            );
        }
        for name in &templates {
            let template = std::fs::read_to_string(dir.join(name)).expect("template");
            let file = name.trim_end_matches(".in");
            for (engine, words) in [("sqlite", &SQLITE), ("postgres", &POSTGRES)] {
                let actual = std::fs::read_to_string(dir.join(engine).join(file)).expect("migration");
                assert_eq!(actual, render(&template, words), "{engine}/{file} drifted: run slo/migrations/gen.sh");
            }
        }
    }
}
