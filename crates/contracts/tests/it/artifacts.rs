//! The checked-in artifacts in `crates/contracts/artifacts` match a fresh compilation of
//! `contracts/src`, and every artifact has a binding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ply_contracts::Contract;
use serde_json::Value;

const REBUILD: &str = "run `scripts/contracts.sh build` and commit crates/contracts/artifacts";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

/// forge's platform binary from npm (the `node_modules/.bin` wrapper hides the exit status).
fn forge_path(root: &Path) -> PathBuf {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let exe = if os == "win32" { "forge.exe" } else { "forge" };
    root.join(format!("node_modules/@foundry-rs/forge-{os}-{arch}/bin/{exe}"))
}

/// The parts of an artifact the bindings are generated from.
#[derive(Debug, PartialEq)]
struct Trimmed {
    abi: Value,
    bytecode: String,
    deployed_bytecode: String,
}

impl Trimmed {
    fn from_json(json: &Value, what: &str) -> Self {
        let object = |key: &str| {
            json[key]["object"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no string at {key}.object"))
                .to_owned()
        };
        Self {
            abi: json.get("abi").cloned().unwrap_or_else(|| panic!("{what}: no abi")),
            bytecode: object("bytecode"),
            deployed_bytecode: object("deployedBytecode"),
        }
    }
}

/// The checked-in artifacts, by contract name.
fn checked_in() -> BTreeMap<String, Trimmed> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(artifacts_dir()).expect("read crates/contracts/artifacts") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read artifact");
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: invalid JSON ({e}); {REBUILD}", path.display()));
            out.insert(name, Trimmed::from_json(&json, &path.display().to_string()));
        }
    }
    out
}

fn json_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read forge output") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_none_or(|n| n != "build-info") {
                json_files(&path, files);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}

/// Compiles `contracts/` with forge into `tmp` (output and cache, leaving the tree alone) with the
/// flags `scripts/contracts.sh build` uses, and returns the contracts defined under `src/`.
fn compile_fresh(root: &Path, forge: &Path, tmp: &Path) -> BTreeMap<String, Trimmed> {
    let contracts = root.join("contracts");
    let output = Command::new(forge)
        .current_dir(&contracts)
        .arg("build")
        .arg("--use")
        .arg(contracts.join("solc-js"))
        .arg("--out")
        .arg(tmp.join("out"))
        .arg("--cache-path")
        .arg(tmp.join("cache"))
        .args(["--skip", "test", "--skip", "script"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", forge.display()));
    assert!(
        output.status.success(),
        "forge build failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );

    let mut files = Vec::new();
    json_files(&tmp.join("out"), &mut files);
    let mut out = BTreeMap::new();
    for path in files {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("forge JSON");
        let target = json["metadata"]["settings"]["compilationTarget"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no compilationTarget", path.display()));
        let (source, name) = target.iter().next().expect("one compilation target");
        if source.starts_with("src/") {
            let name = name.as_str().expect("contract name").to_owned();
            let previous = out.insert(name.clone(), Trimmed::from_json(&json, source));
            assert!(previous.is_none(), "two contracts named {name} under contracts/src");
        }
    }
    out
}

/// The checked-in artifacts equal a fresh build of the sources.
///
/// Needs forge and solc-js from `npm ci`; set `PLY_SKIP_FORGE=1` to skip where they cannot be
/// installed.
#[test]
fn artifacts_match_fresh_compilation() {
    if std::env::var_os("PLY_SKIP_FORGE").is_some_and(|v| v == "1") {
        eprintln!("PLY_SKIP_FORGE=1: skipping the artifact staleness check (it needs forge)");
        return;
    }
    let root = repo_root();
    let forge = forge_path(&root);
    assert!(
        forge.is_file(),
        "forge not found at {}: run `npm ci` in {} first (or set PLY_SKIP_FORGE=1 to skip this check)",
        forge.display(),
        root.display(),
    );
    assert!(
        root.join("node_modules/solc/package.json").is_file(),
        "solc-js not found in {}/node_modules/solc: run `npm ci` first (or set PLY_SKIP_FORGE=1)",
        root.display(),
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let fresh = compile_fresh(&root, &forge, tmp.path());
    let stored = checked_in();

    let mut problems = Vec::new();
    for (name, fresh) in &fresh {
        match stored.get(name) {
            None => problems.push(format!("{name}: no checked-in artifact")),
            Some(stored) => {
                if stored.abi != fresh.abi {
                    problems.push(format!("{name}: abi differs"));
                }
                if stored.bytecode != fresh.bytecode {
                    problems.push(format!("{name}: bytecode differs"));
                }
                if stored.deployed_bytecode != fresh.deployed_bytecode {
                    problems.push(format!("{name}: deployedBytecode differs"));
                }
            }
        }
    }
    for name in stored.keys().filter(|name| !fresh.contains_key(*name)) {
        problems.push(format!("{name}: artifact for a contract no longer in contracts/src"));
    }
    assert!(
        problems.is_empty(),
        "the checked-in artifacts are stale:\n  {}\n{REBUILD}",
        problems.join("\n  "),
    );
}

/// Every checked-in artifact has a `Contract` variant (and so a binding), and the other way round.
#[test]
fn every_artifact_has_a_binding() {
    let stored: Vec<String> = checked_in().into_keys().collect();
    let bound: Vec<String> = Contract::ALL.iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(
        stored, bound,
        "crates/contracts/artifacts and ply_contracts::Contract::ALL disagree: add a `sol!` \
         binding and a `Contract` variant for each artifact (in name order)"
    );
}

/// The accessors on `Contract` return what the artifact holds.
#[test]
fn contract_accessors_match_artifacts() {
    let stored = checked_in();
    for &contract in Contract::ALL {
        let artifact = &stored[contract.name()];
        assert_eq!(contract.bytecode().to_string(), artifact.bytecode, "{contract:?} bytecode");
        assert_eq!(
            contract.deployed_bytecode().to_string(),
            artifact.deployed_bytecode,
            "{contract:?} deployed bytecode"
        );
        assert_eq!(
            contract.bytecode().is_empty(),
            contract.is_abstract(),
            "{contract:?} has creation code unless abstract"
        );
        let expected: alloy::json_abi::JsonAbi =
            serde_json::from_value(artifact.abi.clone()).unwrap();
        assert_eq!(contract.abi(), expected, "{contract:?} abi");
    }
}
