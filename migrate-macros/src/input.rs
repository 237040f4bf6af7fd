//! What the user wrote: `embed_migrations!("path")`, then options in any
//! order, each at most once: `verify = false`, `engine = "postgres"`,
//! `format = "diesel"` and (for Flyway) `placeholders(schema = "main")`.

use std::collections::BTreeMap;

use migrate_core::formats::{Format, ReadOptions};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token};

/// The macro's input.
pub struct Input {
    /// The migrations folder, relative to `CARGO_MANIFEST_DIR`.
    pub path: LitStr,
    /// Whether to check the SQL at build time (`verify = false` turns it
    /// off); on by default. What the check is depends on `engine`.
    pub verify: bool,
    /// The database the migrations are written for.
    pub engine: Engine,
    /// The folder's layout (`format = "diesel"`) and Flyway's placeholder
    /// values (`placeholders(name = "value", ...)`).
    pub read: ReadOptions,
    /// The arguments as written, which the kept outcome of the check is
    /// keyed by (see `cache`): every option counts.
    pub source: String,
}

/// The database a set is written for (`engine = "…"`): it decides the
/// build-time check and the type a Rust migration's functions take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `engine = "sqlite"`, the default: the set runs on an in-memory SQLite
    /// database; Rust migrations take `&rusqlite::Transaction`.
    Sqlite,
    /// `engine = "postgres"`: the blocking `postgres` client. Every SQL file
    /// is parsed with PostgreSQL's parser (feature `postgres-parse`);
    /// SQLite cannot run PostgreSQL's SQL. Rust migrations take `&mut
    /// postgres::Transaction`.
    Postgres,
    /// `engine = "tokio-postgres"`: as `postgres`, for the async client;
    /// Rust migrations are `async fn`s taking `&mut
    /// tokio_postgres::Transaction`.
    TokioPostgres,
}

const USAGE: &str = "write `embed_migrations!(\"migrations\")`, optionally followed by `verify = false`, `engine = \"postgres\"`, `format = \"diesel\"` or `placeholders(name = \"value\")`";

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let source = input.cursor().token_stream().to_string();
        if !input.peek(LitStr) {
            let expected = format!("expected the migrations folder as a string literal: {USAGE}");
            return Err(input.error(expected));
        }
        let path: LitStr = input.parse()?;
        let mut verify = None;
        let mut engine = None;
        let mut format = None;
        let mut placeholders = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let option: Ident = input.parse().map_err(|error| {
                syn::Error::new(error.span(), format!("expected an option: {USAGE}"))
            })?;
            let twice = || syn::Error::new(option.span(), format!("`{option}` is given twice"));
            if option == "placeholders" {
                if placeholders.replace(placeholders_of(input)?).is_some() {
                    return Err(twice());
                }
                continue;
            }
            input.parse::<Token![=]>()?;
            if option == "verify" {
                let value = input.parse::<LitBool>()?.value;
                if verify.replace(value).is_some() {
                    return Err(twice());
                }
            } else if option == "engine" {
                let value = engine_of(&input.parse::<LitStr>()?)?;
                if engine.replace(value).is_some() {
                    return Err(twice());
                }
            } else if option == "format" {
                let name: LitStr = input.parse()?;
                let value = name
                    .value()
                    .parse::<Format>()
                    .map_err(|error| syn::Error::new(name.span(), error))?;
                if format.replace(value).is_some() {
                    return Err(twice());
                }
            } else {
                return Err(syn::Error::new(
                    option.span(),
                    format!(
                        "unknown option `{option}`: the options are `verify = false`, `engine = \"postgres\"`, `format = \"diesel\"` and `placeholders(name = \"value\")`"
                    ),
                ));
            }
        }
        if !input.is_empty() {
            return Err(input.error(format!("unexpected tokens: {USAGE}")));
        }
        let mut read = ReadOptions::default();
        if let Some(format) = format {
            read.format = format;
        }
        if let Some(placeholders) = placeholders {
            read.placeholders = placeholders;
        }
        Ok(Input {
            path,
            verify: verify.unwrap_or(true),
            engine: engine.unwrap_or(Engine::Sqlite),
            read,
            source,
        })
    }
}

/// The engine a literal names.
///
/// # Errors
///
/// An unknown name.
fn engine_of(literal: &LitStr) -> syn::Result<Engine> {
    match literal.value().as_str() {
        "sqlite" => Ok(Engine::Sqlite),
        "postgres" => Ok(Engine::Postgres),
        "tokio-postgres" => Ok(Engine::TokioPostgres),
        other => Err(syn::Error::new(
            literal.span(),
            format!(
                "unknown engine `{other}`: the engines are `\"sqlite\"` (the default), `\"postgres\"` and `\"tokio-postgres\"`"
            ),
        )),
    }
}

/// `(name = "value", ...)`.
fn placeholders_of(input: ParseStream<'_>) -> syn::Result<BTreeMap<String, String>> {
    let content;
    syn::parenthesized!(content in input);
    let mut values = BTreeMap::new();
    while !content.is_empty() {
        let name: Ident = content.parse()?;
        content.parse::<Token![=]>()?;
        let value: LitStr = content.parse()?;
        values.insert(name.to_string(), value.value());
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(values)
}
