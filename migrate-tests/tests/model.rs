//! A model-based property test of the runner on a real SQLite file: random
//! sequences of run, run to a target, grouped run, dry run, rollback,
//! rollback to a version and redo, with the good set of six reversible
//! migrations or a copy whose up (or down) of one migration fails part way.
//!
//! The model is the set of applied versions (and of failed attempts); every
//! outcome is computed from it. After every operation the database must
//! agree with the model: the same applied and failed tracking rows, a
//! schema and data equal to those of a fresh database given exactly the
//! applied versions' SQL in order (so a failure left nothing half applied),
//! `status()` saying the same, the history grown by exactly the events the
//! operation implies, and `PRAGMA integrity_check` = ok.
//!
//! 128 sequences of up to 12 operations by default; `MIGRATE_HEAVY=1` runs
//! 512. Shrunk failures are kept in `proptest-regressions/model.txt` and
//! replayed first.

// The helpers of the facade's tests, shared by path rather than copied.
#[path = "../../tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fs;

use common::{Database, Folder, count, rows, schema};
use migrate::{DEFAULT_TABLE, Direction, DryRunOutcome, Error, EventKind, Migrations, Problem};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestError, TestRunner};
use rusqlite::Connection;
use rusqlite::types::Value;

/// The versions of the set, 1 to [`LATEST`].
const LATEST: u64 = 6;

/// `(file stem, up, down)` of six reversible migrations. Their downs only
/// restore the schema and data when run newest first: the down of 4
/// rebuilds `users`, which drops the trigger of 6 with it, and 6's down
/// lowercases what its up uppercased in a column that 4 adds.
const MIGRATIONS: [(&str, &str, &str); LATEST as usize] = [
    (
        "0001_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\
         CREATE UNIQUE INDEX users_email ON users (email);\n",
        "DROP TABLE users;\n",
    ),
    (
        "0002_seed",
        "INSERT INTO users (id, email) VALUES (1, 'a@example.com'), (2, 'b@example.com');\n",
        "DELETE FROM users WHERE id IN (1, 2);\n",
    ),
    (
        "0003_posts",
        "CREATE TABLE posts (\n    id INTEGER PRIMARY KEY,\n    user_id INTEGER NOT NULL REFERENCES users (id),\n    title TEXT NOT NULL\n);\n\
         CREATE INDEX posts_user ON posts (user_id);\n\
         INSERT INTO posts (id, user_id, title) VALUES (10, 1, 'hello');\n",
        "DROP TABLE posts;\n",
    ),
    (
        "0004_nickname",
        "ALTER TABLE users ADD COLUMN nickname TEXT;\n\
         UPDATE users SET nickname = 'nick-' || id;\n",
        // The rebuild that drops a column, with the table's original text.
        "CREATE TABLE users_old AS SELECT id, email FROM users;\n\
         DROP TABLE users;\n\
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\
         INSERT INTO users (id, email) SELECT id, email FROM users_old;\n\
         DROP TABLE users_old;\n\
         CREATE UNIQUE INDEX users_email ON users (email);\n",
    ),
    (
        "0005_post_titles",
        "CREATE VIEW post_titles AS\n    SELECT users.nickname, posts.title FROM posts JOIN users ON users.id = posts.user_id;\n",
        "DROP VIEW post_titles;\n",
    ),
    (
        "0006_audit",
        "CREATE TABLE audit (user_id INTEGER NOT NULL, nickname TEXT);\n\
         CREATE TRIGGER users_audit AFTER UPDATE OF nickname ON users\n\
         BEGIN INSERT INTO audit (user_id, nickname) VALUES (new.id, new.nickname); END;\n\
         UPDATE users SET nickname = upper(nickname);\n",
        "DROP TRIGGER users_audit;\n\
         DROP TABLE audit;\n\
         UPDATE users SET nickname = lower(nickname);\n",
    ),
];

/// Appended to the up (or down) of the broken migration: it does something,
/// then fails.
const FAILS_PART_WAY: &str =
    "CREATE TABLE half_done (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n";

/// Which copy of the set an operation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    /// The six migrations as written.
    Good,
    /// The same, except that the up of this version fails part way; so its
    /// checksum differs from the good one's.
    BrokenUp(u64),
    /// The same, except that the down of this version fails part way; the
    /// checksum covers only the up file, so all checksums are the good ones.
    BrokenDown(u64),
}

impl Set {
    /// Whether this set's file for `version` differs from the one applied
    /// (only the good set and `BrokenDown` sets ever apply a migration).
    fn diverges(self, version: u64) -> bool {
        self == Set::BrokenUp(version)
    }

    fn up_fails(self, version: u64) -> bool {
        self == Set::BrokenUp(version)
    }

    fn down_fails(self, version: u64) -> bool {
        self == Set::BrokenDown(version)
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Run,
    RunTo(u64),
    Grouped,
    DryRun,
    Rollback(usize),
    RollbackTo(u64),
    Redo,
}

#[derive(Debug, Clone, Copy)]
struct Op {
    action: Action,
    set: Set,
}

fn op() -> impl Strategy<Value = Op> {
    let action = prop_oneof![
        Just(Action::Run),
        (1..=LATEST).prop_map(Action::RunTo),
        Just(Action::Grouped),
        Just(Action::DryRun),
        (0..=LATEST as usize + 1).prop_map(Action::Rollback),
        (0..=LATEST).prop_map(Action::RollbackTo),
        Just(Action::Redo),
    ];
    // Mostly the good set; shrinking prefers it.
    let set = prop_oneof![
        3 => Just(Set::Good),
        1 => (1..=LATEST).prop_map(Set::BrokenUp),
        1 => (1..=LATEST).prop_map(Set::BrokenDown),
    ];
    (action, set).prop_map(|(action, set)| Op { action, set })
}

/// What an operation returned, reduced to what the model can predict.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Applied(Vec<u64>),
    RolledBack(Vec<u64>),
    Tried {
        ok: Vec<u64>,
        failed: Option<u64>,
    },
    Redone {
        rolled_back: u64,
        applied: Vec<u64>,
    },
    NothingToRedo,
    Failed {
        version: u64,
        direction: Direction,
        grouped: bool,
    },
    Divergent(u64),
    Irreversible(u64),
    /// Anything the model never predicts, with the error's message.
    Unexpected(String),
}

/// `(kind, version, direction)` of a history event.
type EventKey = (EventKind, u64, Direction);

/// The applied versions and the versions whose last attempt failed.
#[derive(Debug, Default)]
struct Model {
    applied: BTreeSet<u64>,
    failed: BTreeSet<u64>,
}

impl Model {
    /// Applies `op` to the model: the outcome, and the events it appends.
    fn step(&mut self, op: Op, events: &mut Vec<EventKey>) -> Outcome {
        let set = op.set;
        let result = match op.action {
            Action::Run => self.run(set, LATEST, false, events).map(Outcome::Applied),
            Action::RunTo(target) => self.run(set, target, false, events).map(Outcome::Applied),
            Action::Grouped => self.run(set, LATEST, true, events).map(Outcome::Applied),
            Action::DryRun => self.dry_run(set),
            Action::Rollback(n) => {
                let range = self.applied.iter().rev().take(n).copied().collect();
                self.rollback(set, range, events).map(Outcome::RolledBack)
            }
            Action::RollbackTo(target) => {
                let range = self.applied.range(target + 1..).rev().copied().collect();
                self.rollback(set, range, events).map(Outcome::RolledBack)
            }
            Action::Redo => self.redo(set, events),
        };
        result.unwrap_or_else(|error| error)
    }

    /// Refuses when an applied migration's file differs in `set`.
    fn verify(&self, set: Set) -> Result<(), Outcome> {
        match self.applied.iter().find(|&&v| set.diverges(v)) {
            Some(&version) => Err(Outcome::Divergent(version)),
            None => Ok(()),
        }
    }

    fn pending(&self, target: u64) -> Vec<u64> {
        (1..=target).filter(|v| !self.applied.contains(v)).collect()
    }

    /// Applies the pending versions up to `target` in order, stopping at the
    /// first that fails; grouped, a failure applies none.
    fn run(
        &mut self,
        set: Set,
        target: u64,
        grouped: bool,
        events: &mut Vec<EventKey>,
    ) -> Result<Vec<u64>, Outcome> {
        self.verify(set)?;
        let pending = self.pending(target);
        let failing = pending.iter().copied().find(|&v| set.up_fails(v));
        let mut applied = Vec::new();
        for version in pending {
            if Some(version) == failing {
                self.failed.insert(version);
                events.push((EventKind::Failed, version, Direction::Up));
                return Err(Outcome::Failed {
                    version,
                    direction: Direction::Up,
                    grouped,
                });
            }
            if grouped && failing.is_some() {
                continue;
            }
            self.applied.insert(version);
            self.failed.remove(&version);
            events.push((EventKind::Applied, version, Direction::Up));
            applied.push(version);
        }
        Ok(applied)
    }

    /// What a run would do, without doing it.
    fn dry_run(&self, set: Set) -> Result<Outcome, Outcome> {
        self.verify(set)?;
        let mut ok = Vec::new();
        for version in self.pending(LATEST) {
            if set.up_fails(version) {
                return Ok(Outcome::Tried {
                    ok,
                    failed: Some(version),
                });
            }
            ok.push(version);
        }
        Ok(Outcome::Tried { ok, failed: None })
    }

    /// Reverts `range` (newest first), refusing before anything when one
    /// of it diverges, stopping at the first down that fails.
    fn rollback(
        &mut self,
        set: Set,
        range: Vec<u64>,
        events: &mut Vec<EventKey>,
    ) -> Result<Vec<u64>, Outcome> {
        if let Some(&version) = range.iter().find(|&&v| set.diverges(v)) {
            return Err(Outcome::Irreversible(version));
        }
        for &version in &range {
            if set.down_fails(version) {
                events.push((EventKind::Failed, version, Direction::Down));
                return Err(Outcome::Failed {
                    version,
                    direction: Direction::Down,
                    grouped: false,
                });
            }
            self.applied.remove(&version);
            events.push((EventKind::RolledBack, version, Direction::Down));
        }
        Ok(range)
    }

    /// Verification as for a run (so a problem anywhere changes nothing),
    /// then a rollback of the latest and a run up to it.
    fn redo(&mut self, set: Set, events: &mut Vec<EventKey>) -> Result<Outcome, Outcome> {
        self.verify(set)?;
        let Some(&latest) = self.applied.last() else {
            return Ok(Outcome::NothingToRedo);
        };
        self.rollback(set, vec![latest], events)?;
        let applied = self.run(set, latest, false, events)?;
        Ok(Outcome::Redone {
            rolled_back: latest,
            applied,
        })
    }
}

/// The good set and every broken copy, read from folders of their own.
struct Sets {
    good: Migrations,
    broken_up: Vec<Migrations>,
    broken_down: Vec<Migrations>,
}

impl Sets {
    fn new() -> Sets {
        let read = |set: Set| -> Migrations {
            let mut files = Vec::new();
            for (version, (stem, up, down)) in (1..).zip(MIGRATIONS) {
                let mut up = up.to_owned();
                let mut down = down.to_owned();
                if set.up_fails(version) {
                    up.push_str(FAILS_PART_WAY);
                }
                if set.down_fails(version) {
                    down.push_str(FAILS_PART_WAY);
                }
                files.push((format!("{stem}.up.sql"), up));
                files.push((format!("{stem}.down.sql"), down));
            }
            let files: Vec<(&str, &str)> = files
                .iter()
                .map(|(name, text)| (name.as_str(), text.as_str()))
                .collect();
            Folder::new(&files).migrations()
        };
        let sets = Sets {
            good: read(Set::Good),
            broken_up: (1..=LATEST).map(|v| read(Set::BrokenUp(v))).collect(),
            broken_down: (1..=LATEST).map(|v| read(Set::BrokenDown(v))).collect(),
        };
        // The model's assumptions about checksums.
        for broken in 1..=LATEST {
            for version in 1..=LATEST {
                let good = sets.good.get(version).unwrap().checksum();
                let up = sets.get(Set::BrokenUp(broken)).get(version).unwrap();
                let down = sets.get(Set::BrokenDown(broken)).get(version).unwrap();
                assert_eq!(up.checksum() == good, version != broken);
                assert_eq!(down.checksum(), good);
            }
        }
        sets
    }

    fn get(&self, set: Set) -> &Migrations {
        match set {
            Set::Good => &self.good,
            Set::BrokenUp(v) => &self.broken_up[v as usize - 1],
            Set::BrokenDown(v) => &self.broken_down[v as usize - 1],
        }
    }
}

/// Runs `op` on the database.
fn perform(op: Op, sets: &Sets, conn: &mut Connection) -> Outcome {
    let migrations = sets.get(op.set);
    let versions = |applied: &[migrate::AppliedMigration]| -> Vec<u64> {
        applied.iter().map(|a| a.version).collect()
    };
    let result = match op.action {
        Action::Run => migrations
            .run(conn)
            .map(|r| Outcome::Applied(versions(&r.applied))),
        Action::RunTo(target) => migrations
            .run_to(conn, target)
            .map(|r| Outcome::Applied(versions(&r.applied))),
        Action::Grouped => migrations
            .runner()
            .grouped(true)
            .run(conn)
            .map(|r| Outcome::Applied(versions(&r.applied))),
        Action::DryRun => migrations.runner().dry_run(conn).map(|report| {
            let mut ok = Vec::new();
            for step in &report.steps {
                match &step.outcome {
                    DryRunOutcome::Ok(_) => ok.push(step.version),
                    DryRunOutcome::Failed(_) => {
                        return Outcome::Tried {
                            ok,
                            failed: Some(step.version),
                        };
                    }
                    other => return Outcome::Unexpected(format!("{other:?}")),
                }
            }
            Outcome::Tried { ok, failed: None }
        }),
        Action::Rollback(n) => migrations
            .rollback(conn, n)
            .map(|r| Outcome::RolledBack(r.rolled_back.iter().map(|r| r.version).collect())),
        Action::RollbackTo(target) => migrations
            .rollback_to(conn, target)
            .map(|r| Outcome::RolledBack(r.rolled_back.iter().map(|r| r.version).collect())),
        Action::Redo => migrations.redo(conn).map(|redo| match redo {
            None => Outcome::NothingToRedo,
            Some(redo) => Outcome::Redone {
                rolled_back: redo.rolled_back.version,
                applied: versions(&redo.applied),
            },
        }),
    };
    result.unwrap_or_else(|error| match error {
        Error::MigrationFailed {
            version,
            direction,
            grouped,
            ..
        } => Outcome::Failed {
            version,
            direction,
            grouped,
        },
        Error::Verification(Problem::Divergent { version, .. }) => Outcome::Divergent(version),
        Error::Irreversible { version, .. } => Outcome::Irreversible(version),
        other => Outcome::Unexpected(other.to_string()),
    })
}

/// The schema (without the tracking tables) and every row of every table.
type Snapshot = (
    Vec<(String, String, String, Option<String>)>,
    Vec<(String, Vec<Vec<Value>>)>,
);

fn snapshot(conn: &Connection) -> Snapshot {
    let schema = schema(conn);
    let data = schema
        .iter()
        .filter(|object| object.0 == "table")
        .map(|object| {
            let sql = format!(r#"SELECT * FROM "{}" ORDER BY rowid"#, object.1);
            (object.1.clone(), rows(conn, &sql))
        })
        .collect();
    (schema, data)
}

/// A fresh database given the up SQL of `versions`, in order, without the
/// runner; or the error of the first that fails.
fn reference(sets: &Sets, versions: &[u64]) -> Result<Snapshot, String> {
    let conn = Connection::open_in_memory().unwrap();
    for &version in versions {
        let up = sets.good.get(version).and_then(|m| m.up_sql());
        conn.execute_batch(up.ok_or(format!("no up SQL for {version}"))?)
            .map_err(|e| format!("applying {versions:?} by hand: {version} failed: {e}"))?;
    }
    Ok(snapshot(&conn))
}

/// `(version, state)` of every tracking row; none before the first write.
fn tracking(conn: &Connection) -> Vec<(u64, String)> {
    let exists = count(
        conn,
        &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{DEFAULT_TABLE}'"),
    );
    if exists == 0 {
        return Vec::new();
    }
    let sql = format!("SELECT version, state FROM {DEFAULT_TABLE} ORDER BY version");
    let mut statement = conn.prepare(&sql).unwrap();
    statement
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get(1)?)))
        .unwrap()
        .map(|row| {
            let (version, state) = row.unwrap();
            (u64::try_from(version).unwrap(), state)
        })
        .collect()
}

fn with_state(rows: &[(u64, String)], state: &str) -> BTreeSet<u64> {
    rows.iter()
        .filter(|row| row.1 == state)
        .map(|row| row.0)
        .collect()
}

/// Runs `ops` on a new database file and the model side by side, checking
/// after each that they agree.
fn check(
    sets: &Sets,
    references: &RefCell<HashMap<Vec<u64>, Result<Snapshot, String>>>,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let db = Database::new();
    let mut conn = db.open();
    let mut model = Model::default();
    for (i, &op) in ops.iter().enumerate() {
        let at = format!("after op {i} ({op:?})");
        let events_before = sets.good.history(&mut conn).unwrap().len();
        let file_before = fs::read(db.path()).unwrap_or_default();

        let outcome = perform(op, sets, &mut conn);
        let mut expected_events = Vec::new();
        let expected = model.step(op, &mut expected_events);
        prop_assert_eq!(&outcome, &expected, "outcome {}", at);

        // The tracking rows: what the model applied and saw fail, nothing
        // dirty or half recorded.
        let rows = tracking(&conn);
        prop_assert!(
            rows.iter().all(|r| r.1 == "applied" || r.1 == "failed"),
            "tracking rows {}: {:?}",
            at,
            rows
        );
        let recorded = with_state(&rows, "applied");
        prop_assert_eq!(&recorded, &model.applied, "applied rows {}", at);
        prop_assert_eq!(
            &with_state(&rows, "failed"),
            &model.failed,
            "failed rows {}",
            at
        );

        // The schema and data are those of exactly the recorded versions.
        let recorded: Vec<u64> = recorded.into_iter().collect();
        let expected_snapshot = references
            .borrow_mut()
            .entry(recorded.clone())
            .or_insert_with(|| reference(sets, &recorded))
            .clone();
        let expected_snapshot = expected_snapshot.map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            snapshot(&conn),
            expected_snapshot,
            "schema and data {} with {:?} recorded",
            at,
            recorded
        );

        // `status()` says the same.
        let status = sets.good.status(&mut conn).unwrap();
        prop_assert_eq!(status.current_version, recorded.last().copied(), "{}", at);
        let applied: Vec<u64> = status.applied.iter().map(|a| a.version).collect();
        prop_assert_eq!(&applied, &recorded, "status().applied {}", at);
        let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
        prop_assert_eq!(pending, model.pending(LATEST), "status().pending {}", at);
        let failed: BTreeSet<u64> = status.failed.iter().map(|f| f.version).collect();
        prop_assert_eq!(&failed, &model.failed, "status().failed {}", at);
        prop_assert!(status.dirty.is_empty(), "dirty {}: {:?}", at, status.dirty);
        prop_assert!(
            status.problems.is_empty(),
            "problems {}: {:?}",
            at,
            status.problems
        );

        // The history grew by exactly the op's events, each with the
        // checksum of the file it ran.
        let history = sets.good.history(&mut conn).unwrap();
        let new_events = &history[events_before..];
        let keys: Vec<EventKey> = new_events
            .iter()
            .map(|e| (e.kind, e.version, e.direction))
            .collect();
        prop_assert_eq!(keys, expected_events, "new events {}", at);
        for event in new_events {
            let file = sets.get(op.set).get(event.version).unwrap();
            prop_assert_eq!(event.checksum, Some(file.checksum()), "{:?} {}", event, at);
        }

        if let Action::DryRun = op.action {
            prop_assert!(
                fs::read(db.path()).unwrap_or_default() == file_before,
                "a dry run changed the database file {}",
                at
            );
        }
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        prop_assert_eq!(integrity, "ok", "{}", at);
    }
    Ok(())
}

#[test]
fn the_database_always_holds_exactly_the_recorded_migrations() {
    let heavy = std::env::var_os("MIGRATE_HEAVY").is_some_and(|v| v == "1");
    let config = ProptestConfig {
        cases: if heavy { 512 } else { 128 },
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/model.txt"
        )))),
        source_file: Some(file!()),
        ..ProptestConfig::default()
    };
    let sets = Sets::new();
    let references = RefCell::new(HashMap::new());
    let ops = proptest::collection::vec(op(), 1..=12);
    match TestRunner::new(config).run(&ops, |ops| check(&sets, &references, &ops)) {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => {
            panic!("{reason}\nminimal failing sequence: {ops:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}
