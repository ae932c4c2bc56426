//! Everything the user sees: the printer (human or JSON, progress only on a terminal), table helpers and the
//! output width.

pub mod printer;
pub mod table;
pub mod width;
