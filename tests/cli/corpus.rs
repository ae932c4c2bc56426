//! Replays the bad-input corpus (tests/corpus/cases.toml): every case must exit with its code, say what it
//! says, never panic, and a failed train must register nothing and leave no half-written file.

use serde::Deserialize;

use crate::common::TestProject;

#[derive(Debug, Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    file: Option<String>,
    generate: Option<String>,
    #[serde(default)]
    needs_model: bool,
    damage: Option<String>,
    args: Vec<String>,
    code: i32,
    message: Option<String>,
    /// Runs the command with its address space capped at this many MiB (`ulimit -v`), for the size cases.
    memory_mib: Option<u64>,
}

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

fn generated(kind: &str) -> Vec<u8> {
    match kind {
        "non_utf8" => b"a,b,success\n1,x,0\n2,\xff\xfe,1\n".to_vec(),
        // Deterministic pseudo-random bytes: a file that is not text at all.
        "garbage" => {
            let mut x: u32 = 2_463_534_242;
            (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 24) as u8
                })
                .collect()
        }
        // Lines and cells past the caps (1 MiB, 64 KiB): a 2 MB header, a 2 MB data line, a 100 KB cell.
        "long_header" => format!("{}a,b,success\n1,x,0\n2,y,1\n", "h".repeat(2 << 20)).into_bytes(),
        "long_line" => format!("a,b,success\n1,x,0\n2,{},1\n", "y".repeat(2 << 20)).into_bytes(),
        "long_cell" => format!("a,b,success\n1,x,0\n2,\"{}\",1\n", "y".repeat(100_000)).into_bytes(),
        // 100,000 feature columns, more than the tree engine indexes (65,535).
        "very_wide" => {
            let mut text: String = (0..100_000).map(|i| format!("f{i},")).collect();
            text.push_str("success\n");
            for row in 0..50 {
                text.extend((0..100_000).map(|i| if (i + row) % 2 == 0 { "1," } else { "0," }));
                text.push_str(if row % 2 == 0 { "0\n" } else { "1\n" });
            }
            text.into_bytes()
        }
        "wide" => {
            let mut text: String = (0..10_000).map(|i| format!("f{i},")).collect();
            text.push_str("success\n");
            for row in 0..6 {
                text.extend((0..10_000).map(|i| format!("{},", (i * 7 + row * 13) % 10)));
                text.push_str(&format!("{}\n", row % 2));
            }
            text.into_bytes()
        }
        other => panic!("unknown generator {other}"),
    }
}

fn damage(p: &TestProject, how: &str) {
    let model = p.path("ml_models/m/1.0.0/model.bin");
    let mut bytes = std::fs::read(&model).unwrap();
    match how {
        "truncate" => bytes.truncate(bytes.len() / 2),
        "flip" => {
            let i = bytes.len() - 3;
            bytes[i] ^= 0x10;
        }
        "zero" => bytes.iter_mut().for_each(|b| *b = 0),
        "future" => {
            // A valid file from a newer mlctl: the registry's checksum matches, the format does not.
            bytes[8] = 99;
            let sha = mlctl::fs::sha256_hex(&bytes);
            let reg = p.path("ml_models/registry.json");
            let text = std::fs::read_to_string(&reg).unwrap();
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["models"]["m"]["versions"][0]["artifact_sha256"] = serde_json::Value::String(sha);
            std::fs::write(&reg, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        }
        "registry" => {
            let reg = p.path("ml_models/registry.json");
            let text = std::fs::read_to_string(&reg).unwrap();
            std::fs::write(&reg, text.replacen("\"versions\"", "\"versoins\"", 1)).unwrap();
            return;
        }
        "registry_future" => {
            let reg = p.path("ml_models/registry.json");
            let text = std::fs::read_to_string(&reg).unwrap();
            std::fs::write(&reg, text.replacen("\"format\": 1", "\"format\": 7", 1)).unwrap();
            return;
        }
        other => panic!("unknown damage {other}"),
    }
    std::fs::write(&model, bytes).unwrap();
}

#[test]
fn every_bad_input_case_behaves_as_recorded() {
    let corpus: Corpus = toml::from_str(&std::fs::read_to_string(format!("{CORPUS}/cases.toml")).unwrap()).unwrap();
    assert!(corpus.case.len() >= 20);
    let mut failures = Vec::new();
    for case in &corpus.case {
        let p = TestProject::new();
        std::fs::create_dir_all(p.path("data")).unwrap();
        std::fs::copy(format!("{CORPUS}/files/base.csv"), p.path("data/base.csv")).unwrap();
        if case.needs_model {
            p.mlctl()
                .args(["-q", "train", "data/base.csv", "--target", "success", "--name", "m", "--set", "n_trees=3"])
                .assert()
                .success();
        }
        if let Some(how) = &case.damage {
            damage(&p, how);
        }
        let file = match (&case.file, &case.generate) {
            (Some(f), _) => {
                std::fs::copy(format!("{CORPUS}/files/{f}"), p.path(f)).unwrap();
                f.clone()
            }
            (None, Some(kind)) => {
                let name = format!("{kind}.csv");
                std::fs::write(p.path(&name), generated(kind)).unwrap();
                name
            }
            (None, None) => String::new(),
        };
        let args: Vec<String> = case.args.iter().map(|a| a.replace("{file}", &file)).collect();
        let registry_before = std::fs::read(p.path("ml_models/registry.json")).ok();
        let mut command = match case.memory_mib {
            Some(mib) => crate::bounded::mlctl_capped(&p, mib),
            None => p.mlctl(),
        };
        let out = command.args(&args).output().unwrap();
        let stderr = TestProject::stderr_of(&out);
        let mut problems = Vec::new();
        if out.status.code() != Some(case.code) {
            problems.push(format!("exit {:?}, expected {}", out.status.code(), case.code));
        }
        if stderr.contains("panicked") {
            problems.push("panicked".to_owned());
        }
        if let Some(m) = &case.message {
            if !stderr.contains(m.as_str()) {
                problems.push(format!("stderr lacks {m:?}"));
            }
        }
        if case.code != 0 && case.args[0] == "train" {
            let after = std::fs::read(p.path("ml_models/registry.json")).ok();
            if after != registry_before {
                problems.push("the registry changed".to_owned());
            }
        }
        let debris = walk(p.root()).into_iter().filter(|n| n.contains(".tmp-") || n.contains(".incoming-")).count();
        if debris > 0 {
            problems.push(format!("{debris} half-written file(s) left"));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {} — stderr: {}", case.name, problems.join("; "), stderr.trim()));
        }
    }
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        out.push(path.display().to_string());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}
