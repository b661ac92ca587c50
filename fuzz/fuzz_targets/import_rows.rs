//! Fuzzes the spreadsheet import's reading of a file: any bytes, read as a
//! CSV file of one of the import kinds, row by row through the same reader
//! `citydash import` uses, then each cell's text through every value reader.
//! Reading must never panic; a refused row must say which line and which
//! column, and why; an item read from a row must survive its own encoding
//! (the same bytes after a decode).

#![no_main]

use citydash_proto::v1;
use citydash_sheets::import::kinds::{KINDS, Lookup};
use citydash_sheets::import::{Read, RowReader, values};
use citydash_sheets::table;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost_reflect::ReflectMessage;

/// What the service's catalog would tell the importer.
fn lookup() -> Lookup {
    let region = |code: &str, zh: &str, en: &str| v1::Region {
        code: code.to_owned(),
        name_zh: zh.to_owned(),
        name_en: en.to_owned(),
        ..Default::default()
    };
    Lookup::from_catalog(&v1::GetCatalogResponse {
        regions: vec![region("city", "全市", "City"), region("xz", "新镇", "Xinzhen")],
        indicators: citydash_sector::spec::catalog(v1::Sector::Agriculture, citydash_agriculture::CATALOG),
        ..Default::default()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((which, file)) = data.split_first() else {
        return;
    };
    let kind = &KINDS[*which as usize % KINDS.len()];
    let lookup = lookup();
    let mut reader = RowReader::new(kind);
    // A CSV the csv crate cannot read is an error for the user, not a panic.
    let _ = table::for_each_csv_row(file, |row| {
        for cell in &row.cells {
            let text = cell.text();
            let _ = values::normalize(&text);
            let _ = values::money(&text);
            let _ = values::integer(&text);
            let _ = values::basis_points(&text);
            let _ = values::date(&text);
            let _ = values::period(&text);
            let _ = values::yes_no(&text);
        }
        match reader.read(&row, &lookup) {
            None => {}
            Some(Read::Item(item)) => {
                let bytes = item.encode_to_vec();
                let back = prost_reflect::DynamicMessage::decode(item.descriptor(), bytes.as_slice())
                    .expect("an item read from a row decodes");
                // A cell of 0 sets a proto3 field to its default, which is
                // not on the wire: the item and its decoding are the same
                // message when they encode to the same bytes.
                assert_eq!(back.encode_to_vec(), bytes, "an item survives its encoding");
            }
            Some(Read::Refused(refusals)) => {
                assert!(!refusals.is_empty(), "a refused row says why");
                for r in &refusals {
                    assert_eq!(r.line, row.line, "a refusal names its own line");
                    assert!(
                        kind.columns.iter().any(|c| c.zh == r.column),
                        "refusal column {:?} is not a header of {}",
                        r.column,
                        kind.name
                    );
                    assert!(!r.reason.is_empty(), "a refusal gives a reason");
                }
            }
            Some(Read::Skipped(skipped)) => {
                assert_eq!(skipped.line, row.line, "a skipped row names its own line");
                assert!(!skipped.reason.is_empty(), "a skipped row says why");
            }
        }
        Ok(true)
    });
});
