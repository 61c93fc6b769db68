//! Tests that hold the seam's layout true (see `backend/mod.rs`): the ops
//! know no database, and neither backend (SQLite, PostgreSQL) decides
//! anything the ops or `amsync_core` decide.

use std::path::{Path, PathBuf};

fn sources(folder: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(folder);
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no sources in {}", dir.display());
    out
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

#[test]
fn the_ops_know_no_database() {
    for (path, text) in sources("ops") {
        for word in ["rusqlite", "r2d2", "sqlx", "postgres", "SqliteTx", "crate::sqlite", "prepare_cached", "SELECT "] {
            assert!(!text.contains(word), "{} names {word:?}: ops/ is written once for every backend", path.display());
        }
    }
}

/// Calls that decide what a refresh, a hold or a run's end does: they
/// belong in `ops/` (which asks `amsync_core`).
const DECISIONS: [&str; 11] = [
    "plan_fetched(",
    "plan_gone(",
    "plan_rules(",
    "plan_admin(",
    "replan(",
    "check_disable(",
    "check_removals(",
    "natural_outcome(",
    "is_member(",
    "plan_reapply(",
    "reapply_delta(",
];

#[test]
fn the_sqlite_backend_decides_nothing_the_ops_decide() {
    for (path, text) in sources("sqlite") {
        let name = file_name(&path);
        // A test module may call anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for call in DECISIONS {
            assert!(!code.contains(call), "sqlite/{name} calls {call}…): a decision belongs in ops/ or amsync_core");
        }
    }
}

#[test]
fn the_postgres_backend_decides_nothing_the_ops_decide() {
    for (path, text) in sources("postgres") {
        let name = file_name(&path);
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for call in DECISIONS {
            assert!(!code.contains(call), "postgres/{name} calls {call}…): a decision belongs in ops/ or amsync_core");
        }
    }
}
