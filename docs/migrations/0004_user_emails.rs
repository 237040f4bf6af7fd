//! Give every user without an email one derived from their name, computed
//! in Rust: `Ada Lovelace` -> `ada.lovelace@example.com`.
//!
//! The Rust migration of the guide's examples (`docs/*.md`), which embed
//! this folder.

use rusqlite::{Transaction, params};

pub fn up(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let users: Vec<(i64, String)> = tx
        .prepare("SELECT id, name FROM users WHERE email IS NULL ORDER BY id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare("UPDATE users SET email = ?2 WHERE id = ?1")?;
    for (id, name) in users {
        let local: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
        update.execute(params![id, format!("{}@example.com", local.join("."))])?;
    }
    Ok(())
}

pub fn down(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("UPDATE users SET email = NULL WHERE email LIKE '%@example.com'")
}
