//! What the feature `serde` adds beyond the derives on the reports: a
//! duration as whole milliseconds, a checksum as its text form, a renumbered
//! migration as `{"version", "file"}`, and a dry run's outcome as the fields
//! its step carries.

use std::time::Duration;

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::checksum::Checksum;
use crate::report::DryRunOutcome;

/// Whole milliseconds, as the tracking table stores them (saturating at
/// `u64::MAX`, some 584 million years).
fn whole_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A [`Duration`] as whole milliseconds (a `u64`): the fields named
/// `duration_ms`.
pub(crate) mod millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(whole_millis(*duration))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// An optional [`Duration`] as whole milliseconds, or `null`.
pub(crate) mod option_millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        duration.map(whole_millis).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// [`Problem::VersionReused`](crate::Problem::VersionReused)'s `renumbered`,
/// `(version, file)`, as `{"version": 3, "file": "0003_add_phone.sql"}` or
/// `null`.
pub(crate) mod renumbered {
    use super::*;

    #[derive(Serialize)]
    struct Renumbered<'a> {
        version: u64,
        file: &'a str,
    }

    #[derive(Deserialize)]
    struct RenumberedOwned {
        version: u64,
        file: String,
    }

    pub(crate) fn serialize<S: Serializer>(
        renumbered: &Option<(u64, String)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        renumbered
            .as_ref()
            .map(|(version, file)| Renumbered {
                version: *version,
                file,
            })
            .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(u64, String)>, D::Error> {
        Ok(Option::<RenumberedOwned>::deserialize(d)?.map(|r| (r.version, r.file)))
    }
}

/// `"sha256:<64 hex digits>"`, the text form of [`Checksum`]'s `Display`.
impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// From the text form `"sha256:<64 hex digits>"`, as [`Checksum`]'s
/// `FromStr` reads it.
impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checksum, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// `{"outcome": "ok" | "failed" | "skipped_no_transaction", "duration_ms":
/// <whole milliseconds, for ok> | null, "error": <the error's message, for
/// failed> | null}`; a [`DryRunStep`](crate::DryRunStep) carries these three
/// fields beside its version, name and file.
impl Serialize for DryRunOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (outcome, duration_ms, error) = match self {
            DryRunOutcome::Ok(duration) => ("ok", Some(whole_millis(*duration)), None),
            DryRunOutcome::Failed(error) => ("failed", None, Some(error.to_string())),
            DryRunOutcome::SkippedNoTransaction => ("skipped_no_transaction", None, None),
        };
        let mut fields = s.serialize_struct("DryRunOutcome", 3)?;
        fields.serialize_field("outcome", outcome)?;
        fields.serialize_field("duration_ms", &duration_ms)?;
        fields.serialize_field("error", &error)?;
        fields.end()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::whole_millis;

    #[test]
    fn whole_millis_truncates_and_saturates() {
        assert_eq!(whole_millis(Duration::from_micros(12_999)), 12);
        assert_eq!(whole_millis(Duration::MAX), u64::MAX);
    }
}
