//! Checksums of migration files and the running checksum over a set.
//!
//! A [`Checksum`] carries its algorithm, so the algorithm can change later
//! without making databases that recorded the old one unreadable. Its text
//! form, stored in the tracking table, is `<algorithm>:<hex digest>`, e.g.
//! `sha256:9f86d08…` (64 lowercase hex digits for SHA-256).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The algorithm behind a [`Checksum`], named by its text form's prefix.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// SHA-256 of the file's text with a leading UTF-8 byte order mark removed
    /// and every CRLF replaced by LF; 32 bytes. Text prefix `sha256`.
    Sha256,
}

impl ChecksumAlgorithm {
    /// The prefix of this algorithm in a checksum's text form, e.g. `sha256`.
    pub const fn prefix(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha256 => "sha256",
        }
    }
}

/// A checksum: an algorithm and its 32-byte digest.
///
/// Compare two checksums with `==`; both the algorithm and the bytes must
/// match. `Display` and [`FromStr`] use the text form `sha256:<64 hex digits>`,
/// and so do `Serialize` and `Deserialize` (feature `serde`): a string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum {
    algorithm: ChecksumAlgorithm,
    bytes: [u8; 32],
}

impl Checksum {
    /// The checksum of a migration file's text.
    ///
    /// SHA-256 of the text with a leading byte order mark (U+FEFF) removed and
    /// CRLF normalised to LF, so a checkout on Windows with `core.autocrlf`
    /// gives the same checksum as one on Linux. A lone CR is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use migrate_core::Checksum;
    /// let unix = Checksum::of_text("CREATE TABLE t (id INTEGER);\n");
    /// let windows = Checksum::of_text("\u{feff}CREATE TABLE t (id INTEGER);\r\n");
    /// assert_eq!(unix, windows);
    /// assert!(unix.to_string().starts_with("sha256:"));
    /// ```
    pub fn of_text(text: &str) -> Checksum {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut hasher = Sha256::new();
        let mut lines = text.split("\r\n");
        if let Some(first) = lines.next() {
            hasher.update(first.as_bytes());
        }
        for line in lines {
            hasher.update(b"\n");
            hasher.update(line.as_bytes());
        }
        Checksum::from_sha256(hasher.finalize().into())
    }

    /// A SHA-256 checksum from its 32 digest bytes (as embedded at build time).
    pub const fn from_sha256(bytes: [u8; 32]) -> Checksum {
        Checksum {
            algorithm: ChecksumAlgorithm::Sha256,
            bytes,
        }
    }

    /// The algorithm that produced this checksum.
    pub const fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// The digest, 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The running checksum after `previous`, for the migration `version` whose
    /// file has checksum `file`: SHA-256 over `previous`'s 32 bytes, `version`
    /// as 8 big-endian bytes, then `file`'s 32 bytes.
    ///
    /// The running checksum of a set's first migration uses `previous = None`
    /// (32 zero bytes). Because each one covers every earlier migration,
    /// comparing the latest applied migration's running checksum with the one
    /// built into the binary verifies all applied checksums in one comparison.
    pub fn chain(previous: Option<&Checksum>, version: u64, file: &Checksum) -> Checksum {
        let mut hasher = Sha256::new();
        hasher.update(previous.map_or([0; 32], |p| p.bytes));
        hasher.update(version.to_be_bytes());
        hasher.update(file.bytes);
        Checksum::from_sha256(hasher.finalize().into())
    }

    /// The text form, `sha256:` and 64 lowercase hex digits (71 bytes), as
    /// [`Display`](fmt::Display) writes it, built on the stack: for the
    /// tracking table's writes, which bind it once per migration.
    pub(crate) fn text(&self) -> ChecksumText {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let prefix = self.algorithm.prefix().as_bytes();
        let mut bytes = [0; CHECKSUM_TEXT_LEN];
        bytes[..prefix.len()].copy_from_slice(prefix);
        bytes[prefix.len()] = b':';
        for (i, byte) in self.bytes.iter().enumerate() {
            let at = prefix.len() + 1 + 2 * i;
            bytes[at] = HEX[usize::from(byte >> 4)];
            bytes[at + 1] = HEX[usize::from(byte & 0xf)];
        }
        ChecksumText(bytes)
    }
}

/// The length of a SHA-256 checksum's text form: `sha256:` and 64 hex digits.
const CHECKSUM_TEXT_LEN: usize = 7 + 64;

/// A checksum's text form held on the stack: see [`Checksum::text`].
#[derive(Clone, Copy)]
pub(crate) struct ChecksumText([u8; CHECKSUM_TEXT_LEN]);

impl ChecksumText {
    /// The text, `sha256:<64 hex digits>`.
    pub(crate) fn as_str(&self) -> &str {
        // ASCII only: the prefix and hex digits written by `Checksum::text`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({self})")
    }
}

/// A checksum's text form could not be read; see [`Checksum`]'s `FromStr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a checksum: expected `sha256:` followed by 64 hex digits")]
pub struct ParseChecksumError {
    text: String,
}

impl FromStr for Checksum {
    type Err = ParseChecksumError;

    /// Reads the text form `sha256:<64 hex digits>` (lowercase or uppercase).
    fn from_str(text: &str) -> Result<Checksum, ParseChecksumError> {
        let error = || ParseChecksumError {
            text: text.to_owned(),
        };
        let digest = text
            .strip_prefix(ChecksumAlgorithm::Sha256.prefix())
            .and_then(|rest| rest.strip_prefix(':'))
            .ok_or_else(error)?;
        let digest = digest.as_bytes();
        if digest.len() != 64 {
            return Err(error());
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(digest.chunks_exact(2)) {
            let (Some(high), Some(low)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(error());
            };
            *byte = high << 4 | low;
        }
        Ok(Checksum::from_sha256(bytes))
    }
}

/// The value of one hex digit, either case: a table lookup, since `status`
/// reads one checksum per applied migration.
fn hex_value(digit: u8) -> Option<u8> {
    const VALUES: [u8; 256] = {
        let mut values = [u8::MAX; 256];
        let mut i = 0;
        while i < 10 {
            values[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            values[b'a' as usize + i] = 10 + i as u8;
            values[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        values
    };
    match VALUES[usize::from(digit)] {
        u8::MAX => None,
        value => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sha256_of_plain_text() {
        // `printf 'abc' | sha256sum`
        assert_eq!(
            Checksum::of_text("abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn crlf_and_bom_do_not_change_the_checksum_but_content_does() {
        let lf = Checksum::of_text("a;\nb;\n");
        assert_eq!(lf, Checksum::of_text("a;\r\nb;\r\n"));
        assert_eq!(lf, Checksum::of_text("\u{feff}a;\r\nb;\n"));
        assert_ne!(lf, Checksum::of_text("a;\rb;\r"), "a lone CR is content");
        assert_ne!(lf, Checksum::of_text("a;\nb;"));
        assert_ne!(lf, Checksum::of_text("a;\n\nb;\n"));
    }

    #[test]
    fn text_form_round_trips_and_rejects_garbage() {
        let sum = Checksum::of_text("select 1;");
        assert_eq!(sum.to_string().parse::<Checksum>(), Ok(sum));
        assert_eq!(sum.text().as_str(), sum.to_string());
        let upper = format!("sha256:{}", sum.to_string()[7..].to_uppercase());
        assert_eq!(upper.parse::<Checksum>(), Ok(sum), "uppercase hex");
        let long = format!("{sum}0");
        let bad_digit = format!("{}g", &sum.to_string()[..70]);
        for bad in [
            "",
            "sha256:",
            "md5:00",
            "sha256:zz",
            &sum.to_string()[1..],
            &long,
            &bad_digit,
        ] {
            assert!(bad.parse::<Checksum>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn chain_depends_on_order_version_and_previous() {
        let a = Checksum::of_text("a");
        let b = Checksum::of_text("b");
        let ab = Checksum::chain(Some(&Checksum::chain(None, 1, &a)), 2, &b);
        let ba = Checksum::chain(Some(&Checksum::chain(None, 1, &b)), 2, &a);
        assert_ne!(ab, ba);
        assert_ne!(Checksum::chain(None, 1, &a), Checksum::chain(None, 2, &a));
    }
}
