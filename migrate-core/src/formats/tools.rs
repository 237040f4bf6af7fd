//! The readers of diesel, sqlx, refinery, Flyway, dbmate, golang-migrate and
//! plain numbered folders (goose has its own module, for its statement
//! splitting). Each function's docs give its tool's rules and where they
//! come from.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Found, Listed, Reader, Sql, leading_digits, number};

/// A `.sql` file the tool would skip without a word: refused, so that a
/// misnamed file cannot hide a migration.
fn skipped(reader: &mut Reader<'_>, file: &Listed, rule: &str) {
    let tool = reader.format;
    reader.refuse(
        &file.shown,
        format!(
            "{tool} would skip this `.sql` file silently ({rule}): rename it to {tool}'s pattern, or move it out of the folder"
        ),
    );
}

/// Plain SQL in a transaction.
fn sql(text: &str) -> Sql {
    Sql {
        sql: text.to_owned(),
        no_transaction: false,
    }
}

/// diesel (`diesel_migrations`' `file_based_migrations.rs`): every folder
/// whose name does not start with `.` is a migration; its version is the
/// name's first `_`-separated part with `-` removed, ordered as text; it
/// holds `up.sql` (required), `down.sql` (optional; a zero-byte one is a
/// no-op down) and `metadata.toml` (`run_in_transaction = false` runs both
/// outside a transaction). Files beside the folders are not migrations to
/// diesel; a `.sql` one is refused.
pub(super) fn diesel(reader: &mut Reader<'_>, _dir: &Path, entries: &[Listed]) {
    for entry in entries {
        if !entry.is_dir {
            if entry.name.ends_with(".sql") {
                skipped(
                    reader,
                    entry,
                    "diesel reads only folders `<version>_<name>/up.sql`",
                );
            }
            continue;
        }
        let (diesel_version, name) = match entry.name.split_once('_') {
            Some((version, name)) => (version, name),
            None => (entry.name.as_str(), entry.name.as_str()),
        };
        let digits = diesel_version.replace('-', "");
        let version = match diesel_to_number(&digits) {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(
                    &entry.shown,
                    format!(
                        "diesel's version of this migration is `{digits}`, {why}: rename the folder to `YYYY-MM-DD-HHMMSS_{name}`"
                    ),
                );
                continue;
            }
        };
        let up_path = entry.path.join("up.sql");
        let up_shown = entry.shown.join("up.sql");
        if !up_path.is_file() {
            reader.refuse(
                &entry.shown,
                "a diesel migration folder without `up.sql`, which diesel refuses: add `up.sql`, or move the folder out",
            );
            continue;
        }
        let Some(up_text) = reader.read(&up_path, &up_shown) else {
            continue;
        };
        let no_transaction = match read_diesel_metadata(reader, entry) {
            Some(no_transaction) => no_transaction,
            None => continue,
        };
        let down_path = entry.path.join("down.sql");
        let down_shown = entry.shown.join("down.sql");
        let down = if down_path.is_file() {
            let Some(text) = reader.read(&down_path, &down_shown) else {
                continue;
            };
            Some((
                format!("{}/down.sql", entry.rel),
                down_shown,
                Sql {
                    sql: text,
                    no_transaction,
                },
            ))
        } else {
            None
        };
        reader.found.push(Found {
            version,
            name: name.to_owned(),
            file: format!("{}/up.sql", entry.rel),
            shown: up_shown,
            up: Sql {
                sql: up_text.clone(),
                no_transaction,
            },
            text: up_text,
            down,
        });
    }
}

/// diesel's version digits as a number that sorts as diesel's text does:
/// zeros appended to 14 digits; all zeros (diesel's setup migration, which
/// sorts before every other) is 1. Longer digits whose part after the 14th is
/// zeros (`2025-09-19-132648-0000`, a version diesel accepts and real folders
/// use) are their first 14: appending zeros to a text does not move it past
/// any other, so the order is still diesel's, and a folder with both
/// `…-132648` and `…-132648-0000` is two migrations of one version, refused
/// as such.
pub(crate) fn diesel_to_number(digits: &str) -> Result<u64, String> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not only digits, which `migrate`'s whole-number versions need".to_owned());
    }
    let digits = match digits.split_at_checked(14) {
        Some((first, rest)) if rest.bytes().all(|b| b == b'0') => first,
        Some(_) => {
            return Err(
                "longer than 14 digits, and not zeros after the 14th (`migrate` orders diesel's versions as text by appending zeros to 14 digits, or cutting zeros back to 14)"
                    .to_owned(),
            );
        }
        None => digits,
    };
    let padded = format!("{digits:0<14}");
    if padded.bytes().all(|b| b == b'0') {
        // diesel's PostgreSQL setup, `00000000000000_diesel_initial_setup`
        // (its helper functions, which later migrations call): first in
        // diesel's text order, so 1, `migrate`'s first version. Only
        // `00000000000001` also maps to 1, refused as a duplicate.
        return Ok(1);
    }
    number(&padded).map_err(str::to_owned)
}

/// Whether a diesel version (its digits, or a folder name) is all zeros:
/// diesel's setup migration, version 1 here.
pub(crate) fn is_diesel_setup(version: &str) -> bool {
    let version = version.split('_').next().unwrap_or_default();
    !version.is_empty() && version.bytes().all(|b| b == b'0' || b == b'-')
}

/// `metadata.toml`'s `run_in_transaction` (true without the file): `Some`
/// whether the migration runs outside a transaction, `None` when the file is
/// unreadable or invalid (recorded).
fn read_diesel_metadata(reader: &mut Reader<'_>, entry: &Listed) -> Option<bool> {
    let path = entry.path.join("metadata.toml");
    if !path.is_file() {
        return Some(false);
    }
    let shown = entry.shown.join("metadata.toml");
    let text = reader.read(&path, &shown)?;
    match text.parse::<toml::Table>() {
        Ok(table) => match table.get("run_in_transaction") {
            None => Some(false),
            Some(toml::Value::Boolean(run_in_transaction)) => Some(!run_in_transaction),
            Some(_) => {
                reader.refuse(&shown, "`run_in_transaction` is not `true` or `false`, which diesel refuses: write `run_in_transaction = false`");
                None
            }
        },
        Err(error) => {
            reader.refuse(
                &shown,
                format!("not valid TOML, which diesel refuses: {}", error.message()),
            );
            None
        }
    }
}

/// sqlx (`sqlx-core/src/migrate/source.rs`): the folder's files (not its
/// subfolders) named `<version>_<description>.sql`, split at the first `_`;
/// the version an `i64`; `.up.sql` and `.down.sql` make a reversible pair;
/// a file starting exactly with `-- no-transaction` runs outside a
/// transaction. Applied in version order.
pub(super) fn sqlx(reader: &mut Reader<'_>, entries: &[Listed]) {
    let mut downs = BTreeMap::new();
    for entry in files(entries, reader) {
        let Some((version_text, rest)) = entry.name.split_once('_') else {
            if entry.name.ends_with(".sql") {
                skipped(reader, entry, "no `_` after the version");
            }
            continue;
        };
        if !rest.ends_with(".sql") {
            continue;
        }
        let version = match version_text
            .parse::<i64>()
            .map_err(|_| "not an integer")
            .and_then(|_| number(version_text))
        {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(&entry.shown, format!("sqlx refuses `{version_text}` as a version ({why}): start the file name with the version, e.g. `20240131120000_create_users.sql`"));
                continue;
            }
        };
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        let no_transaction = text.starts_with("-- no-transaction");
        let step = Sql {
            sql: text.clone(),
            no_transaction,
        };
        if let Some(name) = rest.strip_suffix(".down.sql") {
            downs.insert(version, (entry, name.to_owned(), step));
            continue;
        }
        let name = rest
            .strip_suffix(".up.sql")
            .unwrap_or_else(|| rest.strip_suffix(".sql").unwrap_or(rest));
        reader.found.push(Found {
            version,
            name: name.to_owned(),
            file: entry.rel.clone(),
            shown: entry.shown.clone(),
            text,
            up: step,
            down: None,
        });
    }
    pair_downs(
        reader,
        downs,
        |up_file| up_file.ends_with(".up.sql"),
        "`<version>_<name>.up.sql`",
    );
}

/// The files of the listing (a subfolder is not read by these tools; a
/// `.sql`-named one is refused as skipped).
fn files<'e>(entries: &'e [Listed], reader: &mut Reader<'_>) -> Vec<&'e Listed> {
    let mut out = Vec::new();
    for entry in entries {
        if entry.is_dir {
            if entry.name.ends_with(".sql") {
                skipped(reader, entry, "it is a folder");
            }
            continue;
        }
        out.push(entry);
    }
    out
}

/// Gives each down its up of the same version, when `pairs(up file)` says
/// the up takes a down; an orphan down is refused, naming `up_pattern`.
fn pair_downs(
    reader: &mut Reader<'_>,
    downs: BTreeMap<u64, (&Listed, String, Sql)>,
    pairs: impl Fn(&str) -> bool,
    up_pattern: &str,
) {
    for (version, (entry, _name, step)) in downs {
        let tool = reader.format;
        let ups: Vec<usize> = (0..reader.found.len())
            .filter(|&i| reader.found[i].version == version)
            .collect();
        match ups.as_slice() {
            [i] if pairs(&reader.found[*i].file) && reader.found[*i].down.is_none() => {
                reader.found[*i].down = Some((entry.rel.clone(), entry.shown.clone(), step));
            }
            [i] => {
                let up = reader.found[*i].shown.display().to_string();
                reader.refuse(&entry.shown, format!("a down of version {version}, whose up `{up}` takes no down in {tool}'s layout: name the up {up_pattern}, or delete the down"));
            }
            [] => reader.refuse(&entry.shown, format!("a down without an up of version {version}, which {tool} cannot apply: add the up ({up_pattern}) or delete the down")),
            _ => {} // a duplicate version, reported by the common checks
        }
    }
}

/// refinery (`refinery_core/src/util.rs`): files in the folder and its
/// subfolders matching `^[UV](\d+(?:\.\d+)?)__(\w+)\.sql$`; the version an
/// integer (`V1.5` fails to parse, in refinery too); `U` (unversioned) and
/// `V` share one sequence, each run in a transaction, in version order. No
/// downs. refinery's Rust migrations (`.rs`) are refused: they are
/// compiled against refinery's API.
pub(super) fn refinery(reader: &mut Reader<'_>, entries: &[Listed]) {
    for entry in entries {
        let Some((stem, extension)) = entry.name.rsplit_once('.') else {
            continue;
        };
        if extension != "sql" && extension != "rs" {
            continue;
        }
        let parsed =
            stem.strip_prefix(['U', 'V'])
                .map(leading_digits)
                .and_then(|(digits, rest)| {
                    let name = rest.strip_prefix("__")?;
                    (!digits.is_empty()
                        && !name.is_empty()
                        && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
                    .then_some((digits, name))
                });
        let Some((digits, name)) = parsed else {
            if extension == "sql" {
                skipped(
                    reader,
                    entry,
                    "refinery's names are `V<version>__<name>.sql` or `U<version>__<name>.sql`, the name letters, digits and `_` only; it logs a warning",
                );
            }
            continue;
        };
        if extension == "rs" {
            reader.refuse(&entry.shown, "a refinery Rust migration, compiled against refinery's API: rewrite it as SQL, or as a `migrate` Rust migration in a folder of `migrate`'s own format");
            continue;
        }
        let version = match digits
            .parse::<i64>()
            .map_err(|_| "too large")
            .and_then(|_| number(digits))
        {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(
                    &entry.shown,
                    format!("refinery cannot use version `{digits}` ({why}): renumber the file"),
                );
                continue;
            }
        };
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        reader.found.push(Found {
            version,
            name: name.to_owned(),
            file: entry.rel.clone(),
            shown: entry.shown.clone(),
            up: sql(&text),
            text,
            down: None,
        });
    }
}

/// Flyway: files in the folder and its subfolders, `V<version>__<description>.sql`
/// (versioned), `U<version>__<description>.sql` (the undo of that version:
/// its down), `R__<description>.sql` (repeatable: refused, `migrate` has no
/// repeatable migrations). The version here is a whole number (`V10` after
/// `V2`); Flyway's dotted versions (`V1.1`, `V1_1`) are refused. Each
/// `${name}` is replaced by its value from the placeholders given to the
/// reader (Flyway's placeholder replacement, on by default); one without a
/// value is an error, as in Flyway. A `<file>.conf` beside a migration with
/// `executeInTransaction=false` runs it outside a transaction. The checksum
/// is of the file as written, before placeholders are replaced.
pub(super) fn flyway(reader: &mut Reader<'_>, entries: &[Listed]) {
    let conf: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
    let mut downs = BTreeMap::new();
    for entry in entries {
        let Some(stem) = entry.name.strip_suffix(".sql") else {
            continue;
        };
        if stem.starts_with("R__") {
            reader.refuse(&entry.shown, "a Flyway repeatable migration (`R__`), run again whenever it changes: `migrate` has no repeatable migrations; make it a versioned migration `V<next>__…` and write each later change as a new version");
            continue;
        }
        let parsed = stem
            .strip_prefix(['V', 'U'])
            .and_then(|rest| rest.split_once("__"));
        let Some((version_text, name)) = parsed.filter(|(v, n)| !v.is_empty() && !n.is_empty())
        else {
            skipped(
                reader,
                entry,
                "Flyway's names are `V<version>__<description>.sql`, `U<version>__<description>.sql` or `R__<description>.sql`",
            );
            continue;
        };
        if !version_text.bytes().all(|b| b.is_ascii_digit()) {
            reader.refuse(&entry.shown, format!("Flyway version `{version_text}` has parts: `migrate`'s versions are whole numbers; renumber the folder's migrations `V1`, `V2`, … in Flyway's order"));
            continue;
        }
        let version = match number(version_text) {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(&entry.shown, format!("{why}: renumber the file"));
                continue;
            }
        };
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        let Some(replaced) = replace_placeholders(reader, &text, entry) else {
            continue;
        };
        let no_transaction = flyway_conf_no_transaction(reader, entry, &conf);
        let step = Sql {
            sql: replaced,
            no_transaction,
        };
        if stem.starts_with('U') {
            downs.insert(version, (entry, name.to_owned(), step));
            continue;
        }
        reader.found.push(Found {
            version,
            name: name.to_owned(),
            file: entry.rel.clone(),
            shown: entry.shown.clone(),
            text,
            up: step,
            down: None,
        });
    }
    pair_downs(reader, downs, |_| true, "`V<version>__<description>.sql`");
}

/// `text` with each `${name}` replaced, or `None` (recorded) when one has no
/// value.
fn replace_placeholders(reader: &mut Reader<'_>, text: &str, entry: &Listed) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut missing = Vec::new();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        match reader.placeholders.get(name) {
            Some(value) => out.push_str(value),
            None => {
                missing.push(name.to_owned());
                out.push_str(&rest[start..start + 3 + end]);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        return Some(out);
    }
    missing.dedup();
    let list: Vec<String> = missing.iter().map(|m| format!("`${{{m}}}`")).collect();
    reader.refuse(&entry.shown, format!("no value for the Flyway placeholder(s) {}, which Flyway refuses too: give each a value (`placeholders(name = \"value\")` in `embed_migrations!`, `--placeholder name=value` on the command line)", list.join(", ")));
    None
}

/// Whether `<file>.conf` says `executeInTransaction=false`.
fn flyway_conf_no_transaction(reader: &mut Reader<'_>, entry: &Listed, rels: &[&str]) -> bool {
    let conf = format!("{}.conf", entry.rel);
    if !rels.contains(&conf.as_str()) {
        return false;
    }
    let path = entry.path.with_file_name(format!("{}.conf", entry.name));
    let shown = entry.shown.with_file_name(format!("{}.conf", entry.name));
    let Some(text) = reader.read(&path, &shown) else {
        return false;
    };
    text.lines().any(|line| {
        line.split_once('=').is_some_and(|(key, value)| {
            key.trim() == "executeInTransaction" && value.trim().eq_ignore_ascii_case("false")
        })
    })
}

/// dbmate (`pkg/dbmate/db.go`, `migration.go`): the folder's files matching
/// `^(\d+).*\.sql$`, applied in file-name order, the version their leading
/// digits; in each, `-- migrate:up` at the start of a line (nothing but
/// blank and comment lines before it), then `-- migrate:down`, required
/// after it; either marker line may carry `transaction:false`. One up and
/// down per file here (dbmate also reads several pairs in one file: refused).
pub(super) fn dbmate(reader: &mut Reader<'_>, entries: &[Listed]) {
    let mut previous: Option<(u64, &Listed)> = None;
    for entry in files(entries, reader) {
        if !entry.name.ends_with(".sql") {
            continue;
        }
        let (digits, rest) = leading_digits(&entry.name);
        if digits.is_empty() {
            skipped(
                reader,
                entry,
                "dbmate's files start with their version digits",
            );
            continue;
        }
        let version = match number(digits) {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(&entry.shown, format!("{why}: renumber the file"));
                continue;
            }
        };
        if let Some((before, before_entry)) = previous
            && before > version
        {
            reader.refuse(&entry.shown, format!("dbmate applies files in name order, and this one comes after `{}` though its version is lower: zero-pad the versions so that the two orders agree", before_entry.shown.display()));
        }
        previous = Some((version, entry));
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        let name = rest.strip_prefix('_').unwrap_or(rest);
        let name = name.strip_suffix(".sql").unwrap_or(name);
        match dbmate_sections(&text) {
            Ok((up, down)) => reader.found.push(Found {
                version,
                name: if name.is_empty() {
                    digits.to_owned()
                } else {
                    name.to_owned()
                },
                file: entry.rel.clone(),
                shown: entry.shown.clone(),
                up,
                down: Some((entry.rel.clone(), entry.shown.clone(), down)),
                text,
            }),
            Err(why) => reader.refuse(&entry.shown, why),
        }
    }
}

/// Whether `line` is a dbmate marker `--\s*migrate:<word>` followed by
/// whitespace or its end; returns its options' `transaction:false`.
fn dbmate_marker(line: &str, word: &str) -> Option<bool> {
    let rest = line
        .strip_prefix("--")?
        .trim_start_matches([' ', '\t', '\u{b}', '\u{c}', '\r']);
    let rest = rest.strip_prefix("migrate:")?.strip_prefix(word)?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let no_transaction = rest.split_whitespace().any(|pair| {
        let parts: Vec<&str> = pair.split(':').collect();
        parts.len() == 2 && parts[0] == "transaction" && parts[1] == "false"
    });
    Some(no_transaction)
}

/// dbmate's up and down blocks, each from its marker line to the next
/// marker (the marker line, a comment, included, as in dbmate).
fn dbmate_sections(text: &str) -> Result<(Sql, Sql), String> {
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(no_tx) = dbmate_marker(bare, "up") {
            ups.push((offset, no_tx));
        } else if let Some(no_tx) = dbmate_marker(bare, "down") {
            downs.push((offset, no_tx));
        }
        offset += line.len();
    }
    let Some(&(up_at, up_no_tx)) = ups.first() else {
        return Err("no `-- migrate:up` line, which dbmate requires: add `-- migrate:up` above the migration's SQL".to_owned());
    };
    let before = &text[..up_at];
    if before.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with("--")
    }) {
        return Err(
            "SQL before `-- migrate:up`, which dbmate refuses: move it below the marker".to_owned(),
        );
    }
    if ups.len() > 1 {
        return Err("several `-- migrate:up` sections in one file: `migrate` reads one up and one down per file; split the file, one version per section".to_owned());
    }
    let Some(&(down_at, down_no_tx)) = downs.first() else {
        return Err("no `-- migrate:down` line, which dbmate requires: add `-- migrate:down` below the up, with the SQL that undoes it (or nothing)".to_owned());
    };
    if downs.len() > 1 {
        return Err("several `-- migrate:down` lines, which dbmate refuses: keep one".to_owned());
    }
    if down_at < up_at {
        return Err("`-- migrate:down` before `-- migrate:up`, which dbmate refuses: put the up section first".to_owned());
    }
    Ok((
        Sql {
            sql: text[up_at..down_at].to_owned(),
            no_transaction: up_no_tx,
        },
        Sql {
            sql: text[down_at..].to_owned(),
            no_transaction: down_no_tx,
        },
    ))
}

/// golang-migrate (`source/parse.go`): files matching
/// `^([0-9]+)_(.*)\.(down|up)\.(.*)$`, the version a `uint64`; here the
/// extension `sql`. Each runs in a transaction (its SQLite driver's
/// default), in version order. Files matching nothing are skipped by
/// golang-migrate; a `.sql` one is refused.
pub(super) fn golang_migrate(reader: &mut Reader<'_>, entries: &[Listed]) {
    let mut downs = BTreeMap::new();
    for entry in files(entries, reader) {
        let Some(stem) = entry.name.strip_suffix(".sql") else {
            continue;
        };
        let (digits, rest) = leading_digits(stem);
        let parsed = rest.strip_prefix('_').and_then(|rest| {
            rest.strip_suffix(".up")
                .map(|name| (name, true))
                .or_else(|| rest.strip_suffix(".down").map(|name| (name, false)))
        });
        let Some((name, is_up)) = parsed.filter(|_| !digits.is_empty()) else {
            skipped(
                reader,
                entry,
                "golang-migrate's names are `<version>_<name>.up.sql` and `<version>_<name>.down.sql`",
            );
            continue;
        };
        let version = match number(digits) {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(&entry.shown, format!("{why}: renumber the file"));
                continue;
            }
        };
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        if !is_up {
            downs.insert(version, (entry, name.to_owned(), sql(&text)));
            continue;
        }
        reader.found.push(Found {
            version,
            name: if name.is_empty() {
                digits.to_owned()
            } else {
                name.to_owned()
            },
            file: entry.rel.clone(),
            shown: entry.shown.clone(),
            up: sql(&text),
            text,
            down: None,
        });
    }
    pair_downs(reader, downs, |_| true, "`<version>_<name>.up.sql`");
}

/// Plain numbered files: `<digits>.sql` or `<digits><separator><name>.sql`
/// (separator `_`, `-`, `.` or a space), ordered by number, gaps allowed;
/// a name ending in `up` or `down` after `_` or `.` (`0001_up.sql`,
/// `0001.down.sql`, `0001_users_down.sql`) makes an up and down pair. Each
/// runs in a transaction.
pub(super) fn plain(reader: &mut Reader<'_>, entries: &[Listed]) {
    let mut downs = BTreeMap::new();
    for entry in files(entries, reader) {
        let Some(stem) = entry.name.strip_suffix(".sql") else {
            continue;
        };
        let (digits, rest) = leading_digits(stem);
        if digits.is_empty() || !(rest.is_empty() || rest.starts_with(['_', '-', '.', ' '])) {
            reader.refuse(&entry.shown, "not a plain numbered migration: name it `<number>.sql` or `<number>_<name>.sql`, or move it out of the folder");
            continue;
        }
        let version = match number(digits) {
            Ok(version) => version,
            Err(why) => {
                reader.refuse(&entry.shown, format!("{why}: renumber the file"));
                continue;
            }
        };
        let name = rest.get(1..).unwrap_or("");
        let (name, role) = split_role(name);
        let Some(text) = reader.read(&entry.path, &entry.shown) else {
            continue;
        };
        if role == Some(false) {
            downs.insert(version, (entry, name.to_owned(), sql(&text)));
            continue;
        }
        reader.found.push(Found {
            version,
            name: if name.is_empty() {
                digits.to_owned()
            } else {
                name.to_owned()
            },
            file: entry.rel.clone(),
            shown: entry.shown.clone(),
            up: sql(&text),
            text,
            down: None,
        });
    }
    pair_downs(
        reader,
        downs,
        |_| true,
        "`<number>_up.sql` or `<number>.sql`",
    );
}

/// A plain name without its `up` / `down` ending: `Some(true)` for up,
/// `Some(false)` for down.
fn split_role(name: &str) -> (&str, Option<bool>) {
    for (word, up) in [("up", true), ("down", false)] {
        if name.eq_ignore_ascii_case(word) {
            return ("", Some(up));
        }
        for separator in ['_', '.'] {
            let suffix = format!("{separator}{word}");
            let cut = name.len().saturating_sub(suffix.len());
            if cut > 0
                && let (Some(head), Some(tail)) = (name.get(..cut), name.get(cut..))
                && tail.eq_ignore_ascii_case(&suffix)
            {
                return (head, Some(up));
            }
        }
    }
    (name, None)
}
