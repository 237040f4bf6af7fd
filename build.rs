// Rebuild the examples and tests when a migration file is added to a folder
// they embed: `include_str!` only tracks files that existed at the last build.
// This is the one line every crate that uses `embed_migrations!` needs.
fn main() {
    println!("cargo:rerun-if-changed=examples/migrations");
    println!("cargo:rerun-if-changed=tests/fixtures");
}
