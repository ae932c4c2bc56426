//! `export --from postgres://` against a real PostgreSQL server: a throwaway cluster (initdb + pg_ctl) in a temp
//! dir on 127.0.0.1 and a free port, stopped by a Drop guard even when an assertion fails. PostgreSQL comes from
//! Debian's packages (scripts/install_postgres.sh) when it is not installed; if it still cannot be had, the test
//! fails under CI=true and says it skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::str::contains;

use crate::common::TestProject;

const USER: &str = "mlctl";
/// Characters that need escaping both in a URL and in a password file.
const PASSWORD: &str = "pa:ss@w0rd";
const PASSWORD_IN_URL: &str = "pa%3Ass%40w0rd";

pub struct PgServer {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    /// We are root, and initdb refuses root: run the server's tools as the `postgres` OS user.
    as_postgres: bool,
    pub port: u16,
}

/// The folder holding `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/<version>/bin`, else the first
/// folder on `PATH` with both (Homebrew, Fedora, a source build).
fn find_bindir() -> Option<PathBuf> {
    debian_bindir().or_else(|| bindir_on_path(&std::env::var_os("PATH")?))
}

fn has_server_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn bindir_on_path(path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path).find(|dir| has_server_tools(dir))
}

fn debian_bindir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| has_server_tools(b))
        .collect();
    versions.sort_by_key(|b| {
        b.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn os_user_id(name: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, name]).output().expect("id runs");
    assert!(out.status.success(), "no OS user {name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric id")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PgServer {
    /// A running server with superuser `mlctl` (password [`PASSWORD`], scram-sha-256 over TCP), or None when
    /// PostgreSQL cannot be had and this is not CI.
    pub fn start() -> Option<Self> {
        let bindir = match find_bindir() {
            Some(b) => b,
            None => {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install_postgres.sh");
                let status = Command::new("bash").arg(script).status();
                match (status, find_bindir()) {
                    (_, Some(b)) => b,
                    (status, None) => {
                        let why = format!("PostgreSQL is not installed and {script} could not install it ({status:?})");
                        if std::env::var("CI").is_ok_and(|v| v == "true") {
                            panic!("{why}: CI needs the real server");
                        }
                        eprintln!("SKIPPED the PostgreSQL export test: {why}");
                        return None;
                    }
                }
            }
        };
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("mlctl-pg-").tempdir().unwrap();
        if as_postgres {
            std::os::unix::fs::chown(
                dir.path(),
                Some(os_user_id("postgres", "-u")),
                Some(os_user_id("postgres", "-g")),
            )
            .unwrap();
        }
        let mut server = PgServer { dir, bindir, as_postgres, port: 0 };
        let pwfile = server.dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        server.chown(&pwfile);
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                &format!("--pwfile={}", pwfile.display()),
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // A port that was free a moment ago may be taken by the time the server binds it: try a few.
        for attempt in 1..=3 {
            server.port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c TimeZone=Europe/Paris",
                server.port,
                server.dir.path().display()
            );
            let log = server.dir.path().join("server.log");
            let ok = server.try_run(
                "pg_ctl",
                &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options, "-w", "-t", "60", "start"],
            );
            if ok {
                return Some(server);
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(attempt < 3, "pg_ctl start failed three times; server log:\n{text}");
        }
        unreachable!()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn chown(&self, path: &Path) {
        if self.as_postgres {
            std::os::unix::fs::chown(path, Some(os_user_id("postgres", "-u")), Some(os_user_id("postgres", "-g")))
                .unwrap();
        }
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bindir.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn try_run(&self, tool: &str, args: &[&str]) -> bool {
        let out = self.command(tool).args(args).current_dir(self.dir.path()).output().expect("runs");
        if !out.status.success() {
            eprintln!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out.status.success()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        assert!(self.try_run(tool, args), "{tool} {args:?} failed");
    }

    pub fn url(&self, with_password: bool) -> String {
        let auth = if with_password { format!("{USER}:{PASSWORD_IN_URL}") } else { USER.to_owned() };
        format!("postgres://{auth}@127.0.0.1:{}/postgres", self.port)
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(true), postgres::NoTls).expect("connect to the test server")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.data();
            let _ = self.try_run("pg_ctl", &["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"]);
        }
    }
}

/// `mlctl` with no password in its environment and a private HOME (no ~/.pgpass of the machine's).
fn mlctl(p: &TestProject) -> assert_cmd::Command {
    let mut cmd = p.mlctl();
    cmd.env_remove("PGPASSWORD").env_remove("PGPASSFILE").env("HOME", p.path("home"));
    cmd
}

fn cells(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

const FIXTURE: &str = r#"
    CREATE SCHEMA hr;
    CREATE TABLE hr.people (
        id int4 PRIMARY KEY, small int2, big int8, r4 float4, r8 float8, amount numeric(14, 3), flag bool,
        born date, seen timestamp, seen_tz timestamptz, name text, code varchar(20), tag char(3), meta jsonb
    );
    INSERT INTO hr.people VALUES
        (1, -32768, 9223372036854775807, 0.1, 0.1, 1234567890.125, true, '1990-02-28', '2024-01-02 03:04:05',
         '2024-01-02 03:04:05+02', 'Ann', 'a', 'x', '{"k": 1}'),
        (2, 7, -1, -2.5e-7, 1e300, -0.001, false, '2000-01-01', '2024-01-02 03:04:05.25',
         '2024-06-30 23:59:59.999999+00', 'Smith, "Bob"', 'line1
line2', 'yz', '[]'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

#[test]
fn postgres_export_against_a_real_server() {
    let Some(server) = PgServer::start() else { return };
    server.client().batch_execute(FIXTURE).unwrap();
    let p = TestProject::new();
    std::fs::create_dir_all(p.path("home")).unwrap();

    // 1. Password in the URL; --table with a schema.
    let out = mlctl(&p)
        .args(["export", "--from", &server.url(true), "--table", "hr.people", "-o", "data/people.csv"])
        .output()
        .unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Exported 3 rows × 14 columns"), "{stdout}");
    let expected: Vec<Vec<&str>> = vec![
        vec![
            "id", "small", "big", "r4", "r8", "amount", "flag", "born", "seen", "seen_tz", "name", "code", "tag",
            "meta",
        ],
        vec![
            "1",
            "-32768",
            "9223372036854775807",
            "0.1",
            "0.1",
            "1234567890.125",
            "true",
            "1990-02-28",
            "2024-01-02 03:04:05",
            "2024-01-02 01:04:05+00",
            "Ann",
            "a",
            "x  ",
            "{\"k\": 1}",
        ],
        vec![
            "2",
            "7",
            "-1",
            "-2.5e-7",
            "1e300",
            "-0.001",
            "false",
            "2000-01-01",
            "2024-01-02 03:04:05.250",
            "2024-06-30 23:59:59.999999+00",
            "Smith, \"Bob\"",
            "line1\nline2",
            "yz ",
            "[]",
        ],
        vec!["3", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    ];
    assert_eq!(cells(&p.path("data/people.csv")), expected);
    let card_text = std::fs::read_to_string(p.path("data/people.csv.card.json")).unwrap();
    for secret in [PASSWORD, PASSWORD_IN_URL] {
        assert!(!card_text.contains(secret) && !stdout.contains(secret) && !stderr.contains(secret), "password leaked");
    }
    let card: serde_json::Value = serde_json::from_str(&card_text).unwrap();
    assert_eq!(card["source"], server.url(false));
    assert_eq!(card["query"], "SELECT * FROM \"hr\".\"people\"");
    assert_eq!(card["rows"], 3);
    let types: Vec<&str> = card["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "integer",
            "integer",
            "integer",
            "real",
            "real",
            "real",
            "boolean",
            "date",
            "timestamp",
            "timestamp",
            "text",
            "text",
            "text",
            "text"
        ]
    );
    let missing: Vec<u64> =
        card["columns"].as_array().unwrap().iter().map(|c| c["missing"].as_u64().unwrap()).collect();
    assert_eq!(missing, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);

    // 2. PGPASSWORD, and a query spanning more rows than one portal batch.
    mlctl(&p)
        .env("PGPASSWORD", PASSWORD)
        .args(["export", "--from", &server.url(false), "-o", "series.csv"])
        .args(["--query", "SELECT g AS n, g % 3 = 0 AS fizz FROM generate_series(1, 10000) g ORDER BY g"])
        .assert()
        .success();
    let series = cells(&p.path("series.csv"));
    assert_eq!(series.len(), 10_001);
    assert_eq!(series[9], ["9", "true"]);
    assert_eq!(series[10_000], ["10000", "false"]);

    // 3. ~/.pgpass (with escaped colons), ignored while others can read it.
    let pgpass = p.path("home/.pgpass");
    std::fs::write(&pgpass, format!("# comment\n127.0.0.1:{}:*:{USER}:pa\\:ss@w0rd\n", server.port)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    mlctl(&p)
        .args(["export", "--from", &server.url(false), "--table", "hr.people", "-o", "p.csv"])
        .assert()
        .code(1)
        .stderr(contains("ignored because others can read it"));
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    mlctl(&p).args(["export", "--from", &server.url(false), "--table", "hr.people", "-o", "p.csv"]).assert().success();
    assert_eq!(cells(&p.path("p.csv")), expected);
    std::fs::remove_file(&pgpass).unwrap();

    // 4. The database's own messages, exit 1, no file.
    let wrong = format!("postgres://{USER}:nottheone@127.0.0.1:{}/postgres", server.port);
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (server.url(true), vec!["--table", "nope"], "ERROR: relation \"nope\" does not exist"),
        (server.url(true), vec!["--query", "SELEC 1"], "ERROR: syntax error at or near \"SELEC\""),
        (server.url(true), vec!["--query", "SELECT 1/0 AS x"], "ERROR: division by zero"),
        (server.url(true), vec!["--query", "SELECT interval '1 day' AS i"], "column \"i\" has type interval"),
        (wrong.clone(), vec!["--table", "hr.people"], "password authentication failed for user \"mlctl\""),
        (server.url(false), vec!["--table", "hr.people"], "password"),
    ];
    for (url, args, expected) in cases {
        let out = mlctl(&p).args(["export", "--from", &url, "-o", "bad.csv"]).args(&args).output().unwrap();
        let stderr = TestProject::stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("nottheone") && !stderr.contains(PASSWORD_IN_URL), "password leaked: {stderr}");
        assert!(!p.path("bad.csv").exists());
    }
}

#[test]
fn an_unreachable_server_is_an_error_naming_it() {
    let port = free_port(); // nothing listens there now
    let p = TestProject::new();
    let url = format!("postgres://ann:hunter2@127.0.0.1:{port}/hr");
    let out = mlctl(&p).args(["export", "--from", &url, "--table", "t", "-o", "x.csv"]).output().unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("postgres://ann@127.0.0.1:{port}/hr: error connecting to server")), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!p.path("x.csv").exists());
}

#[test]
fn the_server_tools_are_found_on_path_too() {
    let empty = tempfile::tempdir().unwrap();
    let half = tempfile::tempdir().unwrap();
    let tools = tempfile::tempdir().unwrap();
    std::fs::write(half.path().join("initdb"), "").unwrap();
    for tool in ["initdb", "pg_ctl"] {
        std::fs::write(tools.path().join(tool), "").unwrap();
    }
    let path = std::env::join_paths([empty.path(), half.path(), tools.path()]).unwrap();
    assert_eq!(bindir_on_path(&path).as_deref(), Some(tools.path()), "the first folder with both tools");
    let path = std::env::join_paths([empty.path(), half.path()]).unwrap();
    assert_eq!(bindir_on_path(&path), None, "initdb alone is not enough");
}
