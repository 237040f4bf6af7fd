//! Give every project a URL slug derived from its name: lowercase, words
//! joined by `-`, unique across projects (`docs`, `docs-2`, …). Awkward in
//! SQL — splitting on every non-alphanumeric character and numbering
//! duplicates — and a few lines here. The application sets the slug of
//! projects created later; the unique index keeps them distinct.
//!
//! A Rust migration: `embed_migrations!` compiles this file into the crate,
//! and `up` and `down` run in the migration's transaction with its tracking
//! row.

use std::collections::HashSet;

use rusqlite::{Transaction, params};

pub fn up(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE projects ADD COLUMN slug TEXT")?;
    let projects: Vec<(i64, String)> = tx
        .prepare("SELECT id, name FROM projects ORDER BY id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut taken = HashSet::new();
    let mut update = tx.prepare("UPDATE projects SET slug = ?2 WHERE id = ?1")?;
    for (id, name) in projects {
        let base = slugify(&name);
        let mut slug = base.clone();
        let mut next = 2;
        while !taken.insert(slug.clone()) {
            slug = format!("{base}-{next}");
            next += 1;
        }
        update.execute(params![id, slug])?;
    }
    tx.execute_batch("CREATE UNIQUE INDEX projects_by_slug ON projects (slug)")
}

pub fn down(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP INDEX projects_by_slug;
         ALTER TABLE projects DROP COLUMN slug;",
    )
}

/// `"Docs & Guides (v2)"` -> `"docs-guides-v2"`; `"project"` when nothing is
/// left.
fn slugify(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        "project".to_owned()
    } else {
        words.join("-")
    }
}
