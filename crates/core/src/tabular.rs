//! Spreadsheet text in and out: decoding uploaded files (UTF-8 with or without a byte-order
//! mark, or GB18030 as spreadsheets save CSV in Chinese locales), reading RFC 4180 CSV into
//! records that keep their line numbers, and writing CSV cells that a spreadsheet will not run
//! as formulas.

use custodian_domain::FieldError;

/// How an upload's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8 when the bytes are valid UTF-8, else GB18030.
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

impl TextEncoding {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "utf-8" | "utf8" => Ok(Self::Utf8),
            "gb18030" | "gbk" | "gb2312" => Ok(Self::Gb18030),
            _ => Err(FieldError::new(
                "encoding",
                "invalid_encoding_choice",
                "must be one of: auto, utf-8, gb18030",
            )),
        }
    }
}

fn file_error(code: &'static str, message: &'static str) -> FieldError {
    FieldError::new("file", code, message)
}

/// Recognises files that are not text at all, so the person gets told what they uploaded.
fn refuse_binary(bytes: &[u8]) -> Result<(), FieldError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(file_error(
            "spreadsheet_not_csv",
            "this is an Excel (.xlsx) or other zipped file, not CSV; in your spreadsheet choose Save As → CSV and upload that file",
        ));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(file_error(
            "spreadsheet_not_csv",
            "this is an old Excel (.xls) file, not CSV; in your spreadsheet choose Save As → CSV and upload that file",
        ));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(file_error(
            "unsupported_encoding",
            "this file is UTF-16 text; save it as CSV UTF-8 (or GB18030) and upload it again",
        ));
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if head.contains(&0) {
        return Err(file_error(
            "not_text",
            "this file is not text (it contains binary data); upload a CSV file",
        ));
    }
    Ok(())
}

/// Decodes an upload to text. A UTF-8 byte-order mark is dropped.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> Result<String, FieldError> {
    refuse_binary(bytes)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = std::str::from_utf8(bytes);
    match (encoding, utf8) {
        (TextEncoding::Utf8 | TextEncoding::Auto, Ok(text)) => Ok(text.to_owned()),
        (TextEncoding::Utf8, Err(e)) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            Err(FieldError::new(
                "file",
                "invalid_encoding",
                format!(
                    "line {line} is not valid UTF-8; save the file as CSV UTF-8, or choose GB18030 if it was saved in a Chinese locale"
                ),
            ))
        }
        (TextEncoding::Gb18030 | TextEncoding::Auto, _) => {
            let (text, had_errors) = encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|t| (t, false))
                .unwrap_or_else(|| (std::borrow::Cow::Borrowed(""), true));
            if had_errors {
                return Err(file_error(
                    "invalid_encoding",
                    "the file is neither UTF-8 nor GB18030 text; save it as CSV UTF-8 and upload it again",
                ));
            }
            Ok(text.into_owned())
        }
    }
}

/// One CSV record and the line it starts on (1-based, counting the header).
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<String>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The fields are personal data.
        write!(f, "Record {{ line: {}, .. }}", self.line)
    }
}

/// A parsed CSV file: the header row and the data records. Records whose field count differs
/// from the header's are kept, so the caller can report every one of them.
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub records: Vec<Record>,
}

/// Limits on an uploaded table.
#[derive(Debug, Clone, Copy)]
pub struct TableLimits {
    pub max_rows: usize,
    pub max_columns: usize,
    pub max_cell_chars: usize,
}

/// Reads RFC 4180 CSV (comma-separated, `"` quoting, CRLF or LF line ends). A semicolon is
/// used instead when the header has semicolons and no commas, as European spreadsheets save.
pub fn read_csv(text: &str, limits: TableLimits) -> Result<Table, FieldError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if !first_line.contains(',') && first_line.contains(';') {
        b';'
    } else {
        b','
    };
    if let Some(line) = unclosed_quote(text) {
        return Err(FieldError::new(
            "file",
            "malformed_csv",
            format!("line {line} opens a quoted cell that is never closed"),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let malformed = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        FieldError::new(
            "file",
            "malformed_csv",
            format!("line {line} is not valid CSV (check its quotes)"),
        )
    };
    let headers: Vec<String> = match records.next() {
        Some(record) => record
            .map_err(malformed)?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect(),
        None => return Err(file_error("empty_file", "the file is empty")),
    };
    if headers.iter().all(String::is_empty) {
        return Err(file_error(
            "missing_header",
            "the first line must name the columns",
        ));
    }
    if headers.len() > limits.max_columns {
        return Err(FieldError::new(
            "file",
            "too_many_columns",
            format!("at most {} columns are allowed", limits.max_columns),
        ));
    }
    let mut out = Vec::new();
    // The reader's own line numbers lag behind where a record starts (they are taken before
    // the previous line end is consumed), so lines are counted from byte offsets instead.
    let bytes = text.as_bytes();
    let (mut counted_to, mut line) = (0usize, 1u64);
    for record in records {
        let record = record.map_err(malformed)?;
        let mut start = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX))
            .min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > counted_to {
            line += bytes[counted_to..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            counted_to = start;
        }
        let line = line;
        // A blank line is not a record.
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        if out.len() == limits.max_rows {
            return Err(FieldError::new(
                "file",
                "too_many_rows",
                format!(
                    "at most {} rows can be imported at once; split the file",
                    limits.max_rows
                ),
            ));
        }
        if record
            .iter()
            .any(|f| f.chars().count() > limits.max_cell_chars)
        {
            return Err(FieldError::new(
                "file",
                "cell_too_long",
                format!(
                    "line {line} has a cell longer than {} characters",
                    limits.max_cell_chars
                ),
            ));
        }
        out.push(Record {
            line,
            fields: record.iter().map(str::to_owned).collect(),
        });
    }
    Ok(Table {
        headers,
        records: out,
    })
}

/// The line of a quote that is never closed (the reader would swallow the rest of the file
/// into one cell). `""` inside a quoted cell opens and closes, so it balances.
fn unclosed_quote(text: &str) -> Option<u64> {
    let (mut line, mut open_at, mut open) = (1u64, 0u64, false);
    for b in text.bytes() {
        match b {
            b'"' => {
                open = !open;
                if open {
                    open_at = line;
                }
            }
            b'\n' => line += 1,
            _ => {}
        }
    }
    open.then_some(open_at)
}

/// A cell as written to a CSV export: text a spreadsheet would evaluate as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'` so it stays text.
pub fn guard_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{value}")),
        _ => std::borrow::Cow::Borrowed(value),
    }
}

/// Undoes [`guard_cell`] on an imported cell, so a file exported here, edited and imported
/// again keeps `-2.5` and `=` as they were. Any other leading `'` is kept.
pub fn unguard_cell(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => value,
    }
}

/// Writes one CSV record (RFC 4180 quoting, CRLF line end) with every cell guarded.
pub fn write_csv_record(out: &mut Vec<u8>, cells: &[&str]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let cell = guard_cell(cell);
        if cell.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(cell.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIMITS: TableLimits = TableLimits {
        max_rows: 10,
        max_columns: 5,
        max_cell_chars: 100,
    };

    #[test]
    fn decodes_utf8_with_and_without_bom_and_gb18030() {
        assert_eq!(
            decode("姓名\n".as_bytes(), TextEncoding::Auto).unwrap(),
            "姓名\n"
        );
        let bom = [b"\xEF\xBB\xBF".as_slice(), "姓名\n".as_bytes()].concat();
        assert_eq!(decode(&bom, TextEncoding::Utf8).unwrap(), "姓名\n");
        let (gb, _, _) = encoding_rs::GB18030.encode("姓名,邮箱\n王小明,w@x.cn\n");
        assert!(std::str::from_utf8(&gb).is_err());
        assert_eq!(
            decode(&gb, TextEncoding::Auto).unwrap(),
            "姓名,邮箱\n王小明,w@x.cn\n"
        );
        assert_eq!(
            decode(&gb, TextEncoding::Gb18030).unwrap(),
            "姓名,邮箱\n王小明,w@x.cn\n"
        );
        let err = decode(&gb, TextEncoding::Utf8).unwrap_err();
        assert_eq!(
            (err.code, err.message.contains("line 1")),
            ("invalid_encoding", true)
        );
    }

    #[test]
    fn refuses_binary_files_with_a_reason() {
        let code = |bytes: &[u8]| decode(bytes, TextEncoding::Auto).unwrap_err().code;
        assert_eq!(code(b"PK\x03\x04rest"), "spreadsheet_not_csv");
        assert_eq!(code(&[0xD0, 0xCF, 0x11, 0xE0, 1]), "spreadsheet_not_csv");
        assert_eq!(code(&[0xFF, 0xFE, b'a', 0]), "unsupported_encoding");
        assert_eq!(code(b"name\n\x00\x01\x02"), "not_text");
        // Not GB18030 either: a lone lead byte at the end.
        assert_eq!(code(b"name\n\x81"), "invalid_encoding");
    }

    #[test]
    fn reads_rfc4180_with_lines_and_keeps_ragged_rows() {
        let text =
            "Name,Email\r\n\"Wang, Xiaoming\",w@x.cn\r\n\r\n\"multi\nline\",m@x.cn\r\nragged\r\n";
        let table = read_csv(text, LIMITS).unwrap();
        assert_eq!(table.headers, ["Name", "Email"]);
        let lines: Vec<u64> = table.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 6]);
        assert_eq!(table.records[0].fields, ["Wang, Xiaoming", "w@x.cn"]);
        assert_eq!(table.records[1].fields[0], "multi\nline");
        assert_eq!(table.records[2].fields.len(), 1);
        let semi = read_csv("Name;Email\nA;a@x.cn\n", LIMITS).unwrap();
        assert_eq!(semi.records[0].fields, ["A", "a@x.cn"]);
    }

    #[test]
    fn enforces_limits() {
        let code = |text: &str| read_csv(text, LIMITS).unwrap_err().code;
        assert_eq!(code(""), "empty_file");
        assert_eq!(code("a,b,c,d,e,f\n"), "too_many_columns");
        assert_eq!(code(&format!("a\n{}", "x\n".repeat(11))), "too_many_rows");
        assert_eq!(code(&format!("a\n{}\n", "x".repeat(101))), "cell_too_long");
        assert_eq!(code("a\n\"unterminated\n"), "malformed_csv");
    }

    #[test]
    fn a_guarded_cell_imports_as_it_was_exported() {
        for original in [
            "=SUM(A1)", "-2.5", "+86 138", "@Ms Chen", "\tx", "'quoted", "plain", "",
        ] {
            assert_eq!(unguard_cell(&guard_cell(original)), original);
        }
        assert_eq!(unguard_cell("'abc"), "'abc", "other apostrophes are data");
    }

    #[test]
    fn guards_formulas_and_quotes() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(guard_cell(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(guard_cell("Wang"), "Wang");
        let mut out = Vec::new();
        write_csv_record(&mut out, &["=HYPERLINK(\"x\")", "a,b", "plain"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",plain\r\n"
        );
    }
}
