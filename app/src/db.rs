//! Storage: loading and storing the fulfillment domain, on the platform's database handle
//! ([`platform::db`]: SQLite by default, PostgreSQL in production, chosen by `DATABASE_URL`).
//!
//! The rules are `domain`'s; this layer loads what they need and stores what they decide.
//! Every read takes the caller's [`Scope`] ([`visible`] turns it into one `where` condition),
//! records come back typed ([`stored`] parses a column, and a value that no longer parses is an
//! error), and values become text only in SQL. A list page loads its rows and then their
//! children in one statement per relation, never one per row.
//!
//! Every query is written once in the SQL both engines accept (lowercase, `$n` placeholders,
//! `cast(... as bigint)` instead of `::`), so one behavioural test suite covers both. Write
//! transactions run through [`transaction!`](crate::transaction), which retries the whole
//! transaction on deadlock, serialization failure or a busy SQLite file.
//!
//! Migrations live in `app/migrations/`; they are append-only (see [`platform::migrations`]).

pub mod billing;
pub mod channels;
pub mod idempotency;
pub mod inbounds;
pub mod items;
pub mod maintenance;
pub mod mask;
pub mod packages;
pub mod scans;
pub mod seed;
pub mod shipments;
pub mod stock;
pub mod tokens;
pub mod warehouses;
pub mod waves;

use std::time::Duration;

use sqlx::migrate::Migrator;

use crate::domain::Error;
use crate::domain::access::Scope;

pub use platform::db::{Backend, Flag, OpenError, Tx};

/// A handle to the service's database (see [`platform::db`]).
pub type Db = platform::Db;

/// Statements slower than this are slow queries unless configured otherwise.
pub const DEFAULT_SLOW_STATEMENT: Duration = platform::db::DEFAULT_SLOW_STATEMENT;

/// The default database: a SQLite file in the working directory (created when missing).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kura.db";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The service's migrations, embedded in the binary.
pub const MIGRATIONS: platform::db::Migrations =
    platform::db::Migrations { sqlite: &SQLITE_MIGRATIONS, postgres: &POSTGRES_MIGRATIONS };

fn options(slow: Duration) -> platform::db::Options {
    platform::db::Options { slow_statement: slow, ..platform::db::Options::default() }
}

/// Connects without migrating.
pub async fn connect(url: &str, slow: Duration) -> Result<Db, OpenError> {
    Db::connect(url, MIGRATIONS, options(slow)).await
}

/// Connects and applies any pending migrations (idempotent).
pub async fn open(url: &str, slow: Duration) -> Result<Db, OpenError> {
    Db::open(url, MIGRATIONS, options(slow)).await
}

impl platform::db::DbError for Error {
    fn as_sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            Error::Database(e) => Some(e),
            _ => None,
        }
    }
}

/// Runs the block in a write transaction, retried from scratch on a transient conflict (see
/// [`platform::transaction!`]); the block evaluates to `Result<T, domain::Error>`.
#[macro_export]
macro_rules! transaction {
    ($db:expr, |$tx:ident| $body:block) => {
        ::platform::transaction!($db, $crate::domain::Error, |$tx| $body)
    };
}

/// Whether `e` is a violation of the unique constraint that mentions `columns` (for SQLite,
/// whose messages name columns) or is named `constraint` (PostgreSQL).
pub fn is_unique_violation(e: &Error, constraint: &str, columns: &str) -> bool {
    matches!(e, Error::Database(db) if platform::db::is_unique_violation(db, constraint, columns))
}

/// The `where` condition that keeps the rows `scope` may see, given the table's shipper column
/// and, for documents that belong to a warehouse, its warehouse column (warehouse staff see
/// nothing of a table without one). Its values are bound from placeholder `$first` on, in the
/// order returned; a token's warehouses are few, so each gets a placeholder of its own.
pub fn visible(scope: &Scope, shipper: &str, warehouse: Option<&str>, first: usize) -> (String, Vec<i64>) {
    match (scope, warehouse) {
        (Scope::Shipper(s), _) => (format!("{shipper} = ${first}"), vec![s.0]),
        (Scope::Warehouses(ws), Some(column)) if !ws.is_empty() => {
            let placeholders: Vec<String> = (first..first + ws.len()).map(|i| format!("${i}")).collect();
            (format!("{column} in ({})", placeholders.join(", ")), ws.iter().map(|w| w.0).collect())
        }
        (Scope::Warehouses(_), _) => ("1 = 0".to_owned(), vec![]),
        (Scope::All, _) => ("1 = 1".to_owned(), vec![]),
    }
}

/// A stored value read back into its type. One that no longer parses is a decode error (a 500
/// naming the column), never quietly something else.
pub fn stored<T, E: std::fmt::Display>(column: &str, parsed: Result<T, E>) -> Result<T, Error> {
    parsed.map_err(|e| Error::Database(sqlx::Error::Decode(format!("stored {column} does not parse: {e}").into())))
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
    use crate::domain::access::Scope;
    use crate::domain::values::{ShipperId, WarehouseId};

    #[test]
    fn each_scope_becomes_one_condition_with_its_values_bound_in_order() {
        let shipper = super::visible(&Scope::Shipper(ShipperId(7)), "s.shipper_id", Some("s.warehouse_id"), 3);
        assert_eq!(shipper, ("s.shipper_id = $3".to_owned(), vec![7]));
        let staff = Scope::Warehouses(vec![WarehouseId(1), WarehouseId(2)]);
        assert_eq!(super::visible(&staff, "shipper_id", Some("warehouse_id"), 4).0, "warehouse_id in ($4, $5)");
        assert_eq!(super::visible(&staff, "shipper_id", None, 4), ("1 = 0".to_owned(), vec![]));
        assert_eq!(super::visible(&Scope::Warehouses(vec![]), "shipper_id", Some("warehouse_id"), 1).0, "1 = 0");
        assert_eq!(super::visible(&Scope::All, "shipper_id", None, 1), ("1 = 1".to_owned(), vec![]));
    }

    #[test]
    fn stored_timestamps_have_a_fixed_width() {
        let a = super::format_timestamp(jiff::Timestamp::from_second(0).expect("epoch"));
        assert_eq!(a, "1970-01-01T00:00:00.000000Z");
        assert_eq!(super::now().len(), a.len());
    }

    #[test]
    fn migrations_are_rendered_from_their_templates_and_landed_ones_are_unchanged() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        if let Err(problems) = platform::migrations::check(&dir) {
            panic!("{}", problems.join("\n"));
        }
    }
}
