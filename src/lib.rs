//! mlctl: a command-line MLOps toolkit for tabular models. This library holds every workflow; the `mlctl`
//! binary is a thin command-line skin over it (the library never sees clap, indicatif or terminal colour).

pub mod clock;
pub mod config;
pub mod data;
pub mod drift;
pub mod error;
#[doc(hidden)]
pub mod fs;
pub mod fuzzing;
pub mod metrics;
pub mod models;
pub mod monitor;
pub mod ops;
pub mod pipeline;
pub mod project;
pub mod prometheus;
pub mod registry;
pub mod report;
pub mod reporter;
pub mod rng;
pub mod serve;
pub mod suggest;
pub mod wire;
