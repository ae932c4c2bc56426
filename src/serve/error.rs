//! The error answers of the HTTP layer: a status and a message (with the row and column of a schema error),
//! made from the library's typed errors. Rendered as `{"error": ...}` by the routes.

/// An answer that is an error: a status and a message for `{"error": ...}`.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub status: u16,
    pub message: String,
    /// For schema errors: the row and column at fault.
    pub row: Option<usize>,
    pub column: Option<String>,
}

impl HttpError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        HttpError { status, message: message.into(), row: None, column: None }
    }

    /// Bad records (a missing or wrongly typed feature) are 422; bad settings 400; anything else 500.
    pub fn from_error(e: crate::error::Error) -> Self {
        use crate::error::Error;
        match e {
            Error::Data { location, message } => HttpError {
                status: 422,
                message: format!("{location}: {message}"),
                row: location.row,
                column: location.column,
            },
            Error::Config(message) | Error::Usage(message) => {
                HttpError::new(400, message.replace("--threshold", "threshold"))
            }
            other => HttpError::new(500, other.to_string()),
        }
    }
}
