//! PostgreSQL 15's messages for the conformance suite's failures: a module
//! of its own beside `postgres.rs`, since it names the suite's `Message`
//! and only the conformance harnesses include the suite.

/// PostgreSQL 15's messages, with their SQLSTATE as the backend shows them.
pub fn pg_message(failure: super::conformance::Message<'_>) -> String {
    use super::conformance::Message;
    use super::postgres::message;
    match failure {
        Message::NoSuchTable(table) => {
            message(&format!("relation \"{table}\" does not exist"), "42P01")
        }
        Message::UniqueViolation { table, column } => message(
            &format!("duplicate key value violates unique constraint \"{table}_{column}_key\""),
            "23505",
        ),
        Message::SyntaxError { near } => {
            message(&format!("syntax error at or near \"{near}\""), "42601")
        }
        Message::VacuumInTransaction => {
            message("VACUUM cannot run inside a transaction block", "25001")
        }
    }
}
