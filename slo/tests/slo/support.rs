//! What the test modules share: where the crate is, and golden-file comparison.

use std::path::{Path, PathBuf};

/// The `slo` crate's directory.
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace root (for `app/slos`).
pub fn workspace() -> PathBuf {
    crate_dir().parent().expect("the crate is inside the workspace").to_path_buf()
}

/// Compares `actual` with `tests/golden/<dir>/<name>`, or rewrites the file when `KURA_BLESS=1`.
pub fn assert_golden(dir: &str, name: &str, actual: &str) {
    let path: PathBuf = crate_dir().join("tests/golden").join(dir).join(name);
    if std::env::var("KURA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the golden directory can be created");
        std::fs::write(&path, actual).expect("the golden file can be written");
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (KURA_BLESS=1 creates it)", path.display()));
    assert!(
        expected == actual,
        "{} differs from the generated output (- golden, + generated; KURA_BLESS=1 rewrites it):\n{}",
        path.display(),
        diff(&expected, actual)
    );
}

/// A line diff (longest common subsequence) with two lines of context around each change.
pub fn diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| ops[k.saturating_sub(2)..(k + 3).min(ops.len())].iter().any(|(op, _)| *op != ' ');
    let mut out = String::new();
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{op} {line}\n"));
        } else if !out.ends_with("...\n") {
            out.push_str("...\n");
        }
    }
    out
}
