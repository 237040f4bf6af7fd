//! A folder of PostgreSQL-only SQL compiles with `engine = "postgres"`: its
//! enums, `$$` bodies, `DO` block and concurrent index parse, and the SQLite
//! check, which would refuse them, does not run.

const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("fixtures/pg_only", engine = "postgres");

fn main() {
    let versions: Vec<u64> = MIGRATIONS.iter().map(|m| m.version()).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert!(MIGRATIONS.get(1).is_some_and(|m| m.is_reversible()));
    assert!(MIGRATIONS.get(2).is_some_and(|m| m.up_no_transaction()));
    // Parsing embeds no schema: nothing ran.
    assert!(MIGRATIONS.embedded_schema().is_none());
    assert_eq!(UNCHECKED.len(), 2);
}

/// `verify = false` turns the parse off too, in either order of the options.
const UNCHECKED: migrate::Migrations =
    migrate::embed_migrations!("fixtures/pg_syntax_error_up", verify = false, engine = "postgres");
