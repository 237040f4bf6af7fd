//! What the user wrote: `embed_migrations!("path")` or
//! `embed_migrations!("path", verify = false)`.

use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token};

/// The macro's arguments.
pub struct Input {
    /// The migrations folder, relative to `CARGO_MANIFEST_DIR`.
    pub path: LitStr,
    /// Whether to apply the migrations to an in-memory SQLite database at
    /// build time (`verify = false` turns it off); on by default.
    pub verify: bool,
    /// The arguments as written, which the kept outcome of the check is
    /// keyed by (see `cache`): every option counts.
    pub source: String,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let source = input.cursor().token_stream().to_string();
        let expected = "expected the migrations folder as a string literal, relative to Cargo.toml: `embed_migrations!(\"migrations\")`";
        if !input.peek(LitStr) {
            return Err(input.error(expected));
        }
        let path: LitStr = input.parse()?;
        let mut verify = true;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.peek(Ident) {
                let option: Ident = input.parse()?;
                if option != "verify" {
                    return Err(syn::Error::new(
                        option.span(),
                        format!("unknown option `{option}`: the only option is `verify = false`"),
                    ));
                }
                input.parse::<Token![=]>()?;
                verify = input.parse::<LitBool>()?.value;
                if input.peek(Token![,]) {
                    input.parse::<Token![,]>()?;
                }
            }
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens: write `embed_migrations!(\"migrations\")` or `embed_migrations!(\"migrations\", verify = false)`",
            ));
        }
        Ok(Input {
            path,
            verify,
            source,
        })
    }
}
