// Rebuild the examples, tests and the guide's doctests (docs/) when a
// migration file is added to a folder they embed: `include_str!` only tracks
// the files that existed at the last build. In your own crate this is one
// line: `println!("cargo:rerun-if-changed=migrations");`
//
// This build script also runs when `migrate` is built as a dependency, where
// these folders may not exist (a packaged crate may leave them out), and
// cargo reruns a build script on every build while a watched path is missing;
// so only existing folders are watched.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for folder in [
        "examples/migrations",
        "examples/postgres_migrations",
        "tests/fixtures",
        "docs/migrations",
    ] {
        if std::path::Path::new(folder).exists() {
            println!("cargo:rerun-if-changed={folder}");
        }
    }
}
