//! What `embed_migrations!` costs a build: the whole expansion (reading and
//! validating the folder, verifying it on an in-memory SQLite database,
//! generating the tokens) for 10, 100 and 1000 migrations, with and without
//! verification (`verify = false`), and verified with the outcome kept from
//! an earlier build (`kept`: a rebuild with an unchanged folder).
//!
//! The set is half plain migrations (a table and two rows) and half
//! reversible ones (a table with a foreign key and an index, and a down), so
//! at 1000 migrations the schema has 1500 objects and 500 downs are checked.
//!
//! `cargo bench -p migrate-macros --bench expansion`; with
//! `MIGRATE_BENCH_LARGE=1` also 10,000 migrations (the verified expansion
//! timed once: minutes at opt-level 0).
//!
//! A proc-macro runs as its crate is compiled, which is at opt-level 0 in
//! both the `dev` and the `release` profile unless the application raises it
//! (`[profile.dev.build-override]`), and so is the SQLite it bundles. To
//! measure that, run the same bench with `--profile dev`.

#[path = "../src/cache.rs"]
mod cache;
#[path = "../src/expand.rs"]
mod expand;
#[path = "../src/input.rs"]
mod input;

use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Writes `count` migrations into `folder`.
fn write_set(folder: &Path, count: u64) {
    std::fs::create_dir_all(folder).expect("migrations folder");
    for version in 1..=count {
        let write = |name: String, sql: String| {
            std::fs::write(folder.join(name), sql).expect("migration file");
        };
        if version % 2 == 0 {
            let parent = version - 1;
            write(
                format!("{version:04}_table_{version}.up.sql"),
                format!(
                    "CREATE TABLE t{version} (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    parent INTEGER REFERENCES t{parent} (id)\n);\nCREATE INDEX t{version}_name ON t{version} (name);\n"
                ),
            );
            write(
                format!("{version:04}_table_{version}.down.sql"),
                format!("DROP INDEX t{version}_name;\nDROP TABLE t{version};\n"),
            );
        } else {
            write(
                format!("{version:04}_table_{version}.sql"),
                format!(
                    "CREATE TABLE t{version} (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO t{version} (name) VALUES ('a'), ('b');\n"
                ),
            );
        }
    }
}

fn expansion(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    // The macro resolves its path against the crate being built.
    // SAFETY: set before any other thread runs; nothing else reads it.
    unsafe { std::env::set_var("CARGO_MANIFEST_DIR", dir.path()) };
    // No kept outcomes but where `kept` asks for them: no target directory
    // above the temporary folder.
    // SAFETY: as above.
    unsafe { std::env::set_var("CARGO_TARGET_DIR", "") };
    let target = tempfile::tempdir().expect("temporary target directory");
    let mut group = c.benchmark_group("expansion");
    group.sample_size(10);
    for count in [10, 100, 1000] {
        write_set(&dir.path().join(format!("m{count}")), count);
        for verify in [true, false] {
            let input: input::Input =
                syn::parse_str(&format!("\"m{count}\", verify = {verify}")).expect("macro input");
            let name = if verify { "verified" } else { "verify_false" };
            group.bench_with_input(BenchmarkId::new(name, count), &count, |b, _| {
                b.iter(|| expand::expand(&input).expect("a valid set"))
            });
        }
        let input: input::Input = syn::parse_str(&format!("\"m{count}\"")).expect("macro input");
        // SAFETY: as above; the benchmarks run one at a time.
        unsafe { std::env::set_var("CARGO_TARGET_DIR", target.path()) };
        expand::expand(&input).expect("a valid set");
        group.bench_with_input(BenchmarkId::new("kept", count), &count, |b, _| {
            b.iter(|| expand::expand(&input).expect("a valid set"))
        });
        // SAFETY: as above.
        unsafe { std::env::set_var("CARGO_TARGET_DIR", "") };
    }
    if std::env::var_os(LARGE).is_some() {
        large(&mut group, dir.path(), target.path());
    }
    group.finish();
}

/// Set to run the 10,000-migration cases too (minutes at opt-level 0).
const LARGE: &str = "MIGRATE_BENCH_LARGE";

/// 10,000 migrations: the verified expansion timed once (it takes minutes,
/// too long for criterion's ten samples; it also keeps its outcome), then
/// `verify_false` and `kept` under criterion.
fn large(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    dir: &Path,
    target: &Path,
) {
    let count = 10_000;
    write_set(&dir.join(format!("m{count}")), count);
    let input: input::Input = syn::parse_str(&format!("\"m{count}\"")).expect("macro input");
    // SAFETY: as above.
    unsafe { std::env::set_var("CARGO_TARGET_DIR", target) };
    let started = std::time::Instant::now();
    expand::expand(&input).expect("a valid set");
    println!(
        "expansion/verified/{count}: {:.1} s (one run)",
        started.elapsed().as_secs_f64()
    );
    group.bench_with_input(BenchmarkId::new("kept", count), &count, |b, _| {
        b.iter(|| expand::expand(&input).expect("a valid set"))
    });
    // SAFETY: as above.
    unsafe { std::env::set_var("CARGO_TARGET_DIR", "") };
    let input: input::Input =
        syn::parse_str(&format!("\"m{count}\", verify = false")).expect("macro input");
    group.bench_with_input(BenchmarkId::new("verify_false", count), &count, |b, _| {
        b.iter(|| expand::expand(&input).expect("a valid set"))
    });
}

criterion_group!(benches, expansion);
criterion_main!(benches);
