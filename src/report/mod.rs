//! Markdown reports with SVG charts written beside them: the evaluation report here, the charts in
//! [`charts`]. (The drift report lives with drift, in `drift/report.rs`.)

pub mod charts;
pub mod evaluation;
pub mod evaluation_data;
