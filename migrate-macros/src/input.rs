//! What the user wrote: `embed_migrations!("path")`, then options in any
//! order, each at most once: `verify = false`, `engine = "postgres"`,
//! `format = "diesel"`, (for Flyway) `placeholders(schema = "main")`, and
//! for the SQLite check the application's `functions(app_hash, "regexp")`
//! and `collations(de_phonebook)`, and `foreign_keys = false`.

use std::collections::BTreeMap;

use migrate_core::formats::{Format, ReadOptions};
use syn::ext::IdentExt;
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
    /// The SQL functions the application registers on its connection (or
    /// an extension it loads provides), which the SQLite check stands in
    /// for (`functions(app_hash, "regexp")`), in the order written.
    pub functions: Vec<String>,
    /// Likewise the collations (`collations(de_phonebook)`).
    pub collations: Vec<String>,
    /// Whether the SQLite check enforces foreign keys (`foreign_keys =
    /// false` for a set written for a connection without them).
    pub foreign_keys: bool,
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

const USAGE: &str = "write `embed_migrations!(\"migrations\")`, optionally followed by `verify = false`, `engine = \"postgres\"`, `format = \"diesel\"`, `placeholders(name = \"value\")`, `functions(name, ...)`, `collations(name, ...)` or `foreign_keys = false`";

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
        let mut functions: Option<(Ident, Vec<String>)> = None;
        let mut collations: Option<(Ident, Vec<String>)> = None;
        let mut foreign_keys: Option<(Ident, bool)> = None;
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
            if option == "functions" || option == "collations" {
                let names = names_of(input, &option)?;
                let slot = if option == "functions" {
                    &mut functions
                } else {
                    &mut collations
                };
                if slot.replace((option.clone(), names)).is_some() {
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
            } else if option == "foreign_keys" {
                let value = input.parse::<LitBool>()?.value;
                if foreign_keys.replace((option.clone(), value)).is_some() {
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
                        "unknown option `{option}`: the options are `verify = false`, `engine = \"postgres\"`, `format = \"diesel\"`, `placeholders(name = \"value\")`, `functions(name, ...)`, `collations(name, ...)` and `foreign_keys = false`"
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
        let verify = verify.unwrap_or(true);
        let engine = engine.unwrap_or(Engine::Sqlite);
        let options = functions
            .iter()
            .chain(&collations)
            .map(|(option, _)| option)
            .chain(foreign_keys.iter().map(|(option, _)| option));
        for option in options {
            // A stand-in nothing uses would be a silent no-op.
            let why = if !verify {
                "with `verify = false` there is no check"
            } else if engine != Engine::Sqlite {
                "a PostgreSQL set is not checked on SQLite"
            } else {
                continue;
            };
            return Err(syn::Error::new(
                option.span(),
                format!(
                    "`{option}` is a setting of the build-time SQLite check, and {why}: leave it out"
                ),
            ));
        }
        Ok(Input {
            path,
            verify,
            engine,
            read,
            functions: functions.map(|(_, names)| names).unwrap_or_default(),
            collations: collations.map(|(_, names)| names).unwrap_or_default(),
            foreign_keys: foreign_keys.is_none_or(|(_, value)| value),
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

/// `(name, "name", ...)` of `functions` or `collations`: identifiers or
/// string literals (for a name that is not a Rust identifier), at least one.
fn names_of(input: ParseStream<'_>, option: &Ident) -> syn::Result<Vec<String>> {
    let content;
    let parens = syn::parenthesized!(content in input);
    let mut names = Vec::new();
    while !content.is_empty() {
        let name = if content.peek(LitStr) {
            let literal: LitStr = content.parse()?;
            let name = literal.value();
            if name.is_empty() || name.contains('\0') {
                return Err(syn::Error::new(
                    literal.span(),
                    format!("`{option}(...)`: a name is not empty and has no NUL character"),
                ));
            }
            name
        } else {
            let name: Ident = content.parse().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    format!("`{option}(...)` takes names: `{option}(app_hash, \"regexp\")`"),
                )
            })?;
            // `r#type` names the function `type`.
            name.unraw().to_string()
        };
        names.push(name);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if names.is_empty() {
        let example = if option == "functions" {
            "app_hash"
        } else {
            "de_phonebook"
        };
        return Err(syn::Error::new(
            parens.span.join(),
            format!(
                "`{option}()` names nothing: name each, `{option}({example})`, or leave it out"
            ),
        ));
    }
    Ok(names)
}
