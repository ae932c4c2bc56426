//! Prints the row indices (0-based, one per line) of the test split `mlctl train` makes of a CSV, so that the
//! benchmark (`bench/bench.py`) can fit scikit-learn on exactly the rows mlctl fits on and score both on the
//! same held-out rows. It goes through the same code as `mlctl train`: the CSV reader, the target (class
//! labels, or numbers for regression) and the seeded split (stratified for classification).
//!
//! Usage: `bench_split DATA.csv TARGET TEST_SIZE SEED [classification|regression]` (default classification)

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use mlctl::data::load::{read_csv, ReadOptions};
use mlctl::models::Task;
use mlctl::ops::fitting::TargetData;

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data, target, test_size, seed, task) = match args.as_slice() {
        [d, t, s, seed] => (d, t, s, seed, Task::Classification),
        [d, t, s, seed, task] => (d, t, s, seed, Task::parse(task)?),
        _ => return Err("usage: bench_split DATA.csv TARGET TEST_SIZE SEED [classification|regression]".into()),
    };
    let options = ReadOptions { text_columns: vec![target.clone()], ..ReadOptions::default() };
    let (frame, _) = read_csv(&PathBuf::from(data), &options)?;
    let split = TargetData::read(&frame, Some(target), task)?.with_positive(None)?.split(
        frame.n_rows,
        test_size.parse()?,
        seed.parse()?,
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for row in split.test {
        writeln!(out, "{row}")?;
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)] // A developer tool: the error goes to stderr.
            {
                eprintln!("bench_split: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
