//! The workflows, one per verb. Each reads top to bottom as the story of its command:
//! source → frame → pipeline → matrix → model → artifact → registry → report.

pub mod compare;
mod csv_text;
pub mod drift;
pub mod evaluate;
pub mod explain;
pub mod export;
pub mod fitting;
mod float_text;
pub mod init;
pub mod inspect;
pub mod leakage;
pub mod monitor;
pub mod outcomes;
pub mod predict;
pub mod prediction_log;
pub mod promote;
pub mod prune;
pub mod registry_copy;
pub mod split;
pub mod train;
