//! Everything the user sees: the printer (human or JSON, progress only on a terminal) and table helpers.

pub mod printer;
pub mod table;
