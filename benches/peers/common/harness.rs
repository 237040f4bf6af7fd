//! What every binary of the peers benchmark shares: the generated folders,
//! the scenarios, and the rounds that interleave the libraries. Included by
//! each binary with `#[path]` (they cannot share a crate: each links its own
//! rusqlite, and two bundled SQLites cannot be linked together).
//!
//! Output: one line per (scenario, library), tab-separated,
//! `scenario  library  median_ns  rounds`, read by `run.py`.

#![allow(dead_code)] // each binary uses the parts it needs

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One generated migration: version from 1, a name, its SQL.
pub struct Generated {
    pub version: u32,
    pub name: String,
    pub sql: String,
}

/// `count` migrations, each a new table and two rows: what a real history
/// mostly is, and what the floor runs too.
pub fn migrations(count: u32) -> Vec<Generated> {
    (1..=count)
        .map(|version| Generated {
            version,
            name: format!("table_{version}"),
            sql: format!(
                "CREATE TABLE t{version} (id INTEGER PRIMARY KEY, value TEXT);\n\
                 INSERT INTO t{version} (value) VALUES ('a'), ('b');\n"
            ),
        })
        .collect()
}

/// Writes `migrations` into `dir` with each library's file name:
/// `migrate`'s `0001_name.sql` (also dbmate's and goose's shape) and
/// refinery's `V1__name.sql`.
pub fn write_folder(dir: &Path, migrations: &[Generated], refinery_names: bool) {
    std::fs::create_dir_all(dir).expect("folder");
    for m in migrations {
        let file = if refinery_names {
            format!("V{}__{}.sql", m.version, m.name)
        } else {
            format!("{:04}_{}.sql", m.version, m.name)
        };
        std::fs::write(dir.join(file), &m.sql).expect("migration file");
    }
}

/// A database file's journal mode.
#[derive(Clone, Copy, Debug)]
pub enum Journal {
    /// Rollback journal (SQLite's default, `DELETE`).
    Rollback,
    /// Write-ahead log.
    Wal,
}

impl Journal {
    pub fn pragma(self) -> &'static str {
        match self {
            Journal::Rollback => "DELETE",
            Journal::Wal => "WAL",
        }
    }
}

/// A fresh database file path in a new temporary folder (kept until the
/// returned guard drops).
pub fn fresh_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(std::env::var_os("PEERS_DB_DIR").unwrap_or_else(|| ".".into()))
        .expect("temporary folder");
    let path = dir.path().join("bench.db");
    (dir, path)
}

/// A measured case: one run of `run` returns how long its measured part took
/// (set-up such as opening a connection is left out by the case itself).
pub struct Case<'a> {
    pub scenario: String,
    pub library: &'static str,
    pub run: Box<dyn FnMut() -> Duration + 'a>,
}

/// Runs every case once per round, in a new shuffled order each round
/// (so that a library is not always measured after the same one), then
/// prints each case's median.
pub fn run_rounds(mut cases: Vec<Case<'_>>, args: &Args) {
    let (rounds, seed) = (args.rounds, args.seed);
    cases.retain(|case| args.library.as_deref().is_none_or(|l| l == case.library));
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); cases.len()];
    let mut order: Vec<usize> = (0..cases.len()).collect();
    let mut state = seed | 1;
    // Warm-up: one untimed run of each.
    for case in &mut cases {
        (case.run)();
    }
    for _ in 0..rounds {
        // Fisher-Yates with xorshift64: no dependency for a shuffle.
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            samples[i].push((cases[i].run)());
        }
    }
    for (case, mut times) in cases.iter().zip(samples) {
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "{}\t{}\t{}\t{}",
            case.scenario,
            case.library,
            median.as_nanos(),
            times.len()
        );
    }
}

/// Times `work` on what `setup` made, `repeat` times in a row, and returns
/// the time of one.
pub fn timed<S>(
    repeat: u32,
    mut setup: impl FnMut() -> S,
    mut work: impl FnMut(&mut S),
) -> Duration {
    let mut state = setup();
    let started = Instant::now();
    for _ in 0..repeat {
        work(&mut state);
    }
    started.elapsed() / repeat
}

/// The command line: `--rounds N` (default 15), `--seed N`, `--only TEXT`
/// (scenarios whose name contains it), `--library NAME` (that library's
/// cases only: for profiling one under callgrind).
pub struct Args {
    pub rounds: usize,
    pub seed: u64,
    pub only: Option<String>,
    pub library: Option<String>,
}

impl Args {
    pub fn parse() -> Args {
        let mut args = Args {
            rounds: 15,
            seed: 0x9e37_79b9_7f4a_7c15,
            only: None,
            library: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            match flag.as_str() {
                "--rounds" => args.rounds = value.parse().expect("--rounds N"),
                "--seed" => args.seed = value.parse().expect("--seed N"),
                "--only" => args.only = Some(value),
                "--library" => args.library = Some(value),
                other => panic!("unknown flag {other}"),
            }
        }
        args
    }

    pub fn wants(&self, scenario: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| scenario.contains(only))
    }
}

/// The sizes applied in memory.
pub const MEMORY_SIZES: [u32; 3] = [10, 100, 1000];
/// The size applied to a file, in each journal mode.
pub const FILE_SIZE: u32 = 200;
/// The size of the up-to-date check and of `status`.
pub const CHECK_SIZE: u32 = 1000;
/// How many checks one sample times (one is a few microseconds).
pub const CHECK_REPEAT: u32 = 200;
