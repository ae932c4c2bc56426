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
        .code(2)
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
    let columns = columns_of(&card);
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
            // The database's refusals are errors (1); saying nothing about what to export is a usage error (2).
            .code(if args.is_empty() { 2 } else { 1 })
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

// ---- --from FILE.json / .ndjson / .csv ---------------------------------------------------------------------------

/// The rows every file fixture holds, as the exported CSV must spell them: every type, NULL or missing in each
/// column, text that needs quoting, and (for JSON) a key that only the last row has.
fn file_rows_expected(extra: bool) -> Vec<Vec<String>> {
    let rows: Vec<Vec<&str>> = vec![
        vec!["id", "name", "score", "active", "born", "seen_at", "odd, name", "extra"],
        vec!["1", "Ann", "0.1", "true", "1990-02-28", "2024-01-02 03:04:05", "a", ""],
        vec!["2", "Smith, \"Bob\"", "-2.5e-7", "false", "2000-01-01", "2024-01-02 03:04:05.250", "line1\nline2", ""],
        vec!["3", "", "", "", "", "", "", ""],
        vec!["4", "Zoë ✓", "3", "", "2024-02-29", "2024-01-02 01:04:05+00", "cr\rlf", "only here"],
    ];
    rows.into_iter()
        .map(|r| {
            let keep = if extra { r.len() } else { r.len() - 1 };
            r[..keep].iter().map(|c| (*c).to_owned()).collect()
        })
        .collect()
}

fn columns_of(card: &serde_json::Value) -> Vec<(String, String, u64)> {
    card["columns"]
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
        .collect()
}

fn file_columns_expected(extra: bool) -> Vec<(String, String, u64)> {
    let mut columns: Vec<(String, String, u64)> = [
        ("id", "integer", 0),
        ("name", "text", 1),
        ("score", "real", 1),
        ("active", "boolean", 2),
        ("born", "date", 1),
        ("seen_at", "timestamp", 1),
        ("odd, name", "text", 1),
    ]
    .iter()
    .map(|(n, t, m)| ((*n).to_owned(), (*t).to_owned(), *m))
    .collect();
    if extra {
        columns.push(("extra".into(), "text".into(), 3));
    }
    columns
}

const JSON_OBJECTS: [&str; 4] = [
    r#"{"id": 1, "name": "Ann", "score": 0.1, "active": true, "born": "1990-02-28", "seen_at": "2024-01-02 03:04:05", "odd, name": "a"}"#,
    r#"{"id": 2, "name": "Smith, \"Bob\"", "score": -2.5e-7, "active": false, "born": "2000-01-01", "seen_at": "2024-01-02T03:04:05.250", "odd, name": "line1\nline2"}"#,
    r#"{"id": 3, "name": null, "score": null, "active": null, "born": null, "seen_at": null, "odd, name": null}"#,
    r#"{"id": 4, "name": "Zoë ✓", "score": 3, "born": "2024-02-29", "seen_at": "2024-01-02T03:04:05+02:00", "odd, name": "cr\rlf", "extra": "only here"}"#,
];

/// Exports `rel` and checks the CSV, the card, and that the copy reads back as the same rows.
fn check_file_export(p: &TestProject, rel: &str, extra: bool) {
    p.mlctl()
        .args(["export", "--from", rel, "-o", "out/copy.csv"])
        .assert()
        .success()
        .stdout(contains(format!("Exported 4 rows × {} columns to out/copy.csv", if extra { 8 } else { 7 })));
    assert_eq!(read_csv_cells(&p.path("out/copy.csv")), file_rows_expected(extra), "{rel}");
    let card = card_of(p, "out/copy.csv");
    assert_eq!(card["source"], rel);
    assert_eq!(card["query"], serde_json::Value::Null);
    assert_eq!(card["path"], "copy.csv");
    assert_eq!(card["rows"], 4);
    assert_eq!(card["exported_at"], "2026-01-02T03:04:05Z");
    assert_eq!(columns_of(&card), file_columns_expected(extra), "{rel}");
    let bytes = std::fs::read(p.path("out/copy.csv")).unwrap();
    assert_eq!(card["bytes"], bytes.len());
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(card["sha256"], sha);

    // The normalised copy is a fixed point: exporting it again gives the same bytes.
    p.mlctl().args(["export", "--from", "out/copy.csv", "-o", "out/again.csv"]).assert().success();
    assert_eq!(std::fs::read(p.path("out/again.csv")).unwrap(), bytes, "{rel}");
    assert_eq!(columns_of(&card_of(p, "out/again.csv")), file_columns_expected(extra), "{rel}");
}

#[test]
fn json_array_round_trips_every_type_null_and_quoting() {
    let p = TestProject::new();
    p.write("data/people.json", &format!("[\n  {}\n]\n", JSON_OBJECTS.join(",\n  ")));
    check_file_export(&p, "data/people.json", true);
}

#[test]
fn ndjson_round_trips_every_type_null_and_quoting() {
    let p = TestProject::new();
    // A blank line and a trailing one are skipped; the .jsonl spelling is the same format.
    p.write("data/people.ndjson", &format!("{}\n\n{}\n", JSON_OBJECTS[..2].join("\n"), JSON_OBJECTS[2..].join("\n")));
    check_file_export(&p, "data/people.ndjson", true);
    std::fs::copy(p.path("data/people.ndjson"), p.path("data/people.jsonl")).unwrap();
    check_file_export(&p, "data/people.jsonl", true);
}

#[test]
fn csv_is_typed_and_normalised() {
    let p = TestProject::new();
    p.write(
        "data/people.csv",
        "id,name,score,active,born,seen_at,\"odd, name\"\n\
         1,Ann,0.10,TRUE,1990-02-28,2024-01-02 03:04:05,a\n\
         2,\"Smith, \"\"Bob\"\"\",-2.5e-7,false,2000-01-01,2024-01-02T03:04:05.250,\"line1\nline2\"\n\
         3,NA,,null,,NULL,\n\
         04,Zoë ✓,3.0,,2024-02-29,2024-01-02T03:04:05+02:00,\"cr\rlf\"\n",
    );
    check_file_export(&p, "data/people.csv", false);
}

#[test]
fn file_errors_name_the_row_and_column_and_leave_no_file() {
    let p = TestProject::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "bad.ndjson",
            "{\"a\": 1}\n{\"a\": 2\n",
            "bad.ndjson: row 2: line 2 is not valid JSON (at character 7): EOF while parsing an object",
        ),
        ("arr.ndjson", "{\"a\": 1}\n\n[1, 2]\n", "arr.ndjson: row 2: an array (line 3): expected an object"),
        (
            "mixed.ndjson",
            "{\"a\": 1}\n{\"a\": \"x\"}\n",
            "mixed.ndjson: row 2, column \"a\": a string (line 2), but row 1 holds numbers: expected numbers",
        ),
        (
            "nested.json",
            "[{\"a\": 1}, {\"a\": [1]}]",
            "nested.json: row 2, column \"a\": an array, which a CSV cell cannot hold",
        ),
        ("twice.json", "[{\"a\": 1, \"a\": 2}]", "twice.json: row 1, column \"a\": the key appears twice"),
        ("object.json", "{\"a\": 1}", "expected a JSON array of objects"),
        ("scalar.json", "[{\"a\": 1}, 5]", "scalar.json: row 2: a number: expected an object"),
        ("broken.json", "[{\"a\": 1}, {\"a\" 2}]", "broken.json: row 2: not valid JSON: expected `:`"),
        ("empty.json", "[]", "the file holds no rows"),
        ("short.csv", "a,b\n1,2\n3\n", "short.csv: row 2: 1 fields, but the header has 2"),
        ("dup.csv", "a,a\n1,2\n", "columns 1 and 2 are both named \"a\": rename one in the header"),
        ("empty.csv", "", "the file is empty"),
    ];
    for (name, text, expected) in cases {
        p.write(name, text);
        p.mlctl().args(["export", "--from", name, "-o", "out.csv"]).assert().code(1).stderr(contains(*expected));
        assert!(!p.path("out.csv").exists(), "{name}");
        assert!(!p.path("out.csv.card.json").exists(), "{name}");
    }
    let names: Vec<_> = std::fs::read_dir(p.root()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), cases.len(), "no temp files left: {names:?}");

    p.mlctl()
        .args(["export", "--from", "data/people.xlsx", "-o", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains("or a file ending .parquet, .json, .ndjson, .jsonl or .csv"));
    p.mlctl()
        .args(["export", "--from", "missing.json", "-o", "out.csv"])
        .assert()
        .code(1)
        .stderr(contains("missing.json: No such file or directory"));
    p.write("t.json", "[{\"a\": 1}]");
    p.mlctl()
        .args(["export", "--from", "t.json", "--table", "t", "-o", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains("a file is exported whole"));
}

#[test]
fn parquet_round_trips_every_type_null_and_quoting() {
    // Written by scripts/gen_export_fixtures.py (pyarrow), in row groups of two rows.
    let p = TestProject::new();
    std::fs::create_dir_all(p.path("data")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/export/people.parquet"),
        p.path("data/people.parquet"),
    )
    .unwrap();
    p.mlctl()
        .args(["export", "--from", "data/people.parquet", "-o", "out/copy.csv"])
        .assert()
        .success()
        .stdout(contains("Exported 4 rows × 10 columns to out/copy.csv"));
    let expected: Vec<Vec<&str>> = vec![
        vec!["id", "name", "score", "ratio", "count", "active", "born", "seen_at", "seen_utc", "odd, name"],
        vec!["1", "Ann", "0.1", "0.1", "7", "true", "1990-02-28", "2024-01-02 03:04:05", "2024-01-02 01:04:05+00", "a"],
        vec![
            "2",
            "Smith, \"Bob\"",
            "-2.5e-7",
            "",
            "",
            "false",
            "2000-01-01",
            "2024-01-02 03:04:05.250",
            "",
            "line1\nline2",
        ],
        vec!["3", "", "", "1e-6", "255", "", "", "", "", ""],
        vec![
            "4",
            "Zoë ✓",
            "3",
            "2.5",
            "0",
            "true",
            "2024-02-29",
            "1970-01-01 00:00:00",
            "1969-12-31 23:59:59.500+00",
            "cr\rlf",
        ],
    ];
    assert_eq!(read_csv_cells(&p.path("out/copy.csv")), expected);
    let card = card_of(&p, "out/copy.csv");
    assert_eq!(card["source"], "data/people.parquet");
    assert_eq!(card["query"], serde_json::Value::Null);
    assert_eq!(card["rows"], 4);
    let expect = |n: &str, t: &str, m: u64| (n.to_owned(), t.to_owned(), m);
    let columns = vec![
        expect("id", "integer", 0),
        expect("name", "text", 1),
        expect("score", "real", 1),
        expect("ratio", "real", 1),
        expect("count", "integer", 1),
        expect("active", "boolean", 1),
        expect("born", "date", 1),
        expect("seen_at", "timestamp", 1),
        expect("seen_utc", "timestamp", 2),
        expect("odd, name", "text", 1),
    ];
    assert_eq!(columns_of(&card), columns);
    let bytes = std::fs::read(p.path("out/copy.csv")).unwrap();
    assert_eq!(card["bytes"], bytes.len());

    // The copy reads back through the CSV source as the same cells and types.
    p.mlctl().args(["export", "--from", "out/copy.csv", "-o", "out/again.csv"]).assert().success();
    assert_eq!(std::fs::read(p.path("out/again.csv")).unwrap(), bytes);
    assert_eq!(columns_of(&card_of(&p, "out/again.csv")), columns);

    p.write("data/bad.parquet", "not parquet at all");
    p.mlctl()
        .args(["export", "--from", "data/bad.parquet", "-o", "out/bad.csv"])
        .assert()
        .code(1)
        .stderr(contains("data/bad.parquet: cannot be read as Parquet"));
    assert!(!p.path("out/bad.csv").exists());
}

/// #32: `--shift` moves feature distributions (the outcome follows the features as before), `--concept-shift`
/// changes only the outcome; both move the same draws, so a seed gives the same people and tasks.
#[test]
fn shift_moves_features_and_concept_shift_moves_only_the_outcome() {
    let p = TestProject::new();
    let export = |name: &str, flags: &[&str]| {
        p.mlctl()
            .args(["-q", "export", "--sample", "skill-assignment", "--rows", "4000", "--seed", "3"])
            .args(flags)
            .args(["-o", &format!("data/{name}.csv")])
            .assert()
            .success();
        read_csv_cells(&p.path(&format!("data/{name}.csv")))
    };
    let column = |rows: &[Vec<String>], k: usize| -> Vec<String> { rows.iter().map(|r| r[k].clone()).collect() };
    let mean = |rows: &[Vec<String>], k: usize| -> f64 {
        let v: Vec<f64> = rows[1..].iter().filter_map(|r| r[k].parse().ok()).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let share = |rows: &[Vec<String>], k: usize, value: &str| {
        rows[1..].iter().filter(|r| r[k] == value).count() as f64 / (rows.len() - 1) as f64
    };
    let base = export("base", &[]);
    assert_eq!(
        std::fs::read(p.path("data/base.csv")).unwrap(),
        std::fs::read(p.path(&p.sample("s", 4000, 3))).unwrap()
    );

    // One feature: skill_match_score (column 9, standard deviation 0.212) moves by half of it; the other features
    // are untouched and the outcome follows (success rises with skill).
    let one = export("one", &["--shift", "skill_match_score=0.5"]);
    for k in (0..11).filter(|&k| k != 9) {
        assert_eq!(column(&one, k), column(&base, k), "column {k}");
    }
    let moved = mean(&one, 9) - mean(&base, 9);
    assert!((0.09..0.11).contains(&moved), "skill_match_score moved by {moved}");
    assert!(mean(&one, 11) > mean(&base, 11) + 0.03, "success follows skill");
    assert_eq!(
        card_of(&p, "data/one.csv")["source"],
        "sample:skill-assignment rows=4000 seed=3 shift=skill_match_score:0.5"
    );
    assert_eq!(card_of(&p, "data/base.csv")["source"], "sample:skill-assignment rows=4000 seed=3");

    // Every feature: numeric means move up, task priorities tilt towards critical, more employees are busy.
    let all = export("all", &["--shift", "0.5"]);
    assert!(mean(&all, 0) > mean(&base, 0) + 2.0, "experience, standard deviation 5.3");
    assert!(mean(&all, 2) > mean(&base, 2) + 0.3, "performance, standard deviation 0.78");
    assert!(share(&all, 5, "critical") > share(&base, 5, "critical") + 0.04);
    assert!(share(&all, 5, "low") < share(&base, 5, "low") - 0.1);
    assert!(share(&all, 4, "busy") > share(&base, 4, "busy") + 0.1);

    // Concept shift: the same features, another outcome; at 1 the skill effect is reversed.
    let concept = export("concept", &["--concept-shift", "1"]);
    for k in 0..11 {
        assert_eq!(column(&concept, k), column(&base, k), "column {k}");
    }
    let skill_gap = |rows: &[Vec<String>]| {
        let by = |label: &str| {
            let v: Vec<f64> =
                rows[1..].iter().filter(|r| r[11] == label).map(|r| r[9].parse::<f64>().unwrap()).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        by("1") - by("0")
    };
    assert!(skill_gap(&base) > 0.05 && skill_gap(&concept) < -0.05, "{} {}", skill_gap(&base), skill_gap(&concept));

    // Flag values: usage errors (exit 2).
    let fails = |args: &[&str], message: &str| {
        p.mlctl()
            .args(["export", "--sample", "skill-assignment", "-o", "x.csv"])
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(message));
    };
    fails(
        &["--shift", "skill_mach_score=1"],
        "\"skill_mach_score\" is not a feature of the sample (did you mean \"skill_match_score\"?)",
    );
    fails(&["--shift", "success=1"], "\"success\" is not a feature");
    fails(&["--shift", "far"], "--shift far: expected a number of standard deviations");
    fails(&["--concept-shift", "1.5"], "--concept-shift 1.5: expected a number from 0 to 1");
    assert!(!p.path("x.csv").exists());
    p.mlctl()
        .args(["export", "--from", "data/base.csv", "--shift", "1", "-o", "y.csv"])
        .assert()
        .code(2)
        .stderr(contains("use them with --sample, not --from"));
}
