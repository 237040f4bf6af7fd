//! The backend conformance suite: what the runner promises on every database
//! engine, written once against the public API and run for each backend
//! (after golang-migrate's `database/testing`, which every driver runs).
//!
//! A backend's test file implements [`Harness`] for its engine and invokes
//! the suite in one line, which makes one `#[test]` per case:
//!
//! ```ignore
//! #[macro_use]
//! mod conformance;
//!
//! struct SqliteHarness { /* a database file in a temporary directory */ }
//! impl conformance::Harness for SqliteHarness { /* ... */ }
//!
//! conformance_suite!(SqliteHarness);
//! ```
//!
//! The cases read the tracking state through `status()` and `history()`;
//! only the few about the tracking table itself (its running checksums, a
//! row written by hand as a killed process would leave it, a custom name)
//! read or write it with SQL. Every fixture's SQL runs unchanged on SQLite
//! and on PostgreSQL 15: columns have types, rows are inserted with their
//! `id`, no `AUTOINCREMENT`, pragmas or triggers, and a failing statement is
//! an `INSERT` into a table that does not exist. What differs between
//! engines — their catalogs and their error messages — is asked of the
//! harness.

#[path = "../common/folder.rs"]
mod folder;
#[path = "../common/race.rs"]
mod race;
mod support;

pub mod apply;
pub mod baseline;
pub mod concurrency;
pub mod dry_run;
pub mod failure;
pub mod grouped;
pub mod history;
pub mod no_transaction;
pub mod redo;
pub mod repair;
pub mod rollback;
pub mod target;
pub mod verification;

pub use folder::Folder;

/// The bound the blocking actions put on a connection,
/// [`migrate::Blocking`]: the cases are generic over this alias alone. An
/// async client runs the suite through a newtype that is `Blocking` because
/// its connection is driven on a runtime of its own (see
/// `conformance_tokio_postgres.rs`); the actions' async forms are the same
/// driver code.
pub trait Conn: migrate::Blocking {}

impl<T: migrate::Blocking + ?Sized> Conn for T {}

/// A failure whose message is the engine's own: what [`Harness::message`]
/// returns the text of.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// A statement on a table that does not exist (`INSERT INTO nowhere
    /// VALUES (1);`).
    NoSuchTable(&'a str),
    /// A row that breaks a `UNIQUE` constraint on one column.
    UniqueViolation {
        /// The table.
        table: &'a str,
        /// The column declared `UNIQUE`.
        column: &'a str,
    },
    /// A statement that does not parse, at the word `near`
    /// (`CREATE TABEL b (y INTEGER);`: `TABEL`).
    SyntaxError {
        /// The word the parser stopped at.
        near: &'a str,
    },
    /// `VACUUM` inside a transaction.
    VacuumInTransaction,
}

/// One database engine, as the suite needs it: fresh databases, connections
/// to them, and the few questions the cases ask that are not about the
/// tracking state.
///
/// The queries panic on an error: a failing query is a broken test, not an
/// outcome to assert.
pub trait Harness: Sized {
    /// The connection type the runner takes.
    type Conn: Conn + Send;

    /// Whether the engine can be tested here: a harness for a server that
    /// does not answer says so in one line and returns `false`, and every
    /// case then passes without running (see `tests/common/postgres.rs`).
    fn available() -> bool {
        true
    }

    /// A fresh, empty database that lives as long as the value (SQLite: a
    /// file in a temporary directory).
    fn new_database() -> Self;

    /// A new connection to this database; several at once for the
    /// concurrency cases.
    fn connect(&self) -> Self::Conn;

    /// Runs `sql` (one or more statements in the engine's dialect) on the
    /// connection as it is: in autocommit mode, or inside a transaction the
    /// SQL began.
    fn execute(conn: &mut Self::Conn, sql: &str);

    /// The one integer that `sql` returns (a `count(*)`).
    fn count(conn: &mut Self::Conn, sql: &str) -> i64;

    /// The first column of every row `sql` returns, a text that is never
    /// `NULL`, in the order returned.
    fn texts(conn: &mut Self::Conn, sql: &str) -> Vec<String>;

    /// Whether a table named `name` exists (the tracking tables included).
    fn table_exists(conn: &mut Self::Conn, name: &str) -> bool;

    /// The columns of `table`, in order.
    fn columns(conn: &mut Self::Conn, table: &str) -> Vec<String>;

    /// Every table, view and index the migrations (or the case) created, as
    /// `"<kind> <name>"` (`"table users"`, `"index users_email"`, `"view
    /// post_titles"`), sorted: not the engine's own objects, not an index
    /// the engine made for a `PRIMARY KEY` or `UNIQUE` constraint, and not
    /// the default tracking table, its history or their index.
    fn objects(conn: &mut Self::Conn) -> Vec<String>;

    /// The objects of [`objects`](Harness::objects), each with its whole
    /// definition (columns, types, constraints, what an index covers), in a
    /// stable order: two schemas are the same exactly when these are equal.
    fn schema(conn: &mut Self::Conn) -> Vec<String>;

    /// Whether the database has no schema object at all, not even the
    /// tracking tables: nothing was written.
    fn is_empty(conn: &mut Self::Conn) -> bool;

    /// The engine's message for `failure`, as the `source` of an
    /// `Error::MigrationFailed` displays it.
    fn message(failure: Message<'_>) -> String;
}

/// One `#[test]` per conformance case, for the harness `$harness`: the
/// cases' modules become modules of the calling test file, so a case runs as
/// `apply::applies_every_pending_migration_and_records_it`. A case left out
/// of this list is a function never used: a warning, and an error under
/// CI's `clippy -D warnings`.
macro_rules! conformance_suite {
    ($harness:ty) => {
        conformance_cases! { $harness;
            apply {
                applies_every_pending_migration_and_records_it,
                a_second_run_from_a_new_connection_applies_nothing,
                a_migration_added_later_is_applied_alone,
                status_of_a_new_database_lists_everything_pending_and_writes_nothing,
                the_tracking_table_name_can_be_changed_and_is_checked,
                refuses_a_connection_inside_a_transaction,
                refuses_a_connection_inside_a_transaction_once_applied,
            }
            target {
                run_to_applies_up_to_and_including_the_target_then_run_applies_the_rest,
                a_runner_with_a_target_stops_there,
                a_target_not_in_the_set_applies_nothing,
                a_target_at_or_below_the_current_version_applies_nothing,
            }
            failure {
                a_failed_migration_is_rolled_back_and_stops_the_run,
                status_shows_the_failure_until_a_fixed_build_applies_it,
                a_syntax_error_names_its_line,
                a_constraint_failure_in_a_data_migration_keeps_the_earlier_data,
            }
            verification {
                an_edited_applied_migration_is_divergent_and_nothing_is_applied,
                a_version_another_migration_took_is_reused_and_nothing_is_applied,
                a_reused_version_whose_applied_migration_is_gone_says_so,
                a_renamed_file_with_the_same_content_is_not_a_problem,
                line_endings_and_a_byte_order_mark_are_not_an_edit,
                a_database_newer_than_the_build_is_missing_migrations,
                a_pending_migration_below_the_latest_applied_is_out_of_order,
                out_of_order_can_be_allowed_and_the_fast_check_still_holds_after,
                a_forged_earlier_row_is_caught_through_the_running_checksum,
                a_malformed_running_checksum_is_a_named_error,
            }
            rollback {
                each_down_restores_the_exact_schema_before_its_up,
                rollback_n_reverts_the_last_n_newest_first_and_a_run_reapplies_them,
                rollback_to_reverts_everything_above_the_version_and_zero_reverts_all,
                rolling_back_more_than_applied_reverts_all_and_an_empty_database_stays_empty,
                a_migration_without_a_down_in_range_refuses_before_reverting_anything,
                a_migration_edited_since_it_was_applied_refuses_before_reverting_anything,
                a_migration_unknown_to_this_build_refuses_before_reverting_anything,
                a_failing_down_is_rolled_back_and_keeps_the_downs_before_it,
                a_version_another_migration_took_is_rolled_back_by_the_build_that_applied_it,
            }
            redo {
                redo_reverts_the_latest_and_applies_it_again,
                redo_with_nothing_applied_returns_none_and_changes_nothing,
                redo_of_a_migration_without_a_down_changes_nothing,
                a_divergent_migration_below_refuses_the_redo_before_anything_changes,
            }
            dry_run {
                on_a_new_database_every_migration_is_tried_and_nothing_is_kept,
                on_a_database_with_migrations_applied_only_the_pending_ones_are_tried,
                on_a_new_database_a_failure_stops_the_dry_run_and_nothing_is_recorded,
                on_a_database_with_migrations_applied_a_failure_is_not_recorded,
                a_migration_outside_a_transaction_is_skipped_and_later_ones_tried,
            }
            grouped {
                a_failure_in_the_last_migration_leaves_a_new_database_empty,
                a_failure_in_the_last_migration_leaves_the_database_as_before,
                a_grouped_run_applies_every_pending_migration,
                a_group_with_a_migration_outside_a_transaction_is_refused_before_anything,
            }
            no_transaction {
                vacuum_fails_inside_a_transaction,
                a_no_transaction_migration_runs_outside_a_transaction_and_is_applied,
                a_failure_part_way_leaves_the_migration_dirty,
                a_dirty_migration_refuses_run_rollback_and_baseline_and_changes_nothing,
                after_a_repair_and_a_fix_a_run_completes,
                a_process_stopped_mid_migration_leaves_a_dirty_mark_without_an_error,
                a_no_transaction_down_runs_outside_a_transaction,
                a_failed_no_transaction_down_leaves_the_migration_dirty,
            }
            baseline {
                baseline_records_migrations_as_applied_without_running_them,
                a_run_after_a_baseline_applies_only_what_is_above_it,
                the_history_shows_the_baseline,
                baseline_is_refused_once_anything_is_applied_and_changes_nothing,
                a_second_baseline_is_refused,
                baseline_to_an_unknown_version_is_refused_before_touching_the_database,
                baseline_to_the_latest_version_leaves_nothing_pending,
                baseline_with_a_custom_table,
                baseline_on_a_dirty_migration_asks_for_a_repair,
            }
            repair {
                repair_accepts_the_checksum_of_an_edited_migration,
                after_a_repair_the_running_checksums_are_chained_again,
                repair_clears_a_failed_attempt,
                repair_of_a_clean_database_changes_nothing,
                repair_leaves_a_missing_migration_alone,
                repairs_are_in_the_history_with_what_changed,
                repair_refuses_a_reused_version_and_changes_nothing,
                an_accepted_reused_version_records_the_new_migration_and_the_next_run_applies_the_renumbered_one,
                repair_records_the_new_name_of_a_renamed_file_with_the_same_content,
            }
            history {
                a_fresh_database_has_an_empty_history_and_stays_empty,
                every_event_is_recorded_in_order,
                events_carry_the_checksum_duration_and_error,
                the_report_the_status_and_the_history_agree,
                a_rollback_does_not_remove_earlier_events,
                the_history_table_is_named_after_the_tracking_table,
            }
            concurrency {
                concurrent_runs_apply_each_migration_exactly_once,
            }
        }
    };
}

/// The expansion of [`conformance_suite`]: `module { case, ... }` groups.
macro_rules! conformance_cases {
    ($harness:ty; $($module:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)] // the harness type, named at the call
                use super::*;
                $(
                    #[test]
                    fn $case() -> migrate::Result<()> {
                        if !<$harness as $crate::conformance::Harness>::available() {
                            return Ok(());
                        }
                        $crate::conformance::$module::$case::<$harness>()
                    }
                )*
            }
        )*
    };
}
