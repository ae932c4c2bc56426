//! Typed errors of the library. Every variant that concerns a file carries its path, and where it concerns a cell
//! the row and column, so the message alone tells a user what to fix. The command layer wraps these in `anyhow`.

use std::path::PathBuf;

/// Where in a data file a problem sits. `row` counts data rows from 1 (the header is not a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub row: Option<usize>,
    pub column: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(row) = self.row {
            write!(f, ": row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column \"{column}\"")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: DisplayPath,
        #[source]
        source: std::io::Error,
    },

    /// Bad input data: the message says what was expected.
    #[error("{location}: {message}")]
    Data { location: Location, message: String },

    /// The artifact on disk is not what mlctl wrote: truncated, bit-flipped, foreign or from a newer mlctl.
    #[error("{path}: {message}")]
    Artifact { path: DisplayPath, message: String },

    /// registry.json or a model reference is inconsistent or unknown.
    #[error("{0}")]
    Registry(String),

    /// A setting, flag or hyperparameter has a value that cannot be used.
    #[error("{0}")]
    Config(String),

    /// A value that only the command line can give (a flag's value, a combination of flags) cannot be used: a
    /// usage error, which the binary exits 2 on (CLI.md). A value that may also come from mlctl.toml stays
    /// [`Error::Config`]; the command layer, which knows where a value came from, marks those itself.
    #[error("{0}")]
    Usage(String),

    /// A hyperparameter that the chosen algorithm does not have, or a value it cannot take. `key` is the key as
    /// given, so the command layer can tell a `--set` typo (a usage error) from one in mlctl.toml.
    #[error("{message}")]
    Hyperparameter { key: String, message: String },

    #[error("{0}")]
    Model(String),

    /// A data source (database, file) refused or failed: `from` is the source with any password redacted, the
    /// message is the database's own where there is one.
    #[error("{from}: {message}")]
    Source { from: String, message: String },
}

/// A path that displays as itself (PathBuf has no Display, on purpose; here we want one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayPath(pub PathBuf);

impl std::fmt::Display for DisplayPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

impl Error {
    pub fn source(from: &str, message: impl std::fmt::Display) -> Self {
        Error::Source { from: from.to_owned(), message: message.to_string() }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: DisplayPath(path.into()), source }
    }

    pub fn data(
        path: impl Into<PathBuf>,
        row: Option<usize>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Error::Data {
            location: Location { path: path.into(), row, column: column.map(str::to_owned) },
            message: message.into(),
        }
    }

    pub fn artifact(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Artifact { path: DisplayPath(path.into()), message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds the path to an `io::Error`, the one thing the standard library leaves out.
pub trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
