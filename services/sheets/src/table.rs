//! Rows out of the agencies' own files, one at a time: CSV (streamed by the
//! csv reader) and XLSX (streamed cell by cell by calamine), so a file of any
//! length imports in constant memory. Cells come out as text, except Excel
//! dates and numbers, which keep their value so a date written as a serial
//! number can still be read as a date.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use calamine::{DataRef, Reader, Xlsx};

/// One cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text as typed.
    Text(String),
    /// A number (Excel stores dates as serial numbers).
    Number(f64),
}

impl Cell {
    /// The cell as text (numbers without a trailing `.0`).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_owned(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => format!("{n}"),
        }
    }

    /// Whether the cell holds nothing visible.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            Cell::Number(_) => false,
        }
    }
}

/// A numbered row (1-based line in the file, as a clerk counts it).
#[derive(Debug, Clone)]
pub struct Row {
    /// Line (CSV) or row (XLSX) number, from 1.
    pub line: usize,
    /// The cells.
    pub cells: Vec<Cell>,
}

/// Where a sheet comes from: a file named on the command line, or the bytes
/// a clerk uploaded to the import page. Either is read twice (the dry run,
/// then the write), so bytes are shared, not copied.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk.
    Path(PathBuf),
    /// An uploaded file: its name (for its type and for messages) and content.
    Bytes {
        /// The file's name as the clerk chose it.
        name: String,
        /// Its content.
        bytes: Arc<[u8]>,
    },
}

impl Source {
    /// The file's name, as messages show it.
    pub fn display(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }

    /// Its type, from the name's extension, lower-cased.
    fn extension(&self) -> String {
        let name = match self {
            Source::Path(p) => p.as_path(),
            Source::Bytes { name, .. } => Path::new(name),
        };
        name.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    }
}

/// Reads the rows of a CSV or XLSX sheet (by its name's extension), in
/// order, calling `each` for every row until it returns `false`.
pub fn for_each_row(source: &Source, each: impl FnMut(Row) -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let name = source.display();
    match (source.extension().as_str(), source) {
        ("csv" | "txt", Source::Path(path)) => {
            let file = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
            for_each_csv_row(file, each).with_context(|| format!("reading {name}"))
        }
        ("csv" | "txt", Source::Bytes { bytes, .. }) => {
            for_each_csv_row(&bytes[..], each).with_context(|| format!("reading {name}"))
        }
        ("xlsx" | "xlsm", Source::Path(path)) => {
            let workbook: Xlsx<BufReader<std::fs::File>> =
                calamine::open_workbook(path).with_context(|| format!("opening {name}"))?;
            for_each_xlsx_row(workbook, &name, each)
        }
        ("xlsx" | "xlsm", Source::Bytes { bytes, .. }) => {
            let workbook = Xlsx::new(std::io::Cursor::new(Arc::clone(bytes)))
                .with_context(|| format!("{name} 不是有效的 XLSX 文件"))?;
            for_each_xlsx_row(workbook, &name, each)
        }
        (other, _) => anyhow::bail!("{name}: unsupported file type {other:?} (use .csv or .xlsx)"),
    }
}

/// The rows of a workbook's first sheet, streamed cell by cell.
fn for_each_xlsx_row<R: std::io::Read + std::io::Seek>(
    mut workbook: Xlsx<R>,
    name: &str,
    mut each: impl FnMut(Row) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .with_context(|| format!("{name} has no sheet"))?;
    let mut cells = workbook.worksheet_cells_reader(&sheet)?;
    let mut current: Option<Row> = None;
    while let Some(cell) = cells.next_cell()? {
        let (r, c) = cell.get_position();
        let value = match cell.get_value() {
            DataRef::Empty | DataRef::Error(_) => Cell::Empty,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s.clone()),
            DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
            DataRef::Int(i) => Cell::Number(*i as f64),
            DataRef::Float(f) => Cell::Number(*f),
            DataRef::Bool(b) => Cell::Text(if *b { "是" } else { "否" }.to_owned()),
            DataRef::DateTime(d) => Cell::Number(d.as_f64()),
        };
        let line = r as usize + 1;
        if current.as_ref().is_some_and(|row| row.line != line) {
            let done = current.take().expect("row");
            if !each(done)? {
                return Ok(());
            }
        }
        let row = current.get_or_insert_with(|| Row {
            line,
            cells: Vec::new(),
        });
        let c = c as usize;
        if row.cells.len() <= c {
            row.cells.resize(c + 1, Cell::Empty);
        }
        row.cells[c] = value;
    }
    if let Some(row) = current {
        each(row)?;
    }
    Ok(())
}

/// Reads the rows of CSV text from `reader`, in order, calling `each` for
/// every row until it returns `false` (the CSV half of [`for_each_row`],
/// apart so the import's fuzz target can feed it bytes).
pub fn for_each_csv_row(
    reader: impl std::io::Read,
    mut each: impl FnMut(Row) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::StringRecord::new();
    let mut line = 0;
    while reader.read_record(&mut record)? {
        line = record.position().map_or(line + 1, |p| p.line() as usize);
        let mut cells: Vec<Cell> = record
            .iter()
            .map(|f| Cell::Text(f.trim_start_matches('\u{feff}').to_owned()))
            .collect();
        while cells.last().is_some_and(Cell::is_blank) {
            cells.pop();
        }
        if !each(Row { line, cells })? {
            break;
        }
    }
    Ok(())
}
