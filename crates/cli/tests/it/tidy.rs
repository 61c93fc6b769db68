//! Tidy tests: the workspace's layout as ARCHITECTURE.md draws it.
//!
//! - the crates' layering (`core ← config-kit ← ams, store, sso ← config,
//!   sync ← web ← cli`; `sim` on `core` and `sso`, used by `cli` and by
//!   tests), read from each crate's Cargo.toml;
//! - `core` does no I/O: no I/O crate among its dependencies, no
//!   `std::net`, `std::fs` or `std::process` in its sources;
//! - every test ARCHITECTURE.md names as the check of a store invariant
//!   exists (and a conformance test is one the suite runs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn toml_of(path: &Path) -> toml::Table {
    toml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each crate of ours (its folder under `crates/`) and its layer: a crate
/// may depend only on crates of lower layers.
const LAYERS: [(&str, u8); 10] = [
    ("core", 0),
    ("config-kit", 1),
    ("ams", 2),
    ("store", 2),
    ("sso", 2),
    ("config", 3),
    ("sync", 3),
    ("sim", 3),
    ("web", 4),
    ("cli", 5),
];

/// `sim` is beside the layers: what it may use, and who may use it (its
/// dev-dependents aside: any crate's tests may run the simulator).
const SIM_USES: [&str; 2] = ["core", "sso"];
const SIM_USED_BY: [&str; 1] = ["cli"];

/// Crates that do I/O, which `core` must not depend on.
const IO_CRATES: [&str; 14] = [
    "tokio",
    "tokio-util",
    "rusqlite",
    "r2d2",
    "r2d2_sqlite",
    "sqlx",
    "tokio-postgres",
    "postgres",
    "reqwest",
    "hyper",
    "hyper-util",
    "axum",
    "tower",
    "mio",
];

/// A crate's folder name from a dependency on it (`amsync-store` → `store`;
/// `amsync` is the cli's library).
fn our_crate(dep: &str) -> Option<&str> {
    match dep {
        "amsync" => Some("cli"),
        _ => dep.strip_prefix("amsync-"),
    }
}

/// The crate folders the workspace lists.
fn members() -> Vec<String> {
    let root = toml_of(&workspace().join("Cargo.toml"));
    let members = root["workspace"]["members"].as_array().expect("workspace.members");
    members
        .iter()
        .map(|m| m.as_str().unwrap().strip_prefix("crates/").expect("a member under crates/").to_string())
        .collect()
}

/// The dependencies of a crate in one table (`dependencies`,
/// `dev-dependencies`).
fn deps(krate: &str, table: &str) -> Vec<String> {
    let manifest = toml_of(&workspace().join("crates").join(krate).join("Cargo.toml"));
    manifest.get(table).and_then(|t| t.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default()
}

fn layer(krate: &str) -> u8 {
    LAYERS.iter().find(|(k, _)| *k == krate).unwrap_or_else(|| panic!("crates/{krate} has no layer in LAYERS")).1
}

/// Why `from` may not depend on `to`, if it may not.
fn forbidden(from: &str, to: &str, dev: bool) -> Option<String> {
    if to == "sim" {
        return (!dev && !SIM_USED_BY.contains(&from)).then(|| "only cli uses sim (and tests)".to_string());
    }
    if from == "sim" {
        return (!SIM_USES.contains(&to)).then(|| format!("sim uses only {SIM_USES:?}"));
    }
    (layer(to) >= layer(from))
        .then(|| format!("{to} (layer {}) is not below {from} (layer {})", layer(to), layer(from)))
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let members = members();
    for m in &members {
        layer(m);
    }
    let mut problems = Vec::new();
    let mut edges = BTreeMap::new();
    for from in &members {
        for (table, dev) in [("dependencies", false), ("dev-dependencies", true)] {
            for dep in deps(from, table) {
                let Some(to) = our_crate(&dep) else { continue };
                if to == from {
                    continue; // a crate's tests may use its own features
                }
                assert!(members.iter().any(|m| m == to), "crates/{from} depends on {dep}, not a workspace member");
                if let Some(why) = forbidden(from, to, dev) {
                    problems.push(format!("crates/{from} [{table}] {dep}: {why}"));
                }
                if !dev {
                    edges.entry(from.clone()).or_insert_with(Vec::new).push(to.to_string());
                }
            }
        }
    }
    assert!(problems.is_empty(), "the layering of ARCHITECTURE.md is broken:\n{}", problems.join("\n"));
    // The check reads real edges (a parser that found none would pass).
    assert!(edges.get("cli").is_some_and(|e| e.len() >= 6), "cli's edges: {:?}", edges.get("cli"));
    assert!(!edges.contains_key("core"), "core depends on {:?}", edges.get("core"));
}

#[test]
fn the_layering_test_refuses_an_edge_upwards_or_sideways() {
    assert!(forbidden("store", "sync", false).is_some());
    assert!(forbidden("ams", "store", false).is_some());
    assert!(forbidden("config", "sync", false).is_some());
    assert!(forbidden("web", "sim", false).is_some());
    assert!(forbidden("sim", "store", false).is_some());
    assert!(forbidden("ams", "sim", true).is_none());
    assert!(forbidden("sync", "store", false).is_none());
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_does_no_io() {
    for table in ["dependencies", "dev-dependencies"] {
        for dep in deps("core", table) {
            assert!(!IO_CRATES.contains(&dep.as_str()), "crates/core [{table}] has {dep}: core does no I/O");
            assert!(our_crate(&dep).is_none(), "crates/core [{table}] has {dep}: core depends on nothing of ours");
        }
    }
    let mut sources = Vec::new();
    rust_sources(&workspace().join("crates/core/src"), &mut sources);
    assert!(sources.len() > 10, "core's sources: {sources:?}");
    for path in sources {
        let text = read(&path);
        for word in ["std::net", "std::fs", "std::process", "tokio::", "File::open"] {
            assert!(!text.contains(word), "{} uses {word}: core does no I/O", path.display());
        }
    }
}

/// The `checked by` cells of ARCHITECTURE.md's table of the store's
/// invariants: each a test's path, `root::module::…::name`.
fn invariant_table_tests() -> Vec<String> {
    let text = read(&workspace().join("ARCHITECTURE.md"));
    let start = text.find("| store invariant | checked by |").expect("ARCHITECTURE.md has the store's invariant table");
    let mut out = Vec::new();
    for line in text[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cell = line.trim_end_matches('|').rsplit('|').next().unwrap();
        let names: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
        assert!(!names.is_empty(), "a row of the invariant table names no test: {line}");
        out.extend(names.into_iter().map(str::to_string));
    }
    out
}

/// The file a test path's module is in, and the test's name.
fn locate(test: &str) -> (PathBuf, String) {
    let mut parts: Vec<&str> = test.split("::").collect();
    let name = parts.pop().unwrap().to_string();
    assert!(parts.len() >= 2, "{test}: write it root::module::name");
    let root = match parts.remove(0) {
        "conformance" => "crates/store/tests/conformance".to_string(),
        "it" => "crates/cli/tests/it".to_string(),
        krate => format!("crates/{krate}/src"),
    };
    // A `mod tests` is its own file (`tests.rs`) or inline in its
    // parent's file.
    let root = workspace().join(root);
    let own_file = root.join(parts.join("/"));
    parts.retain(|p| *p != "tests");
    let base = root.join(parts.join("/"));
    let file = [own_file.with_extension("rs"), base.with_extension("rs"), base.join("mod.rs")]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{test}: no file {}.rs", base.display()));
    (file, name)
}

#[test]
fn every_test_the_invariant_table_names_exists() {
    let tests = invariant_table_tests();
    assert!(tests.len() >= 10, "the table names {} tests", tests.len());
    let conformance = read(&workspace().join("crates/store/tests/conformance/main.rs"));
    for test in tests {
        let (file, name) = locate(&test);
        let text = read(&file);
        assert!(text.contains(&format!("fn {name}(")), "{test}: no fn {name} in {}", file.display());
        if let Some(path) = test.strip_prefix("conformance::") {
            // A conformance test runs only when the suite's list names it.
            assert!(conformance.contains(&format!("{path},")), "{test} is not in the conformance suite's list");
        }
    }
}
