//! From a validated folder to const data, or from its problems to compile
//! errors.

use std::path::{Path, PathBuf};

use migrate_core::folder::FolderError;
use migrate_core::formats::Format;
use migrate_core::sqlite::VerifyOptions;
use migrate_core::{Migration, MigrationKind, Migrations, ObjectKind};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::cache::{self, Object, Outcome};
use crate::input::{Engine, Input};

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
    let migrations = Migrations::read_folder_as(&dir, &shown, &input.read)
        .map_err(|error| folder_errors(&error, span))?;
    // An absolute path without `..`, for the files rustc reads: its messages
    // about a Rust migration then name the file plainly. On Windows
    // `canonicalize` gives a `\\?\` verbatim path, and `absolute` already
    // resolves `..` there.
    #[cfg(windows)]
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    #[cfg(not(windows))]
    let dir = dir.canonicalize().unwrap_or(dir);
    let mut items = Vec::new();
    let entries = migrations
        .iter()
        .map(|migration| match migration.kind() {
            MigrationKind::Sql => sql_tokens(&dir, migration, input.read.format, span),
            MigrationKind::Rust => rust_tokens(&dir, migration, input.engine, span, &mut items),
        })
        .collect::<syn::Result<Vec<_>>>()?;
    // No schema for a set with Rust migrations: their code cannot run here,
    // so `check_schema` works it out at run time, with the code. None for
    // PostgreSQL's parse check either: it checks syntax and runs nothing;
    // the full check on a server (MIGRATE_VERIFY_DATABASE_URL) gives one.
    let schema = match (input.verify, input.engine) {
        (false, _) => None,
        (true, Engine::Sqlite) => verify(&migrations, &shown, input, Path::new(&manifest_dir))?,
        (true, Engine::Postgres | Engine::TokioPostgres) => match verify_database_url() {
            Some(url) => verify_postgres(&migrations, &url, &shown, span)?
                .as_ref()
                .map(Object::all),
            None => {
                parse_postgres(&migrations, &shown, span)?;
                None
            }
        },
    };
    let set = match schema {
        Some(objects) => {
            let objects = objects.iter().map(object_tokens);
            quote! {
                const __MIGRATE_SCHEMA: &[::migrate::SchemaObject] = {
                    #[allow(unused_imports)]
                    use ::migrate::{ObjectKind as K, SchemaObject as O};
                    &[#(#objects),*]
                };
                ::migrate::Migrations::__embedded_verified(__MIGRATE_EMBEDDED, __MIGRATE_SCHEMA)
            }
        }
        None => quote!(::migrate::Migrations::__embedded(__MIGRATE_EMBEDDED)),
    };
    Ok(quote! {
        {
            #(#items)*
            // Short names for what every entry repeats: fewer tokens for
            // rustc to take in at a thousand migrations.
            const __MIGRATE_EMBEDDED: &[::migrate::Migration] = {
                #[allow(unused_imports)]
                use ::core::{include_str as s, option::Option::{None, Some}};
                #[allow(unused_imports)]
                use ::migrate::Migration as M;
                &[#(#entries),*]
            };
            #set
        }
    })
}

/// Applies the set to an in-memory SQLite database (see
/// `migrate_core::sqlite::verify`), or reuses the outcome kept from an
/// earlier build of the same inputs (see [`cache`]), and returns the
/// objects of the schema it produces, or `None` for a set with a Rust
/// migration, whose code cannot run yet. The check stands in for the
/// functions and collations `input` names.
///
/// # Errors
///
/// One error per problem, combined.
fn verify(
    migrations: &Migrations,
    shown: &Path,
    input: &Input,
    manifest_dir: &Path,
) -> syn::Result<Option<Vec<Object>>> {
    let mut options = VerifyOptions::new().foreign_keys(input.foreign_keys);
    for name in &input.functions {
        options = options.stand_in_function(name.as_str());
    }
    for name in &input.collations {
        options = options.stand_in_collation(name.as_str());
    }
    verify_kept(
        migrations,
        shown,
        &input.source,
        &options,
        cache::folder(manifest_dir),
        input.path.span(),
    )
}

/// [`verify`], with the macro's `arguments` as written and the check's
/// `options`, keeping outcomes in `folder`.
pub(crate) fn verify_kept(
    migrations: &Migrations,
    shown: &Path,
    arguments: &str,
    options: &VerifyOptions<'_>,
    folder: Option<PathBuf>,
    span: Span,
) -> syn::Result<Option<Vec<Object>>> {
    let kept = folder.map(|folder| {
        (
            cache::key(migrations, arguments, options, &cache::sqlite_identity()),
            folder,
        )
    });
    let found = kept
        .as_ref()
        .and_then(|(key, folder)| cache::load(folder, key));
    let outcome = match found {
        Some(outcome) => outcome,
        None => {
            let outcome = match migrate_core::sqlite::verify_with(migrations, options) {
                Ok(verified) => Outcome::Passed(verified.schema.as_ref().map(Object::all)),
                Err(error) => {
                    let mut problems: Vec<String> = error
                        .problems()
                        .iter()
                        .map(|problem| problem.in_folder(shown))
                        .collect();
                    // A `VerifyError` holds at least one problem.
                    if problems.is_empty() {
                        problems.push(error.to_string());
                    }
                    Outcome::Failed(problems)
                }
            };
            if let Some((key, folder)) = &kept {
                cache::store(folder, key, &outcome);
            }
            outcome
        }
    };
    match outcome {
        Outcome::Passed(objects) => Ok(objects),
        Outcome::Failed(problems) => {
            let mut errors = problems
                .iter()
                .map(|problem| syn::Error::new(span, problem));
            let mut combined = errors
                .next()
                .unwrap_or_else(|| syn::Error::new(span, "the build-time check failed"));
            errors.for_each(|next| combined.combine(next));
            Err(combined)
        }
    }
}

/// The variable that names a PostgreSQL server for the full check.
/// Cargo does not know the macro reads it (`proc_macro::tracked_env` is not
/// stable): a crate that wants a rebuild when it changes says so in its
/// build script, `println!("cargo:rerun-if-env-changed=MIGRATE_VERIFY_DATABASE_URL")`.
const VERIFY_DATABASE_URL: &str = "MIGRATE_VERIFY_DATABASE_URL";

/// The server of the full check, when the variable is set and not empty.
fn verify_database_url() -> Option<String> {
    std::env::var(VERIFY_DATABASE_URL)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Runs the full check on the server at `url` (see
/// `migrate_core::postgres::verify`) and returns the schema the set
/// produces, or `None` for a set with a Rust migration.
///
/// # Errors
///
/// One error per problem, combined.
#[cfg(feature = "postgres-verify")]
fn verify_postgres(
    migrations: &Migrations,
    url: &str,
    shown: &Path,
    span: Span,
) -> syn::Result<Option<migrate_core::Schema>> {
    use migrate_core::postgres::verify;
    match verify::verify(url, migrations) {
        Ok(verified) => Ok(verified.schema),
        Err(error) => {
            let server = verify::shown_url(url);
            let mut errors = error
                .problems()
                .iter()
                .map(|problem| syn::Error::new(span, problem.in_folder_on_server(shown, &server)));
            // A `VerifyError` holds at least one problem.
            let mut combined = errors
                .next()
                .unwrap_or_else(|| syn::Error::new(span, &error));
            errors.for_each(|next| combined.combine(next));
            Err(combined)
        }
    }
}

/// Without the PostgreSQL client (feature `postgres-verify`) the full check
/// cannot run: refused rather than skipped, since the variable asks for it.
#[cfg(not(feature = "postgres-verify"))]
fn verify_postgres(
    _: &Migrations,
    _: &str,
    _: &Path,
    span: Span,
) -> syn::Result<Option<migrate_core::Schema>> {
    Err(syn::Error::new(
        span,
        format!(
            "{VERIFY_DATABASE_URL} is set, which runs the full check of a PostgreSQL set on that server; it needs the `postgres-verify` feature of `migrate` (`migrate = {{ …, features = [\"postgres\", \"postgres-verify\"] }}`); or unset it to parse the SQL only (feature `postgres-parse`)"
        ),
    ))
}

/// Parses every SQL file of the set with PostgreSQL's parser (see
/// `migrate_core::postgres::parse`).
///
/// # Errors
///
/// One error per file that does not parse, combined.
#[cfg(feature = "postgres-parse")]
fn parse_postgres(migrations: &Migrations, shown: &Path, span: Span) -> syn::Result<()> {
    match migrate_core::postgres::parse::check(migrations) {
        Ok(()) => Ok(()),
        Err(error) => {
            let mut errors = error
                .problems()
                .iter()
                .map(|problem| syn::Error::new(span, problem.in_folder(shown)));
            // A `ParseError` holds at least one problem.
            let mut combined = errors
                .next()
                .unwrap_or_else(|| syn::Error::new(span, &error));
            errors.for_each(|next| combined.combine(next));
            Err(combined)
        }
    }
}

/// Without the parser (feature `postgres-parse`) the SQL of a PostgreSQL set
/// cannot be checked: refused rather than passed unchecked, so that turning
/// the check off is a choice (`verify = false`).
#[cfg(not(feature = "postgres-parse"))]
fn parse_postgres(_: &Migrations, _: &Path, span: Span) -> syn::Result<()> {
    Err(syn::Error::new(
        span,
        "`engine = \"postgres\"` checks the SQL with PostgreSQL's parser, which needs the `postgres-parse` feature of `migrate` (`migrate = { …, features = [\"postgres\", \"postgres-parse\"] }`; its build needs libclang, see the README); or add `verify = false` to check only the folder",
    ))
}

/// `SchemaObject::__embedded(...)` for one object of the verified schema.
fn object_tokens(object: &Object) -> TokenStream {
    let kind = match object.kind {
        ObjectKind::Table => quote!(Table),
        ObjectKind::Index => quote!(Index),
        ObjectKind::View => quote!(View),
        ObjectKind::Trigger => quote!(Trigger),
        ObjectKind::Constraint => quote!(Constraint),
        ObjectKind::Function => quote!(Function),
        ObjectKind::Sequence => quote!(Sequence),
        ObjectKind::Type => quote!(Type),
    };
    let (name, table, sql) = (&object.name, &object.table, &object.sql);
    quote! {
        O::__embedded(K::#kind, #name, #table, #sql)
    }
}

/// `dir.join(file)` as a string literal's text.
///
/// # Errors
///
/// When the path is not UTF-8, which `include_str!` and `#[path]` need.
fn path_text(dir: &Path, file: &str, span: Span) -> syn::Result<String> {
    let path = dir.join(file);
    match path.to_str() {
        Some(text) => Ok(text.to_owned()),
        None => Err(syn::Error::new(
            span,
            format!(
                "`{}` is not valid UTF-8, which `include_str!` and `#[path]` need: move the crate to a UTF-8 path",
                path.display()
            ),
        )),
    }
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

/// `Migration::__embedded(...)` for one SQL migration; the SQL comes through
/// `include_str!` so that editing a file rebuilds the crate.
fn sql_tokens(
    dir: &Path,
    migration: &Migration,
    format: Format,
    span: Span,
) -> syn::Result<TokenStream> {
    // The file itself, or, where another tool's format made the SQL from
    // it (goose's statements, a dbmate section, Flyway's placeholders), that
    // SQL, with the file still included so that editing it rebuilds.
    // `migrate`'s own grammar takes a file's text as it is: no second read.
    let include = |file: &str, sql: &str| -> syn::Result<TokenStream> {
        let path = path_text(dir, file, span)?;
        if format == Format::Migrate {
            return Ok(quote!(s!(#path)));
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.strip_prefix('\u{feff}').unwrap_or(&text) == sql {
            Ok(quote!(s!(#path)))
        } else {
            Ok(quote!({
                const _: &str = s!(#path);
                #sql
            }))
        }
    };
    let version = Literal::u64_suffixed(migration.version());
    let name = migration.name();
    let file = migration.file();
    let up = include(file, migration.up_sql().unwrap_or_default())?;
    // The file's own text too where the SQL is not all of it, for other
    // tools' checksums (`Migration::up_file_text`): the same
    // `include_str!`, so the file is in the binary once.
    let up_file = if migration.up_file_text() == migration.up_sql() {
        quote!(None)
    } else {
        let path = path_text(dir, file, span)?;
        quote!(Some(s!(#path)))
    };
    let up_no_transaction = migration.up_no_transaction();
    let down = match migration.down_file() {
        Some(down_file) => {
            let sql = include(down_file, migration.down_sql().unwrap_or_default())?;
            let no_transaction = migration.down_no_transaction();
            quote!(Some((#down_file, #sql, #no_transaction)))
        }
        None => quote!(None),
    };
    let (checksum, running) = checksums(migration);
    Ok(quote! {
        M::__embedded(
            #version,
            #name,
            #file,
            #up,
            #up_no_transaction,
            #down,
            #checksum,
            #running,
            #up_file,
        )
    })
}

/// `Migration::__embedded_rust(...)` for one Rust migration, and into `items`
/// the items it needs in the expansion's block: the user's file as a module
/// through `#[path]` (so rustc's errors point into that file and editing it
/// rebuilds the crate), and a wrapper per step that boxes its error.
fn rust_tokens(
    dir: &Path,
    migration: &Migration,
    engine: Engine,
    span: Span,
    items: &mut Vec<TokenStream>,
) -> syn::Result<TokenStream> {
    let version = migration.version();
    let name = migration.name();
    let file = migration.file();
    let path = path_text(dir, file, span)?;
    let module = format_ident!("__migrate_rust_{version}");
    let mut step = |step: &str| {
        let wrapper = format_ident!("__migrate_rust_{version}_{step}");
        let code = format_ident!("__MIGRATE_RUST_{version}_{}", step.to_uppercase());
        let function = format_ident!("{step}");
        items.push(match engine {
            Engine::Sqlite => quote! {
                fn #wrapper(
                    tx: &::migrate::sqlite::Transaction<'_>,
                ) -> ::core::result::Result<(), ::migrate::BoxError> {
                    #module::#function(tx).map_err(::core::convert::Into::into)
                }
                const #code: ::migrate::sqlite::RustStep = #wrapper;
            },
            Engine::Postgres => quote! {
                fn #wrapper(
                    tx: &mut ::migrate::postgres::postgres::Transaction<'_>,
                ) -> ::core::result::Result<(), ::migrate::BoxError> {
                    #module::#function(tx).map_err(::core::convert::Into::into)
                }
                const #code: ::migrate::postgres::PostgresStep = #wrapper;
            },
            Engine::TokioPostgres => quote! {
                fn #wrapper<'a, 'b>(
                    tx: &'a mut ::migrate::postgres::tokio_postgres::Transaction<'b>,
                ) -> ::core::pin::Pin<
                    ::std::boxed::Box<
                        dyn ::core::future::Future<
                                Output = ::core::result::Result<(), ::migrate::BoxError>,
                            > + ::core::marker::Send
                            + 'a,
                    >,
                > {
                    ::std::boxed::Box::pin(async move {
                        #module::#function(tx)
                            .await
                            .map_err(::core::convert::Into::into)
                    })
                }
                const #code: ::migrate::postgres::TokioPostgresStep = #wrapper;
            },
        });
        quote!(::migrate::RustCode::new(&#code))
    };
    let up = step("up");
    let down = if migration.is_reversible() {
        let down = step("down");
        quote!(::core::option::Option::Some(#down))
    } else {
        quote!(::core::option::Option::None)
    };
    items.push(quote! {
        #[path = #path]
        mod #module;
    });
    let version = Literal::u64_suffixed(version);
    let (checksum, running) = checksums(migration);
    Ok(quote! {
        ::migrate::Migration::__embedded_rust(
            #version,
            #name,
            #file,
            #up,
            #down,
            #checksum,
            #running,
        )
    })
}

/// The checksum and running checksum as `[u8; 32]` expressions: a byte
/// string each (`*b"…"`), one token where an array would be 32 literals
/// for the compiler to read.
fn checksums(migration: &Migration) -> (TokenStream, TokenStream) {
    let checksum = Literal::byte_string(migration.checksum().as_bytes());
    let running = Literal::byte_string(migration.running_checksum().as_bytes());
    (quote!(*#checksum), quote!(*#running))
}
