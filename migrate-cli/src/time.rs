//! The current UTC time as text, without a date-time dependency: for log
//! entries (RFC 3339 with milliseconds, as the tracking table stores times)
//! and for timestamp versions (`YYYYMMDDHHMMSS`).

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC time broken into its calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millisecond: u32,
}

impl Utc {
    /// Now (the Unix epoch if the clock is set before it).
    pub(crate) fn now() -> Utc {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Utc::from_unix_millis(since.as_millis())
    }

    /// The time `millis` milliseconds after the Unix epoch.
    pub(crate) fn from_unix_millis(millis: u128) -> Utc {
        let seconds = (millis / 1000) as i64;
        let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: (of_day / 3600) as u32,
            minute: (of_day % 3600 / 60) as u32,
            second: (of_day % 60) as u32,
            millisecond: (millis % 1000) as u32,
        }
    }

    /// RFC 3339 with milliseconds: `2024-01-31T12:00:00.123Z`.
    pub(crate) fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }

    /// A timestamp version: `20240131120000`.
    pub(crate) fn version(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Year, month and day of the `days`-th day after 1970-01-01, in the
/// proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z", "19700101000000"),
            // 2000-02-29, a leap day in a century leap year.
            (
                951_782_400_123,
                "2000-02-29T00:00:00.123Z",
                "20000229000000",
            ),
            (
                1_706_702_400_999,
                "2024-01-31T12:00:00.999Z",
                "20240131120000",
            ),
            (
                4_102_444_799_000,
                "2099-12-31T23:59:59.000Z",
                "20991231235959",
            ),
        ];
        for (millis, rfc3339, version) in cases {
            let time = Utc::from_unix_millis(millis);
            assert_eq!(time.rfc3339(), rfc3339);
            assert_eq!(time.version(), version);
        }
    }
}
