//! The controller's database: [`platform::Db`] (SQLite by default, PostgreSQL in production and
//! for active/standby) with the controller's migrations.
//!
//! Migrations are templates, `slo/migrations/NNNN_name.sql.in` (one per concern), rendered for
//! both engines and guarded against edits once landed by [`platform::migrations`] (a test fails
//! if a rendering drifts or a landed file changes; `KURA_RENDER_MIGRATIONS=1 cargo test -p slo`
//! renders new ones). Queries are written once in the SQL both engines accept (lowercase, `$n`
//! placeholders, no `::` casts), and every storage behaviour is tested on both.

use platform::db::{Db, Migrations, OpenError, Options};
use sqlx::migrate::Migrator;

/// The default database: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kura-slo.db";

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The controller's migrations, for [`Db::open`].
pub const MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// Pool sizes: one cycle's transaction and a few dashboard readers at a time.
pub const OPTIONS: Options =
    Options { slow_statement: platform::db::DEFAULT_SLOW_STATEMENT, max_connections: 16, sqlite_readers: 4 };

/// Connects to `url` and applies the controller's pending migrations.
pub async fn open(url: &str) -> Result<Db, OpenError> {
    Db::open(url, MIGRATIONS, OPTIONS).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn every_migration_is_rendered_from_its_template_and_no_landed_one_was_edited() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");

        let checked = platform::migrations::check(&dir);

        assert_eq!(checked, Ok(()), "slo/migrations");
    }
}
