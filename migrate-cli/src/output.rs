//! Human output: styles, aligned tables and durations. Styled text goes to an
//! [`anstream`] stream, which drops the colours when the output is not a
//! terminal or `NO_COLOR` is set.

use std::io::{self, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthStr;

/// An error, and the `error:` prefix.
pub(crate) const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Something that went well: applied, rolled back, valid.
pub(crate) const GOOD: Style = AnsiColor::Green.on_default();
/// Something waiting: pending.
pub(crate) const WAITING: Style = AnsiColor::Yellow.on_default();
/// A table header.
pub(crate) const HEADER: Style = Style::new().bold();
/// Secondary text.
pub(crate) const DIM: Style = Style::new().dimmed();
/// No style.
pub(crate) const PLAIN: Style = Style::new();

/// `12 ms`, or `1.5 s` from one second on.
pub(crate) fn duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// Prints `value` as pretty JSON and a newline.
pub(crate) fn json(out: &mut dyn Write, value: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// One cell: its text and style.
pub(crate) struct Cell {
    text: String,
    style: Style,
}

/// A cell in a style.
pub(crate) fn cell(text: impl ToString, style: Style) -> Cell {
    Cell {
        text: text.to_string(),
        style,
    }
}

/// A cell without style.
pub(crate) fn plain(text: impl ToString) -> Cell {
    cell(text, PLAIN)
}

/// An aligned table: a header, then rows; columns named in `right` are
/// aligned right (versions, durations).
pub(crate) struct Table {
    header: Vec<&'static str>,
    right: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these column names.
    pub(crate) fn new(header: &[&'static str]) -> Table {
        Table {
            header: header.to_vec(),
            right: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Aligns these columns to the right.
    pub(crate) fn right(mut self, columns: &[&'static str]) -> Table {
        self.right = columns.to_vec();
        self
    }

    /// Adds a row, one cell per column.
    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    /// Prints the table, two spaces between columns, without trailing
    /// spaces (also when styled: the escape codes come after the padding).
    /// Columns are as wide as a terminal shows their text: a CJK character
    /// or an emoji takes two columns, a combining accent none.
    pub(crate) fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let width = |text: &str| text.width();
        let widths: Vec<usize> = (0..self.header.len())
            .map(|column| {
                self.rows
                    .iter()
                    .map(|row| width(&row[column].text))
                    .chain([width(self.header[column])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<Cell> = self.header.iter().map(|h| cell(h, HEADER)).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            // Empty cells at the end of a row print nothing, not even spaces.
            let used = row
                .iter()
                .rposition(|cell| !cell.text.is_empty())
                .map_or(0, |i| i + 1);
            let mut line = String::new();
            for (column, cell) in row[..used].iter().enumerate() {
                if column > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[column] - width(&cell.text));
                let right = self.right.contains(&self.header[column]);
                if right {
                    line.push_str(&pad);
                }
                if !cell.text.is_empty() {
                    line.push_str(&format!("{}{}{:#}", cell.style, cell.text, cell.style));
                }
                if !right && column + 1 < used {
                    line.push_str(&pad);
                }
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_aligns_its_columns_without_trailing_spaces() {
        let mut table =
            Table::new(&["version", "name", "duration"]).right(&["version", "duration"]);
        table.row(vec![plain(1), plain("create_users"), plain("3 ms")]);
        table.row(vec![plain(12), plain("é"), plain("")]);
        let mut out = anstream::StripStream::new(Vec::new());
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.into_inner()).unwrap(),
            concat!(
                "version  name          duration\n",
                "      1  create_users      3 ms\n",
                "     12  é\n",
            )
        );
    }

    #[test]
    fn a_table_aligns_wide_and_combining_characters_by_their_width_on_screen() {
        let mut table = Table::new(&["version", "name", "state"]).right(&["version"]);
        table.row(vec![plain(1), plain("用户表"), plain("applied")]);
        table.row(vec![plain(2), plain("🚀_launch"), plain("pending")]);
        table.row(vec![plain(3), plain("cafe\u{301}"), plain("pending")]);
        let mut out = anstream::StripStream::new(Vec::new());
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.into_inner()).unwrap(),
            concat!(
                "version  name       state\n",
                "      1  用户表     applied\n",
                "      2  🚀_launch  pending\n",
                "      3  cafe\u{301}       pending\n",
            )
        );
    }

    #[test]
    fn durations_are_milliseconds_then_seconds() {
        assert_eq!(duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5 s");
    }
}
