//! A migration and an ordered, validated set of them.

use std::borrow::Cow;
use std::path::Path;

use crate::checksum::Checksum;
use crate::folder::{self, FolderError};

/// One migration: a version, a name, its up SQL and optionally its down SQL.
///
/// Built by `embed_migrations!` as const data, or read at run time by
/// [`Migrations::from_folder`]; both go through the same folder grammar, so
/// they are equal field by field for the same folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    version: u64,
    name: Cow<'static, str>,
    file: Cow<'static, str>,
    up: Cow<'static, str>,
    down: Option<(Cow<'static, str>, Cow<'static, str>)>,
    checksum: Checksum,
    running_checksum: Checksum,
}

impl Migration {
    /// Const constructor for `embed_migrations!`'s expansion; not public API.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __embedded(
        version: u64,
        name: &'static str,
        file: &'static str,
        up: &'static str,
        down: Option<(&'static str, &'static str)>,
        checksum: [u8; 32],
        running_checksum: [u8; 32],
    ) -> Migration {
        Migration {
            version,
            name: Cow::Borrowed(name),
            file: Cow::Borrowed(file),
            up: Cow::Borrowed(strip_bom(up)),
            down: match down {
                Some((file, sql)) => Some((Cow::Borrowed(file), Cow::Borrowed(strip_bom(sql)))),
                None => None,
            },
            checksum: Checksum::from_sha256(checksum),
            running_checksum: Checksum::from_sha256(running_checksum),
        }
    }

    pub(crate) fn from_parts(
        version: u64,
        name: String,
        file: String,
        up: String,
        down: Option<(String, String)>,
        checksum: Checksum,
        running_checksum: Checksum,
    ) -> Migration {
        Migration {
            version,
            name: Cow::Owned(name),
            file: Cow::Owned(file),
            up: Cow::Owned(up),
            down: down.map(|(file, sql)| (Cow::Owned(file), Cow::Owned(sql))),
            checksum,
            running_checksum,
        }
    }

    /// The version, 1 to 2^63 - 1.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The name after the version in the file name, without extension
    /// (`add_email` for `0004_add_email.sql`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The up file's name inside the migrations folder (`0004_add_email.sql`).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The up SQL, as written in the file (a leading byte order mark removed).
    pub fn up_sql(&self) -> &str {
        &self.up
    }

    /// The down file's name, if the migration has one.
    pub fn down_file(&self) -> Option<&str> {
        self.down.as_ref().map(|(file, _)| &**file)
    }

    /// The down SQL, if the migration has a down file.
    pub fn down_sql(&self) -> Option<&str> {
        self.down.as_ref().map(|(_, sql)| &**sql)
    }

    /// The checksum of the up file; see [`Checksum::of_text`].
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// The running checksum over this migration and every earlier one in its
    /// set; see [`Checksum::chain`].
    pub fn running_checksum(&self) -> Checksum {
        self.running_checksum
    }
}

/// Removes a leading UTF-8 byte order mark, in a const context.
const fn strip_bom(text: &str) -> &str {
    match text.as_bytes() {
        [0xEF, 0xBB, 0xBF, ..] => text.split_at(3).1,
        _ => text,
    }
}

/// A validated set of migrations in version order: no duplicate versions, and
/// no gaps unless the versions are timestamps.
///
/// Usually a `const` built by `embed_migrations!`:
///
/// ```ignore
/// const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migrations {
    migrations: Cow<'static, [Migration]>,
}

impl Migrations {
    /// Const constructor for `embed_migrations!`'s expansion; not public API.
    /// The macro guarantees the slice is validated and in version order.
    #[doc(hidden)]
    pub const fn __embedded(migrations: &'static [Migration]) -> Migrations {
        Migrations {
            migrations: Cow::Borrowed(migrations),
        }
    }

    /// Reads and validates a migrations folder at run time, with the same
    /// grammar and checks as `embed_migrations!`.
    ///
    /// # Errors
    ///
    /// [`FolderError`] listing every problem; see [`folder`](crate::folder).
    pub fn from_folder(dir: impl AsRef<Path>) -> Result<Migrations, FolderError> {
        let dir = dir.as_ref();
        let migrations = folder::read_folder(dir, dir)?;
        Ok(Migrations {
            migrations: Cow::Owned(migrations),
        })
    }

    /// The migrations in version order.
    pub fn as_slice(&self) -> &[Migration] {
        &self.migrations
    }

    /// Iterates the migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// Number of migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether there are none (never, for a set from the macro or a folder).
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration with this version; a binary search, O(log n).
    pub fn get(&self, version: u64) -> Option<&Migration> {
        self.position(version).map(|index| &self.migrations[index])
    }

    /// The highest version in the set.
    pub fn latest_version(&self) -> Option<u64> {
        self.migrations.last().map(Migration::version)
    }

    pub(crate) fn position(&self, version: u64) -> Option<usize> {
        self.migrations
            .binary_search_by_key(&version, Migration::version)
            .ok()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
