//! Monitoring a model in production: the logged predictions joined with the outcomes recorded later
//! (`mlctl outcomes`), scored per time window with the same metric functions `evaluate` uses, and compared
//! with the test scores of the versions that made the predictions.

pub mod cbpe;
pub mod join;
pub mod report;
pub mod windows;
