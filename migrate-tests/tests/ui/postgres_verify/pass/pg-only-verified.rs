//! With MIGRATE_VERIFY_DATABASE_URL set, `engine = "postgres"` runs the full
//! check on that server instead of the parse, and embeds the schema the set
//! produces: its enum, table, trigger function and trigger, and the index the
//! no-transaction migration creates concurrently. At run time
//! `check_schema` compares a database the set was applied to with that
//! embedded schema (no scratch run), and finds no drift.

use migrate::postgres::postgres::{Client, Config, NoTls};

const MIGRATIONS: migrate::Migrations =
    migrate::embed_migrations!("fixtures/pg_only", engine = "postgres");

fn main() {
    let migrations = MIGRATIONS;
    let schema = migrations
        .embedded_schema()
        .expect("the full check embeds the schema");
    let names: Vec<String> = schema
        .objects()
        .iter()
        .map(|object| format!("{} {}", object.kind(), object.name()))
        .collect();
    assert_eq!(
        names,
        [
            "type account_state",
            "table accounts",
            "constraint accounts.accounts_pkey",
            "index accounts_email",
            "function touch_updated_at()",
            "trigger accounts.accounts_touch",
        ]
    );
    // The enum has the value the last migration adds.
    assert!(schema.objects()[0].sql().ends_with("'closed')"));

    // The binary runs with the environment trybuild was given.
    let url = std::env::var("MIGRATE_VERIFY_DATABASE_URL").expect("the server's URL");
    let name = format!("migrate_ui_verified_{}", std::process::id());
    let mut admin = Client::connect(&url, NoTls).expect("connect to the server");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drop a leftover database");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a database");
    let mut config: Config = url.parse().expect("parse the URL");
    config.dbname(&name);
    let drift = {
        let mut client = config.connect(NoTls).expect("connect to the database");
        migrations.run(&mut client).expect("apply the set");
        migrations.check_schema(&mut client)
    };
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .expect("drop the database");
    assert_eq!(drift.expect("check the schema"), []);
}
