//! Every mistake `embed_migrations!` rejects is a compile error that names its
//! file(s) and says how to fix it: one case per mistake in `tests/ui/`, each
//! with its `.stderr` snapshot (regenerate with
//! `TRYBUILD=overwrite cargo test -p migrate-tests --test compile_errors`,
//! then read every changed `.stderr` before committing it). The cases of
//! `engine = "postgres"` are in `tests/ui/postgres/` and run with the
//! feature `postgres` (`--all-features`; add `--features postgres` to the
//! command above to regenerate them).
//!
//! # Fixture paths
//!
//! The macro resolves its path against `CARGO_MANIFEST_DIR`. Under trybuild
//! that is not this crate's folder but trybuild's generated project,
//! `<target dir>/tests/trybuild/migrate-tests/` (named for this package),
//! wherever the target dir is (`CARGO_TARGET_DIR` may put it outside the
//! checkout). So the cases name their fixtures `fixtures/<scenario>`, and
//! before trybuild runs, [`link_fixtures`] makes `<project>/fixtures` a link
//! to `tests/ui/fixtures`. The macro's messages name the path as written, and
//! a resolved path with links resolved, which trybuild shows as
//! `$DIR/tests/ui/fixtures/…`: the snapshots depend neither on where the
//! repository is cloned nor on the target dir.

#[cfg(feature = "postgres-verify")]
#[path = "../../tests/common/postgres.rs"]
mod postgres;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target dir of this build, as trybuild finds it: `cargo metadata`'s
/// `target_directory`, which follows `CARGO_TARGET_DIR` and cargo's config.
fn target_dir() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version=1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run `cargo metadata`");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let target = metadata["target_directory"]
        .as_str()
        .expect("a target_directory in cargo metadata");
    PathBuf::from(target)
}

/// Makes `fixtures` in trybuild's project for this crate a link to
/// `tests/ui/fixtures`, replacing a link left by another checkout that
/// shares the target dir.
fn link_fixtures() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fixtures");
    let project = target_dir()
        .join("tests/trybuild")
        .join(env!("CARGO_PKG_NAME"));
    std::fs::create_dir_all(&project).expect("create trybuild's project folder");
    let link = project.join("fixtures");
    if std::fs::read_link(&link).is_ok_and(|target| target == fixtures) {
        return;
    }
    match std::fs::remove_file(&link) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("remove the old `{}`: {error}", link.display()),
    }
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(&fixtures, &link);
    #[cfg(windows)]
    let linked = std::os::windows::fs::symlink_dir(&fixtures, &link);
    linked.unwrap_or_else(|error| panic!("link `{}`: {error}", link.display()));
}

#[test]
fn every_folder_mistake_is_a_compile_error_naming_its_files() {
    link_fixtures();
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // `engine = "postgres"`: PostgreSQL's parser instead of SQLite (feature
    // `postgres-parse`, which builds pg_query); without the feature, the macro
    // says it needs it.
    #[cfg(feature = "postgres-parse")]
    {
        cases.compile_fail("tests/ui/postgres/*.rs");
        cases.pass("tests/ui/postgres/pass/*.rs");
    }
    #[cfg(not(feature = "postgres-parse"))]
    cases.compile_fail("tests/ui/without-postgres/*.rs");
    // trybuild builds and runs the cases when `cases` drops.
    drop(cases);
    // The full check on a server (feature `postgres-verify`): the macro
    // reads MIGRATE_VERIFY_DATABASE_URL from the environment cargo (run by
    // trybuild) gives rustc. Set only now, after the cases above, which must
    // not see it; this binary's only test, so no other thread reads the
    // environment meanwhile.
    #[cfg(feature = "postgres-verify")]
    if postgres::available() {
        // SAFETY: no other thread of this process runs (see above).
        unsafe { std::env::set_var("MIGRATE_VERIFY_DATABASE_URL", postgres::server_url()) };
        let cases = trybuild::TestCases::new();
        cases.compile_fail("tests/ui/postgres_verify/*.rs");
        cases.pass("tests/ui/postgres_verify/pass/*.rs");
    }
}
