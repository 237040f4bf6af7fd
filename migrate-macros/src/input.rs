//! What the user wrote: `embed_migrations!("path")`.

use syn::LitStr;
use syn::parse::{Parse, ParseStream};

/// The macro's arguments.
pub struct Input {
    /// The migrations folder, relative to `CARGO_MANIFEST_DIR`.
    pub path: LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let expected = "expected the migrations folder as a string literal, relative to Cargo.toml: `embed_migrations!(\"migrations\")`";
        if !input.peek(LitStr) {
            return Err(input.error(expected));
        }
        let path: LitStr = input.parse()?;
        if input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the migrations folder"));
        }
        Ok(Input { path })
    }
}
