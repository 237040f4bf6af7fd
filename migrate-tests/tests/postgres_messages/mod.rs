//! PostgreSQL's messages for the conformance suite's failures, shared by the
//! two PostgreSQL harnesses.

use super::conformance::Message;

/// PostgreSQL 15's messages, with their SQLSTATE as the backend shows them.
pub fn pg_message(failure: Message<'_>) -> String {
    match failure {
        Message::NoSuchTable(table) => {
            super::postgres::message(&format!("relation \"{table}\" does not exist"), "42P01")
        }
        Message::UniqueViolation { table, column } => super::postgres::message(
            &format!("duplicate key value violates unique constraint \"{table}_{column}_key\""),
            "23505",
        ),
        Message::SyntaxError { near } => {
            super::postgres::message(&format!("syntax error at or near \"{near}\""), "42601")
        }
        Message::VacuumInTransaction => {
            super::postgres::message("VACUUM cannot run inside a transaction block", "25001")
        }
    }
}
