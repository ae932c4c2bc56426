use predicates::str::contains;

use crate::common::TestProject;

#[test]
fn sample_export_is_deterministic_and_has_a_card() {
    let p = TestProject::new();
    p.sample("a", 500, 7);
    p.sample("b", 500, 7);
    let a = std::fs::read(p.path("data/a.csv")).unwrap();
    assert_eq!(a, std::fs::read(p.path("data/b.csv")).unwrap());
    let text = String::from_utf8(a).unwrap();
    assert!(text.starts_with("emp_experience_years,emp_workload_ratio,"), "{text:.80}");
    assert_eq!(text.lines().count(), 501);

    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path("data/a.csv.card.json")).unwrap()).unwrap();
    assert_eq!(card["rows"], 500);
    assert_eq!(card["path"], "a.csv", "the card names its file portably, not by an absolute path");
    assert_eq!(card["columns"].as_array().unwrap().len(), 12);
    assert_eq!(card["exported_at"], "2026-01-02T03:04:05Z");
    let sha = card["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);

    p.sample("c", 500, 8);
    assert_ne!(std::fs::read(p.path("data/a.csv")).unwrap(), std::fs::read(p.path("data/c.csv")).unwrap());
}

#[test]
fn the_shipped_sample_is_what_the_generator_makes() {
    let p = TestProject::new();
    p.sample("skill_assignment", 10_000, 42);
    let shipped = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/skill_assignment.csv")).unwrap();
    assert!(
        std::fs::read(p.path("data/skill_assignment.csv")).unwrap() == shipped,
        "data/skill_assignment.csv is stale: run make reference-model"
    );
}

#[test]
fn unknown_sample_is_a_usage_error_with_a_suggestion() {
    let p = TestProject::new();
    p.mlctl()
        .args(["export", "--sample", "skill-asignment", "-o", "x.csv"])
        .assert()
        .code(1)
        .stderr(contains("unknown sample \"skill-asignment\" (did you mean \"skill-assignment\"?)"));
    assert!(!p.path("x.csv").exists());
}

#[test]
fn json_output_is_one_document() {
    let p = TestProject::new();
    let out = p
        .mlctl()
        .args(["--json", "export", "--sample", "skill-assignment", "--rows", "50", "-o", "d.csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["rows"], 50);
}

// ---- --from sqlite:PATH ------------------------------------------------------------------------------------------

/// Every mapped type, NULLs in each column, and text that needs quoting (comma, quote, newline, CR, unicode).
fn people_db(p: &TestProject) -> std::path::PathBuf {
    let path = p.path("data/hr.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE people (
            id INTEGER PRIMARY KEY, name TEXT, score REAL, active BOOLEAN, born DATE, seen_at TIMESTAMP,
            big BIGINT, "odd, name" VARCHAR(10)
        );
        INSERT INTO people VALUES
            (1, 'Ann', 0.1, 1, '1990-02-28', '2024-01-02 03:04:05', 9007199254740993, 'a'),
            (2, 'Smith, "Bob"', -2.5e-7, 0, '2000-01-01', '2024-01-02T03:04:05.250', -1, 'line1
line2'),
            (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (4, 'Zoë ✓', 3.0, 1, 86400, 0, 0, 'cr' || char(13) || 'lf');
        "#,
    )
    .unwrap();
    path
}

fn read_csv_cells(path: &std::path::Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

fn card_of(p: &TestProject, csv: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p.path(&format!("{csv}.card.json"))).unwrap()).unwrap()
}

#[test]
fn sqlite_table_round_trips_every_type_null_and_quoting() {
    let p = TestProject::new();
    people_db(&p);
    p.mlctl()
        .args(["export", "--from", "sqlite:data/hr.db", "--table", "people", "-o", "data/people.csv"])
        .assert()
        .success()
        .stdout(contains("Exported 4 rows × 8 columns to data/people.csv"));
    let cells = read_csv_cells(&p.path("data/people.csv"));
    let expected: Vec<Vec<&str>> = vec![
        vec!["id", "name", "score", "active", "born", "seen_at", "big", "odd, name"],
        vec!["1", "Ann", "0.1", "true", "1990-02-28", "2024-01-02 03:04:05", "9007199254740993", "a"],
        vec!["2", "Smith, \"Bob\"", "-2.5e-7", "false", "2000-01-01", "2024-01-02 03:04:05.250", "-1", "line1\nline2"],
        vec!["3", "", "", "", "", "", "", ""],
        vec!["4", "Zoë ✓", "3", "true", "1970-01-02", "1970-01-01 00:00:00", "0", "cr\rlf"],
    ];
    assert_eq!(cells, expected);

    let card = card_of(&p, "data/people.csv");
    assert_eq!(card["source"], "sqlite:data/hr.db");
    assert_eq!(card["query"], "SELECT * FROM \"people\"");
    assert_eq!(card["rows"], 4);
    assert_eq!(card["exported_at"], "2026-01-02T03:04:05Z");
    let columns: Vec<(String, String, u64)> = card["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["type"].as_str().unwrap().to_owned(),
                c["missing"].as_u64().unwrap(),
            )
        })
        .collect();
    let expect = |n: &str, t: &str, m: u64| (n.to_owned(), t.to_owned(), m);
    assert_eq!(
        columns,
        vec![
            expect("id", "integer", 0),
            expect("name", "text", 1),
            expect("score", "real", 1),
            expect("active", "boolean", 1),
            expect("born", "date", 1),
            expect("seen_at", "timestamp", 1),
            expect("big", "integer", 1),
            expect("odd, name", "text", 1),
        ]
    );
    let bytes = std::fs::read(p.path("data/people.csv")).unwrap();
    assert_eq!(card["bytes"], bytes.len());
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(card["sha256"], sha);
}

#[test]
fn sqlite_query_types_expressions_by_their_values_and_json_is_one_document() {
    let p = TestProject::new();
    people_db(&p);
    let out = p
        .mlctl()
        .args([
            "--json",
            "export",
            "--from",
            "sqlite:data/hr.db",
            "--query",
            "SELECT id * 2 AS twice, score + id AS s, upper(name) AS shout FROM people WHERE id <> 3 ORDER BY id DESC;",
            "-o",
            "q.csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["rows"], 3);
    assert_eq!(
        v["query"],
        "SELECT id * 2 AS twice, score + id AS s, upper(name) AS shout FROM people WHERE id <> 3 ORDER BY id DESC"
    );
    let types: Vec<&str> = v["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["integer", "real", "text"]);
    assert_eq!(read_csv_cells(&p.path("q.csv"))[1], ["8", "7", "ZOë ✓"]);
}

#[test]
fn sqlite_value_that_does_not_fit_its_declared_type_is_kept_and_typed_text_with_a_warning() {
    let p = TestProject::new();
    let path = p.path("t.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (n INTEGER, d DATE); INSERT INTO t VALUES (1, '2024-01-01'), ('n/a', 'soon');")
        .unwrap();
    p.mlctl()
        .args(["export", "--from", "sqlite:t.db", "--table", "t", "-o", "t.csv"])
        .assert()
        .success()
        .stderr(contains("column \"n\" is declared integer but row 2 holds the text \"n/a\""))
        .stderr(contains("column \"d\" is declared date but row 2 holds the text \"soon\""));
    assert_eq!(read_csv_cells(&p.path("t.csv")), [["n", "d"], ["1", "2024-01-01"], ["n/a", "soon"]]);
    let card = card_of(&p, "t.csv");
    assert_eq!(card["columns"][0]["type"], "text");
    assert_eq!(card["columns"][1]["type"], "text");
}

#[test]
fn sqlite_errors_carry_the_database_message_and_leave_no_file() {
    let p = TestProject::new();
    people_db(&p);
    let cases: &[(&[&str], &str)] = &[
        (&["--table", "nope"], "sqlite:data/hr.db: no such table: nope"),
        (&["--query", "SELEC 1"], "sqlite:data/hr.db: near \"SELEC\": syntax error"),
        (&["--query", "SELECT nope FROM people"], "no such column: nope"),
        (&["--query", "SELECT 1 AS a, 2 AS a"], "columns 1 and 2 are both named \"a\""),
        (&[], "say what to export with --table NAME or --query"),
    ];
    for (args, expected) in cases {
        p.mlctl()
            .args(["export", "--from", "sqlite:data/hr.db", "-o", "out.csv"])
            .args(*args)
            .assert()
            .code(1)
            .stderr(contains(*expected));
        assert!(!p.path("out.csv").exists(), "{args:?}");
        assert!(!p.path("out.csv.card.json").exists(), "{args:?}");
    }
    p.mlctl()
        .args(["export", "--from", "sqlite:data/missing.db", "--table", "t", "-o", "out.csv"])
        .assert()
        .code(1)
        .stderr(contains("data/missing.db: No such file or directory"));
    assert!(!p.path("data/missing.db").exists(), "a read-only open must not create the database");
    // clap refuses both at once: a usage error.
    p.mlctl()
        .args(["export", "--from", "sqlite:data/hr.db", "--table", "people", "--query", "SELECT 1", "-o", "o.csv"])
        .assert()
        .code(2);
}

#[test]
fn a_failed_sqlite_export_leaves_the_previous_file_and_no_temp_files() {
    let p = TestProject::new();
    let path = p.path("b.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    // Enough rows that the CSV writer has flushed to the temp file before the BLOB fails the export.
    conn.execute_batch(
        "CREATE TABLE b (id INTEGER, v); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 50000)
         INSERT INTO b SELECT i, 'row ' || i FROM s; INSERT INTO b VALUES (50001, x'00ff');",
    )
    .unwrap();
    std::fs::create_dir_all(p.path("out")).unwrap();
    std::fs::write(p.path("out/b.csv"), "old\n").unwrap();
    p.mlctl()
        .args(["export", "--from", "sqlite:b.db", "--table", "b", "-o", "out/b.csv"])
        .assert()
        .code(1)
        .stderr(contains("row 50001, column \"v\": a BLOB, which a CSV cannot hold"));
    assert_eq!(std::fs::read_to_string(p.path("out/b.csv")).unwrap(), "old\n");
    let names: Vec<_> = std::fs::read_dir(p.path("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["b.csv"]);
}

#[test]
fn an_exported_table_trains() {
    let p = TestProject::new();
    p.sample("s", 300, 3);
    // Load the sample into SQLite through the CSV reader, then export it back: the same cells.
    let conn = rusqlite::Connection::open(p.path("s.db")).unwrap();
    let cells = read_csv_cells(&p.path("data/s.csv"));
    let header = &cells[0];
    let cols: Vec<String> = header.iter().map(|h| format!("\"{h}\"")).collect();
    conn.execute_batch(&format!("CREATE TABLE s ({});", cols.join(", "))).unwrap();
    let marks = vec!["?"; header.len()].join(", ");
    for row in &cells[1..] {
        let values: Vec<Option<&str>> = row.iter().map(|c| (!c.is_empty()).then_some(c.as_str())).collect();
        conn.execute(&format!("INSERT INTO s VALUES ({marks})"), rusqlite::params_from_iter(values)).unwrap();
    }
    p.mlctl().args(["export", "--from", "sqlite:s.db", "--table", "s", "-o", "data/back.csv"]).assert().success();
    assert_eq!(read_csv_cells(&p.path("data/back.csv")), cells);
    p.mlctl()
        .args(["train", "data/back.csv", "--target", "success", "--name", "back"])
        .args(crate::common::QUICK)
        .assert()
        .success();
}
