//! From a validated folder to const data, or from its problems to compile
//! errors.

use std::path::{Path, PathBuf};

use migrate_core::Migration;
use migrate_core::folder::{FolderError, read_folder};
use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;

use crate::input::Input;

/// Reads the folder named by `input` and expands to a `migrate::Migrations`
/// expression.
///
/// # Errors
///
/// One `syn::Error` spanned on the path literal per problem in the folder,
/// combined, so a build reports every problem at once.
pub fn expand(input: &Input) -> syn::Result<TokenStream> {
    let span = input.path.span();
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or_else(|| {
        syn::Error::new(
            span,
            "CARGO_MANIFEST_DIR is not set: embed_migrations! resolves its path against it, so build with cargo",
        )
    })?;
    let shown = PathBuf::from(input.path.value());
    let dir = Path::new(&manifest_dir).join(&shown);
    let migrations = read_folder(&dir, &shown).map_err(|error| folder_errors(&error, span))?;
    let entries = migrations
        .iter()
        .map(|migration| migration_tokens(&dir, migration, span))
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(quote! {
        {
            const __MIGRATE_EMBEDDED: &[::migrate::Migration] = &[#(#entries),*];
            ::migrate::Migrations::__embedded(__MIGRATE_EMBEDDED)
        }
    })
}

/// One compile error per problem, all spanned on the path literal.
fn folder_errors(error: &FolderError, span: Span) -> syn::Error {
    let mut errors = error
        .problems()
        .iter()
        .map(|problem| syn::Error::new(span, problem));
    // A `FolderError` holds at least one problem.
    let mut combined = errors
        .next()
        .unwrap_or_else(|| syn::Error::new(span, error));
    errors.for_each(|next| combined.combine(next));
    combined
}

/// `Migration::__embedded(...)` for one migration; the SQL comes through
/// `include_str!` so that editing a file rebuilds the crate.
fn migration_tokens(dir: &Path, migration: &Migration, span: Span) -> syn::Result<TokenStream> {
    let include = |file: &str| -> syn::Result<TokenStream> {
        let path = dir.join(file);
        let path = path.to_str().ok_or_else(|| {
            syn::Error::new(
                span,
                format!(
                    "`{}` is not valid UTF-8, which `include_str!` needs: move the crate to a UTF-8 path",
                    path.display()
                ),
            )
        })?;
        Ok(quote!(::core::include_str!(#path)))
    };
    let version = Literal::u64_suffixed(migration.version());
    let name = migration.name();
    let file = migration.file();
    let up = include(file)?;
    let up_no_transaction = migration.up_no_transaction();
    let down = match migration.down_file() {
        Some(down_file) => {
            let sql = include(down_file)?;
            let no_transaction = migration.down_no_transaction();
            quote!(::core::option::Option::Some((#down_file, #sql, #no_transaction)))
        }
        None => quote!(::core::option::Option::None),
    };
    let checksum = migration.checksum();
    let checksum = checksum.as_bytes();
    let running = migration.running_checksum();
    let running = running.as_bytes();
    Ok(quote! {
        ::migrate::Migration::__embedded(
            #version,
            #name,
            #file,
            #up,
            #up_no_transaction,
            #down,
            [#(#checksum),*],
            [#(#running),*],
        )
    })
}
