//! The `embed_migrations!` macro of the [`migrate`](https://docs.rs/migrate)
//! crate; use it through `migrate::embed_migrations!`.
//!
//! The work is in steps: `input` reads what the user wrote, then
//! `migrate_core::folder::read_folder` scans and validates the folder with
//! the same grammar the runtime uses, and `expand` turns the result into
//! const data or into one compile error per problem.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod expand;
mod input;

/// Embeds a migrations folder as a `migrate::Migrations` constant, validated
/// at build time.
///
/// The path is relative to the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`).
/// Every problem in the folder is a compile error naming its file; see the
/// `migrate` crate's documentation for the grammar and the `build.rs` line
/// that makes `cargo` rebuild when a file is added.
///
/// ```ignore
/// const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as input::Input);
    expand::expand(&input)
        .unwrap_or_else(|error| {
            // Several `compile_error!`s in expression position must sit in a
            // block, or rustc reports only the first.
            let errors = error.into_compile_error();
            quote::quote!({ #errors })
        })
        .into()
}
