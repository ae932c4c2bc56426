//! Bounded memory on every input (issue 36, items 6-9): JSON arrays streamed, lines and cells capped, a header
//! too wide for the engine refused before the file is read, drift over the logs on a bounded sample. Each
//! command runs with its address space capped (what `ulimit -v` sets), so a regression that reads an input
//! whole fails here instead of exhausting the machine.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::common::{TestProject, QUICK};

/// Address space for one command, in MiB: a few times what a streaming run needs (its threads' stacks and
/// allocator arenas included), well below what reading the inputs here whole takes.
const MEMORY_MIB: u64 = 600;

/// `mlctl` as [`TestProject::mlctl`] runs it, with its address space capped at `mib` MiB (RLIMIT_AS).
pub fn mlctl_capped(p: &TestProject, mib: u64) -> Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mlctl"));
    cmd.current_dir(p.root())
        .env("MLCTL_TEST_NOW", "2026-01-02T03:04:05Z")
        .env("MLCTL_USER", "tester")
        .env_remove("NO_COLOR")
        .env_remove("MLCTL_MAX_LINE_BYTES")
        .env_remove("MLCTL_MAX_CELL_BYTES");
    let bytes = mib << 20;
    // SAFETY: setrlimit is async-signal-safe, and the closure touches nothing else of the parent.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    Command::from_std(cmd)
}

/// A project with model `m` trained on the sample data, and that data's header and rows.
fn trained() -> (TestProject, Vec<String>, Vec<Vec<String>>) {
    let p = TestProject::new();
    let data = p.sample("train", 300, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    let text = std::fs::read_to_string(p.path(&data)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_owned).collect();
    let rows = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    (p, header, rows)
}

/// Row `row` as a JSON object, every cell a string (typed by the training schema, as any text cell is).
fn object(header: &[String], row: &[String]) -> String {
    let fields: Vec<String> = header.iter().zip(row).map(|(h, c)| format!("\"{h}\":\"{c}\"")).collect();
    format!("{{{}}}", fields.join(","))
}

#[test]
fn a_json_array_is_predicted_element_by_element() {
    let (p, header, rows) = trained();
    // About 120 MB: read whole (text, then values), this took several times the cap.
    let path = p.path("big.json");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    out.write_all(b"[\n").unwrap();
    let n = 300_000;
    for i in 0..n {
        let separator = if i + 1 < n { ",\n" } else { "\n" };
        write!(out, "{}{separator}", object(&header, &rows[i % rows.len()])).unwrap();
    }
    out.write_all(b"]\n").unwrap();
    out.flush().unwrap();
    drop(out);
    let out = mlctl_capped(&p, MEMORY_MIB)
        .args(["-q", "predict", "m", "--input", "big.json", "-o", "preds.ndjson", "--format", "ndjson", "--no-log"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let written = std::fs::read_to_string(p.path("preds.ndjson")).unwrap();
    assert_eq!(written.lines().count(), n);

    // The same reader's errors still name the row: a non-object element, a broken array.
    p.write("bad.json", &format!("[{}, 7]", object(&header, &rows[0])));
    p.mlctl()
        .args(["predict", "m", "--input", "bad.json", "--no-log"])
        .assert()
        .code(1)
        .stderr(contains("bad.json: row 2: expected a JSON object, found a number"));
    p.write("cut.json", &format!("[{}, {}", object(&header, &rows[0]), object(&header, &rows[1])));
    p.mlctl().args(["predict", "m", "--input", "cut.json", "--no-log"]).assert().code(1).stderr(contains("cut.json"));
}

/// `size` bytes of `byte`.
fn run(byte: u8, size: usize) -> String {
    String::from_utf8(vec![byte; size]).unwrap()
}

#[test]
fn predict_refuses_lines_records_and_cells_past_their_caps() {
    let (p, header, rows) = trained();
    let head = header.join(",");
    // Row `i` with cell `col` replaced by `cell`.
    let with = |i: usize, col: usize, cell: &str| -> Vec<String> {
        let mut row = rows[i].clone();
        row[col] = cell.to_owned();
        row
    };
    let (two_mb, big_cell) = (run(b'z', 2 << 20), run(b'y', 100_000));
    let quoted = |row: &[String]| format!("\"{}\"", row.join("\",\""));
    let cases: Vec<(&str, String, String)> = vec![
        // A header line of 2 MB.
        (
            "header.csv",
            format!("{two_mb}{head}\n{}\n", rows[0].join(",")),
            "header.csv: the header line is longer than 1048576 bytes".into(),
        ),
        // A data line of 2 MB in the third row: the column where it passed the cap is named.
        (
            "line.csv",
            format!("{head}\n{}\n{}\n{}\n", rows[0].join(","), rows[1].join(","), with(2, 0, &two_mb).join(",")),
            format!("line.csv: row 3, column \"{}\": the line is longer than 1048576 bytes", header[0]),
        ),
        // A cell of 100 KB in the second column, unquoted and quoted.
        (
            "cell.csv",
            format!("{head}\n{}\n{}\n", rows[0].join(","), with(1, 1, &big_cell).join(",")),
            format!("cell.csv: row 2, column \"{}\": the cell holds 100000 bytes, more than 65536", header[1]),
        ),
        (
            "quoted.csv",
            format!("{head}\n{}\n{}\n", quoted(&rows[0]), quoted(&with(1, 1, &big_cell))),
            format!("quoted.csv: row 2, column \"{}\": the cell holds 100000 bytes", header[1]),
        ),
        // A quoted record of 2 MB.
        (
            "record.csv",
            format!("{head}\n{}\n{}\n", quoted(&rows[0]), quoted(&with(1, 1, &two_mb))),
            "record.csv: row 2: the record is longer than 1048576 bytes".into(),
        ),
        // NDJSON: a line of 2 MB; a cell of 100 KB.
        (
            "line.ndjson",
            format!("{}\n{}\n", object(&header, &rows[0]), object(&header, &with(1, 0, &two_mb))),
            "line.ndjson: row 2: the JSON object is longer than 1048576 bytes".into(),
        ),
        (
            "cell.ndjson",
            format!("{}\n{}\n", object(&header, &rows[0]), object(&header, &with(1, 1, &big_cell))),
            format!("cell.ndjson: row 2, column \"{}\": the cell holds 100000 bytes", header[1]),
        ),
        // A JSON array element of 2 MB.
        (
            "element.json",
            format!("[{}, {}]", object(&header, &rows[0]), object(&header, &with(1, 0, &two_mb))),
            "element.json: row 2: the JSON element is longer than 1048576 bytes".into(),
        ),
    ];
    for (name, text, message) in &cases {
        p.write(name, text);
        let out = mlctl_capped(&p, MEMORY_MIB).args(["predict", "m", "--input", name, "--no-log"]).output().unwrap();
        let stderr = TestProject::stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(message.as_str()), "{name}: expected {message:?} in {stderr}");
        assert!(stderr.contains("MLCTL_MAX_"), "{name}: the message says how to raise the cap: {stderr}");
    }
    // An input that never ends: /dev/zero (read, never written), stopped at the header's cap.
    mlctl_capped(&p, MEMORY_MIB)
        .args(["predict", "m", "--input", "/dev/zero", "--no-log"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains("/dev/zero: the header line is longer than 1048576 bytes"));

    // The caps are settable; a raised cell cap takes the 100 KB cell (then refused for what it is, not its size).
    mlctl_capped(&p, MEMORY_MIB)
        .args(["predict", "m", "--input", "cell.ndjson", "--no-log"])
        .env("MLCTL_MAX_CELL_BYTES", "200000")
        .assert()
        .stderr(contains("more than").not());
    p.mlctl()
        .args(["predict", "m", "--input", "cell.csv", "--no-log"])
        .env("MLCTL_MAX_LINE_BYTES", "lots")
        .assert()
        .code(1)
        .stderr(contains("MLCTL_MAX_LINE_BYTES=lots: expected a positive number of bytes"));
}

#[test]
fn train_and_export_refuse_lines_and_cells_past_their_caps() {
    let p = TestProject::new();
    let data = p.sample("base", 60, 1);
    let text = std::fs::read_to_string(p.path(&data)).unwrap();
    let (head, body) = text.split_once('\n').unwrap();
    let two_mb = 2 << 20;
    let first_column = head.split(',').next().unwrap();
    let second_column = head.split(',').nth(1).unwrap();
    let (row1, rest) = body.split_once('\n').unwrap();
    let after_first = |row: &str| row[row.find(',').unwrap()..].to_owned();
    let files = [
        (
            "header.csv",
            format!("{}{head}\n{body}", run(b'h', two_mb)),
            "header.csv: the header line is longer than 1048576 bytes".to_owned(),
        ),
        (
            "line.csv",
            format!("{head}\n{row1}\n{}{}\n{rest}", run(b'7', two_mb), after_first(row1)),
            "line.csv: row 2".to_owned(),
        ),
        (
            "cell.csv",
            format!("{head}\n{row1}\n\"{}\"{}\n{rest}", run(b'y', 100_000), after_first(row1)),
            format!("cell.csv: row 2, column \"{first_column}\": the cell holds 100000 bytes"),
        ),
    ];
    for (name, text, message) in &files {
        p.write(name, text);
        for args in
            [vec!["train", name, "--target", "success", "--name", "m"], vec!["export", "--from", name, "-o", "out.csv"]]
        {
            let out = mlctl_capped(&p, MEMORY_MIB).args(&args).output().unwrap();
            let stderr = TestProject::stderr_of(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(message.as_str()), "{args:?}: expected {message:?} in {stderr}");
        }
    }
    // export --from: NDJSON and JSON arrays are capped too.
    let big = run(b'q', two_mb);
    p.write("line.ndjson", &format!("{{\"{first_column}\": 1}}\n{{\"{first_column}\": \"{big}\"}}\n"));
    p.write("element.json", &format!("[{{\"{first_column}\": 1}}, {{\"{first_column}\": \"{big}\"}}]"));
    p.write("cell.json", &format!("[{{\"{second_column}\": \"{}\"}}]", run(b'q', 100_000)));
    for (name, message) in [
        ("line.ndjson", "line.ndjson: row 2: line 2 is longer than 1048576 bytes".to_owned()),
        ("element.json", "element.json: row 2: the JSON element is longer than 1048576 bytes".to_owned()),
        ("cell.json", format!("cell.json: row 1, column \"{second_column}\": the cell holds 100000 bytes")),
    ] {
        mlctl_capped(&p, MEMORY_MIB)
            .args(["export", "--from", name, "-o", "out.csv"])
            .assert()
            .code(1)
            .stderr(contains(message));
    }
    assert!(!p.path("out.csv").exists(), "nothing is written from a refused input");
    // A raised cap lets the long cell through.
    p.mlctl()
        .args(["-q", "export", "--from", "cell.json", "-o", "out.csv"])
        .env("MLCTL_MAX_CELL_BYTES", "100000")
        .assert()
        .success();
}

#[test]
fn a_header_wider_than_the_engine_is_refused_before_the_file_is_read() {
    let p = TestProject::new();
    // 50 rows of 100,000 columns: polars read it for 81 s and 3.8 GB before the engine's limit was found.
    let mut text: String = (0..100_000).map(|i| format!("f{i},")).collect();
    text.push_str("success\n");
    for row in 0..50 {
        text.extend((0..100_000).map(|i| if (i + row) % 3 == 0 { "1," } else { "0," }));
        text.push_str(if row % 2 == 0 { "0\n" } else { "1\n" });
    }
    p.write("wide.csv", &text);
    let started = Instant::now();
    mlctl_capped(&p, MEMORY_MIB)
        .args(["train", "wide.csv", "--target", "success", "--name", "m"])
        .assert()
        .code(1)
        .stderr(contains("wide.csv: has 100001 columns, 100000 of them features, but random-forest"))
        .stderr(contains("at most 65535 features"));
    assert!(started.elapsed() < Duration::from_secs(10), "refused in {:?}", started.elapsed());
}

#[test]
fn drift_over_many_logged_rows_uses_a_bounded_sample() {
    let (p, _, _) = trained();
    p.mlctl().args(["-q", "predict", "m", "--input", "data/train.csv", "-o", "preds.csv"]).assert().success();
    let folder = p.path("logs/predictions/m");
    let day = std::fs::read_dir(&folder).unwrap().next().unwrap().unwrap().path();
    let logged = std::fs::read_to_string(&day).unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    // 150,000 logged rows (the 300 repeated), and a torn last line.
    let n = 150_000;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&day).unwrap());
    for i in 0..n {
        writeln!(out, "{}", lines[i % lines.len()]).unwrap();
    }
    out.write_all(b"{\"timestamp\": \"2026-01-0").unwrap();
    out.flush().unwrap();
    drop(out);
    let out = mlctl_capped(&p, MEMORY_MIB).args(["--json", "drift", "m", "--logs"]).output().unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["current_rows"], n);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains(&format!("the current data is a sample of 100000 of the {n} logged rows")), "{warnings}");
    assert!(stderr.contains("1 torn line(s)"), "{stderr}");
    // The features were tested on the sample.
    for feature in report["features"].as_array().unwrap() {
        let rows = feature["current_rows"].as_u64().unwrap();
        assert!(rows > 0 && rows <= 100_000, "{feature}");
    }
    // Seeded: the same logs give the same report.
    let again = mlctl_capped(&p, MEMORY_MIB).args(["--json", "drift", "m", "--logs"]).output().unwrap();
    assert_eq!(again.stdout, out.stdout);
}
