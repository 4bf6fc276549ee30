//! Migrations, written once for both engines and append-only.
//!
//! A crate keeps its migrations in `migrations/`: each `NNNN_name.sql.in` template is rendered
//! into `sqlite/NNNN_name.sql` and `postgres/NNNN_name.sql` (what sqlx embeds) by replacing
//! the few words the engines spell differently:
//!
//! | placeholder       | SQLite                              | PostgreSQL                                      |
//! |-------------------|-------------------------------------|-------------------------------------------------|
//! | `@PK@`            | `integer primary key autoincrement` | `bigint generated always as identity primary key` |
//! | `@WITHOUT_ROWID@` | ` without rowid`                    | (nothing)                                       |
//!
//! Ids are never reused on either engine, so an id works as a cursor or a "rows since"
//! watermark even after deletions.
//!
//! `landed.sha256` lists every rendered file that has shipped, with its SHA-256. A landed
//! migration is never edited (an installed database has already run it; sqlx refuses a changed
//! one at start-up): a change goes into a new migration. [`check`] enforces both rules in each
//! crate's tests; `KURA_RENDER_MIGRATIONS=1 cargo test` renders the templates and appends new
//! files to `landed.sha256` instead of failing, but never rewrites an entry that is there.
//! Files that predate the templates (the fulfillment service's `0001_init`, rendered with
//! another primary-key spelling) are landed without a template.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The two engines, with their spelling of each placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

    /// The directory name under `migrations/`.
    pub fn dir(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    fn words(self) -> [(&'static str, &'static str); 2] {
        match self {
            Engine::Sqlite => [("@PK@", "integer primary key autoincrement"), ("@WITHOUT_ROWID@", " without rowid")],
            Engine::Postgres => [("@PK@", "bigint generated always as identity primary key"), ("@WITHOUT_ROWID@", "")],
        }
    }
}

/// A template rendered for `engine`.
pub fn render(template: &str, engine: Engine) -> String {
    engine.words().iter().fold(template.to_owned(), |text, (placeholder, word)| text.replace(placeholder, word))
}

/// The manifest of landed files, next to the templates.
pub const LANDED: &str = "landed.sha256";

/// The environment variable that makes [`check`] write instead of compare.
pub const RENDER_VARIABLE: &str = "KURA_RENDER_MIGRATIONS";

/// Checks a crate's `migrations/` directory: every template is rendered for both engines,
/// every rendered file comes from a template or is landed, and no landed file changed. Returns
/// every problem found, each naming the file and what to do.
pub fn check(dir: &Path) -> Result<(), Vec<String>> {
    let write = std::env::var_os(RENDER_VARIABLE).is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    let templates = names(dir, ".sql.in").map_err(|e| vec![e])?;
    for template in &templates {
        let text = std::fs::read_to_string(dir.join(template)).map_err(|e| vec![format!("{template}: {e}")])?;
        let file = template.trim_end_matches(".in");
        for engine in Engine::ALL {
            let path = dir.join(engine.dir()).join(file);
            let expected = render(&text, engine);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(expected.as_str()) {
                continue;
            }
            if write {
                if let Err(e) = std::fs::write(&path, expected) {
                    problems.push(format!("{}: {e}", path.display()));
                }
            } else {
                problems.push(format!(
                    "{}/{file} is not the rendering of {template}: run {RENDER_VARIABLE}=1 cargo test",
                    engine.dir()
                ));
            }
        }
    }
    let manifest_path = dir.join(LANDED);
    let manifest = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    let landed: Vec<(&str, &str)> = manifest.lines().filter_map(|l| l.split_once("  ")).collect();
    let mut appended = String::new();
    for engine in Engine::ALL {
        let files = names(&dir.join(engine.dir()), ".sql").map_err(|e| vec![e])?;
        for file in files {
            let key = format!("{}/{file}", engine.dir());
            let bytes = std::fs::read(dir.join(&key)).map_err(|e| vec![format!("{key}: {e}")])?;
            let digest = hex(&Sha256::digest(&bytes));
            match landed.iter().find(|(_, name)| *name == key) {
                Some((sum, _)) if *sum == digest => {}
                Some(_) => problems
                    .push(format!("{key} has landed and was edited: restore it and put the change in a new migration")),
                None if write => {
                    let _ = writeln!(appended, "{digest}  {key}");
                }
                None if templates.iter().any(|t| t.trim_end_matches(".in") == file) => {
                    problems.push(format!("{key} is new: run {RENDER_VARIABLE}=1 cargo test to record it in {LANDED}"))
                }
                None => problems.push(format!("{key} has no template and has not landed: add NNNN_name.sql.in")),
            }
        }
    }
    for (_, name) in &landed {
        if !dir.join(name).is_file() {
            problems.push(format!("{name} has landed and was removed: restore it"));
        }
    }
    if !appended.is_empty() {
        let text = format!("{manifest}{appended}");
        if let Err(e) = std::fs::write(&manifest_path, text) {
            problems.push(format!("{}: {e}", manifest_path.display()));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn names(dir: &Path, suffix: &str) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    Ok(names)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kura-migrations-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for engine in Engine::ALL {
            std::fs::create_dir_all(dir.join(engine.dir())).expect("scratch dir");
        }
        dir
    }

    #[test]
    fn each_engine_spells_the_primary_key_so_ids_are_never_reused() {
        let t = "create table a (a_id @PK@, b text)@WITHOUT_ROWID@;";
        assert_eq!(
            render(t, Engine::Sqlite),
            "create table a (a_id integer primary key autoincrement, b text) without rowid;"
        );
        assert_eq!(
            render(t, Engine::Postgres),
            "create table a (a_id bigint generated always as identity primary key, b text);"
        );
    }

    #[test]
    fn an_edited_landed_migration_and_an_unrendered_template_are_refused() {
        let dir = scratch("edited");
        std::fs::write(dir.join("0001_a.sql.in"), "create table a (a_id @PK@);\n").unwrap();
        for engine in Engine::ALL {
            std::fs::write(dir.join(engine.dir()).join("0001_a.sql"), render("create table a (a_id @PK@);\n", engine))
                .unwrap();
        }
        let digest = |e: Engine| hex(&Sha256::digest(std::fs::read(dir.join(e.dir()).join("0001_a.sql")).unwrap()));
        let manifest = format!(
            "{}  sqlite/0001_a.sql\n{}  postgres/0001_a.sql\n",
            digest(Engine::Sqlite),
            digest(Engine::Postgres)
        );
        std::fs::write(dir.join(LANDED), manifest).unwrap();
        assert_eq!(check(&dir), Ok(()));

        // Editing the template (and re-rendering) changes a landed file.
        std::fs::write(dir.join("0001_a.sql.in"), "create table a (a_id @PK@, x text);\n").unwrap();
        for engine in Engine::ALL {
            std::fs::write(
                dir.join(engine.dir()).join("0001_a.sql"),
                render("create table a (a_id @PK@, x text);\n", engine),
            )
            .unwrap();
        }
        let problems = check(&dir).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("sqlite/0001_a.sql has landed and was edited")), "{problems:?}");

        // A new template that was never rendered.
        let dir = scratch("new");
        std::fs::write(dir.join("0002_b.sql.in"), "create table b (b_id @PK@);\n").unwrap();
        let problems = check(&dir).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("is not the rendering of 0002_b.sql.in")), "{problems:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
