//! What the user wrote: `embed_migrations!("path")`, then options in any
//! order, each at most once: `verify = false`, `engine = "postgres"`.

use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token};

/// The macro's arguments.
pub struct Input {
    /// The migrations folder, relative to `CARGO_MANIFEST_DIR`.
    pub path: LitStr,
    /// Whether to check the SQL at build time (`verify = false` turns it
    /// off); on by default. What the check is depends on `engine`.
    pub verify: bool,
    /// The database the migrations are written for.
    pub engine: Engine,
}

/// The database a set is written for (`engine = "…"`): it decides the
/// build-time check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `engine = "sqlite"`, the default: the set runs on an in-memory SQLite
    /// database.
    Sqlite,
    /// `engine = "postgres"`: every SQL file is parsed with PostgreSQL's
    /// parser (feature `postgres`); SQLite cannot run PostgreSQL's SQL.
    Postgres,
}

const USAGE: &str = "write `embed_migrations!(\"migrations\")`, optionally followed by `verify = false` and `engine = \"postgres\"`";

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let expected = "expected the migrations folder as a string literal, relative to Cargo.toml: `embed_migrations!(\"migrations\")`";
        if !input.peek(LitStr) {
            return Err(input.error(expected));
        }
        let path: LitStr = input.parse()?;
        let mut verify = None;
        let mut engine = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let option: Ident = input.parse().map_err(|error| {
                syn::Error::new(error.span(), format!("expected an option: {USAGE}"))
            })?;
            input.parse::<Token![=]>()?;
            let twice = || syn::Error::new(option.span(), format!("`{option}` is given twice"));
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
            } else {
                return Err(syn::Error::new(
                    option.span(),
                    format!(
                        "unknown option `{option}`: the options are `verify = false` and `engine = \"postgres\"`"
                    ),
                ));
            }
        }
        if !input.is_empty() {
            return Err(input.error(format!("unexpected tokens: {USAGE}")));
        }
        Ok(Input {
            path,
            verify: verify.unwrap_or(true),
            engine: engine.unwrap_or(Engine::Sqlite),
        })
    }
}

/// The engine a literal names.
///
/// # Errors
///
/// An unknown name, or `"postgres"` without the macro's `postgres` feature
/// (which builds PostgreSQL's parser).
fn engine_of(literal: &LitStr) -> syn::Result<Engine> {
    match literal.value().as_str() {
        "sqlite" => Ok(Engine::Sqlite),
        "postgres" if cfg!(feature = "postgres") => Ok(Engine::Postgres),
        "postgres" => Err(syn::Error::new(
            literal.span(),
            "`engine = \"postgres\"` needs the `postgres` feature of `migrate`: `migrate = { …, features = [\"postgres\"] }` (its build needs libclang; see the README)",
        )),
        other => Err(syn::Error::new(
            literal.span(),
            format!(
                "unknown engine `{other}`: the engines are `\"sqlite\"` (the default) and `\"postgres\"`"
            ),
        )),
    }
}
