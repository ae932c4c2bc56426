//! Integration tests: the real `mlctl` binary in temporary projects, checking exit codes, output and files.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod bounded;
mod common;
mod corpus;
mod data_loss;
mod dates;
mod decoder_mutations;
mod drift;
mod evaluate;
mod examples;
mod export;
mod extras;
mod fuzz_replay;
mod hardening;
mod leakage;
mod monitor;
mod postgres;
mod predict;
mod promote;
mod quality;
mod rough_edges;
mod serve;
mod snapshots;
mod tasks;
mod train;
