//! Integration tests: the real `mlctl` binary in temporary projects, checking exit codes, output and files.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;
mod corpus;
mod decoder_mutations;
mod drift;
mod evaluate;
mod export;
mod extras;
mod postgres;
mod predict;
mod train;
