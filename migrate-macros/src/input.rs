//! What the user wrote: `embed_migrations!("path")`, with options
//! `verify = false`, `format = "diesel"` and (for Flyway)
//! `placeholders(schema = "main")`.

use std::collections::BTreeMap;

use migrate_core::formats::{Format, ReadOptions};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token};

/// The macro's arguments.
pub struct Input {
    /// The migrations folder, relative to `CARGO_MANIFEST_DIR`.
    pub path: LitStr,
    /// Whether to apply the migrations to an in-memory SQLite database at
    /// build time (`verify = false` turns it off); on by default.
    pub verify: bool,
    /// The folder's layout (`format = "diesel"`) and Flyway's placeholder
    /// values (`placeholders(name = "value", ...)`).
    pub read: ReadOptions,
}

const USAGE: &str = "write `embed_migrations!(\"migrations\")`, with options `verify = false`, `format = \"diesel\"` or `placeholders(name = \"value\")`";

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let expected = "expected the migrations folder as a string literal, relative to Cargo.toml: `embed_migrations!(\"migrations\")`";
        if !input.peek(LitStr) {
            return Err(input.error(expected));
        }
        let path: LitStr = input.parse()?;
        let mut verify = true;
        let mut read = ReadOptions::default();
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if !input.peek(Ident) {
                break;
            }
            let option: Ident = input.parse()?;
            if option == "verify" {
                input.parse::<Token![=]>()?;
                verify = input.parse::<LitBool>()?.value;
            } else if option == "format" {
                input.parse::<Token![=]>()?;
                let name: LitStr = input.parse()?;
                read.format = name
                    .value()
                    .parse::<Format>()
                    .map_err(|error| syn::Error::new(name.span(), error))?;
            } else if option == "placeholders" {
                read.placeholders = placeholders(input)?;
            } else {
                return Err(syn::Error::new(
                    option.span(),
                    format!("unknown option `{option}`: {USAGE}"),
                ));
            }
        }
        if !input.is_empty() {
            return Err(input.error(format!("unexpected tokens: {USAGE}")));
        }
        Ok(Input { path, verify, read })
    }
}

/// `(name = "value", ...)`.
fn placeholders(input: ParseStream<'_>) -> syn::Result<BTreeMap<String, String>> {
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
