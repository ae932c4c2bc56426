//! Data in: CSV loading (polars lives only in `load`), column typing, the typed frame, splits, the dense matrix
//! models consume, and the built-in sample generator.

pub mod dates;
pub mod fingerprint;
pub mod frame;
pub mod limits;
pub mod load;
pub mod matrix;
pub mod sample;
pub mod schema;
pub mod source;
pub mod split;
pub mod stream;
