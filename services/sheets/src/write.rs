//! Tables out: what `citydash export` writes, and the empty templates the
//! import page and `citydash template` hand to clerks, as CSV (UTF-8 with a
//! BOM, so Excel reads the Chinese) or XLSX.

use std::path::Path;

use anyhow::Context as _;

/// A cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Text.
    Text(String),
    /// A number shown with two decimals (万元, percentages).
    Number(f64),
    /// A whole number.
    Int(i64),
}

/// A table to export.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Sheet name.
    pub name: String,
    /// Chinese headers.
    pub headers: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Out>>,
    /// A note on each header in XLSX ("必填" on a template's required
    /// columns, say); none when empty.
    pub header_notes: Vec<String>,
}

/// The two formats a table is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV, UTF-8 with a BOM.
    Csv,
    /// An Excel workbook of one sheet.
    Xlsx,
}

impl Format {
    /// The format a file name's extension asks for.
    pub fn of(name: &str) -> Option<Format> {
        let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// Its media type, for a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Writes `table` as CSV or XLSX, by the path's extension.
pub fn write(table: &Table, path: &Path) -> anyhow::Result<()> {
    let format =
        Format::of(&path.to_string_lossy()).with_context(|| format!("{}: write .xlsx or .csv", path.display()))?;
    let bytes = to_bytes(table, format)?;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// `table` in `format`, in memory.
pub fn to_bytes(table: &Table, format: Format) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut headers = table.headers.clone();
            if let Some(first) = headers.first_mut() {
                *first = format!("\u{feff}{first}");
            }
            w.write_record(&headers)?;
            for row in &table.rows {
                w.write_record(row.iter().map(|c| match c {
                    Out::Text(t) => t.clone(),
                    Out::Number(n) => format!("{n:.2}"),
                    Out::Int(i) => i.to_string(),
                }))?;
            }
            w.into_inner()
                .map_err(|e| anyhow::anyhow!("writing CSV: {}", e.error()))
        }
        Format::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let name: String = table
                .name
                .chars()
                .filter(|c| !"[]:*?/\\".contains(*c))
                .take(31)
                .collect();
            sheet.set_name(&name)?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            let two = rust_xlsxwriter::Format::new().set_num_format("0.00");
            for (i, h) in table.headers.iter().enumerate() {
                sheet.write_string_with_format(0, i as u16, h, &bold)?;
                if let Some(note) = table.header_notes.get(i) {
                    sheet.insert_note(0, i as u16, &rust_xlsxwriter::Note::new(note))?;
                }
                sheet.set_column_width(i as u16, 14)?;
            }
            for (r, row) in table.rows.iter().enumerate() {
                let r = r as u32 + 1;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Out::Text(t) => sheet.write_string(r, c, t)?,
                        Out::Number(n) => sheet.write_number_with_format(r, c, *n, &two)?,
                        Out::Int(i) => sheet.write_number(r, c, *i as f64)?,
                    };
                }
            }
            Ok(book.save_to_buffer()?)
        }
    }
}
