//! The standalone binary's words for where its migrations come from. The
//! library speaks of "this build" and "this binary" (its set is embedded in
//! the application); the binary reads its set from a folder at run time, so
//! its messages say "the folder" instead. The mounted commands run over the
//! application's embedded set and keep the library's words.

use std::borrow::Cow;

use serde_json::Value;

/// The library's phrases and the folder's, longest first. A test below
/// checks each against the library's messages, so that a change of wording
/// there shows here.
const FOLDER_WORDS: &[(&str, &str)] = &[
    (
        "unknown to this build: the database is newer than this binary",
        "unknown to the folder: the database is newer than the folder",
    ),
    ("unknown to this build", "unknown to the folder"),
    ("this build has no ", "the folder has no "),
];

/// Where the set comes from, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wording {
    /// Embedded in the application: the library's words.
    Embedded,
    /// Read from a folder at run time: "the folder".
    Folder,
}

impl Wording {
    /// `text` in these words.
    pub(crate) fn apply(self, text: &str) -> Cow<'_, str> {
        if self == Wording::Embedded || !FOLDER_WORDS.iter().any(|(from, _)| text.contains(from)) {
            return Cow::Borrowed(text);
        }
        let mut text = text.to_owned();
        for (from, to) in FOLDER_WORDS {
            text = text.replace(from, to);
        }
        Cow::Owned(text)
    }

    /// Every string in `value` in these words.
    pub(crate) fn apply_json(self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(reworded) = self.apply(text) {
                    *text = reworded;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.apply_json(item)),
            Value::Object(fields) => fields.values_mut().for_each(|item| self.apply_json(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use migrate_core::{Error, Irreversible, Problem};

    use super::*;

    #[test]
    fn the_folder_is_named_where_the_library_names_this_build() {
        let missing = Problem::Missing {
            version: 4,
            name: "add_email".into(),
        };
        let reused = Problem::VersionReused {
            version: 2,
            applied_name: "add_phone".into(),
            name: "add_avatar".into(),
            file: "0002_add_avatar.sql".into(),
            renumbered: None,
        };
        let irreversible = Error::Irreversible {
            version: 4,
            name: "add_email".into(),
            reason: Box::new(Irreversible::Missing),
        };
        let messages = [
            Error::Verification(missing.clone()).to_string(),
            missing.to_string(),
            reused.to_string(),
            irreversible.to_string(),
        ];
        for message in &messages {
            let reworded = Wording::Folder.apply(message);
            assert!(
                !reworded.contains("this build") && !reworded.contains("this binary"),
                "{reworded}"
            );
            assert!(reworded.contains("the folder"), "{reworded}");
            assert_eq!(Wording::Embedded.apply(message), message.as_str());
        }
        assert_eq!(
            Wording::Folder.apply(&missing.to_string()),
            "migration 4 (add_email) is applied but unknown to the folder: the database is newer than the folder"
        );

        let mut json = serde_json::json!({ "problems": [missing.to_string()], "n": 1 });
        Wording::Folder.apply_json(&mut json);
        assert_eq!(
            json["problems"][0],
            "migration 4 (add_email) is applied but unknown to the folder: the database is newer than the folder"
        );
    }
}
