//! Importers (`slo import openslo|sloth|pyrra FILE`): other SLO formats turned into Kura specs.
//! What a format says that a Kura spec cannot represent is an error naming it, never
//! dropped silently.

mod common;
pub mod openslo;
pub mod pyrra;
pub mod sloth;

use std::path::PathBuf;

/// Why a document could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}:{line}:{column}: {message}")]
    Invalid { file: PathBuf, line: usize, column: usize, message: String },
    #[error("{file}: {what} cannot be represented in a Kura spec")]
    Unsupported { file: PathBuf, what: String },
    #[error("{file}: {source}")]
    Io { file: PathBuf, source: std::io::Error },
}
