//! Every mistake `embed_migrations!` rejects is a compile error that names its
//! file(s) and says how to fix it: one case per mistake in `tests/ui/`, each
//! with its `.stderr` snapshot (regenerate with
//! `TRYBUILD=overwrite cargo test --test compile_errors`, then read every
//! changed `.stderr` before committing it).
//!
//! # Fixture paths
//!
//! The macro resolves its path against `CARGO_MANIFEST_DIR`. Under trybuild
//! that is not this crate's folder but trybuild's generated project,
//! `<target dir>/tests/trybuild/migrate/` (`missing-folder.stderr` shows it:
//! "resolved to `$DIR/target/tests/trybuild/migrate/...`"). So the cases
//! climb four levels, `target/tests/trybuild/migrate`, back to the workspace
//! root: `embed_migrations!("../../../../tests/ui/fixtures/<scenario>")`.
//!
//! That only holds while the target dir is `<workspace>/target`; with
//! `CARGO_TARGET_DIR` elsewhere every case would fail with "not found", so
//! [`target_dir_is_the_workspace_target`] checks it first and says why.
//! trybuild replaces this crate's absolute path with `$DIR/` in the snapshots,
//! so they do not depend on where the repository is cloned.

use std::path::{Path, PathBuf};

/// The `target` folder the ui cases' `../../../../` paths assume.
fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// Fails with an explanation, rather than with a dozen "not found" snapshot
/// mismatches, when the build's target dir is not `<workspace>/target`.
fn target_dir_is_the_workspace_target() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let exe = exe.canonicalize().unwrap_or(exe);
    let target = workspace_target();
    let target = target.canonicalize().unwrap_or(target);
    assert!(
        exe.starts_with(&target),
        "the ui cases name their fixtures relative to trybuild's project in `{}/tests/trybuild/migrate`, \
         but this test runs from `{}`: unset CARGO_TARGET_DIR (or point it at `{}`)",
        target.display(),
        exe.display(),
        target.display(),
    );
}

#[test]
fn every_folder_mistake_is_a_compile_error_naming_its_files() {
    target_dir_is_the_workspace_target();
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
