//! A migrations folder in a temporary directory: the fixture helper of the
//! SQLite tests (`tests/common`) and of the conformance suite
//! (`tests/conformance`), which includes this file by path since it must not
//! depend on the SQLite helpers beside it.

use std::fs;
use std::path::Path;

use migrate::Migrations;
use tempfile::TempDir;

/// A migrations folder in a temporary directory.
pub struct Folder {
    dir: TempDir,
}

impl Folder {
    /// A folder holding `files` (name, content).
    pub fn new(files: &[(&str, &str)]) -> Folder {
        let folder = Folder {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        };
        for (name, content) in files {
            folder.write(name, content);
        }
        folder
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) {
        fs::write(self.dir.path().join(name), content).expect("write a migration file");
    }

    pub fn remove(&self, name: &str) {
        fs::remove_file(self.dir.path().join(name)).expect("remove a migration file");
    }

    /// Renames a file, its content unchanged.
    pub fn rename(&self, from: &str, to: &str) {
        fs::rename(self.dir.path().join(from), self.dir.path().join(to))
            .expect("rename a migration file");
    }

    /// The folder read at run time; panics with the problems if invalid.
    pub fn migrations(&self) -> Migrations {
        Migrations::from_folder(self.path()).unwrap_or_else(|e| panic!("{e}"))
    }
}
