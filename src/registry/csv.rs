//! The CSV import format: the first line is exactly
//! `official_id,name,phone,office,department,languages` (names in any case,
//! spaces around them ignored), then one official per row. `languages` holds
//! codes separated by `;` and may be empty. The text is read as contacts'
//! CSV is (`intake::read_records`): UTF-8 with or without a byte-order mark,
//! RFC 4180 quoting, any line ends; blank rows are skipped.

use super::ImportProblem;
use super::import::Collected;
use crate::domain::{OfficialFields, mask_digit_runs};
use crate::intake::{CsvRecord, read_records};

/// The columns, in their order.
pub const COLUMNS: [&str; 6] = [
    "official_id",
    "name",
    "phone",
    "office",
    "department",
    "languages",
];

/// Reads every row of a CSV file into `out`.
pub(super) fn read(bytes: &[u8], out: &mut Collected) {
    let file = match read_records(bytes) {
        Ok(file) => file,
        Err(problems) => {
            for p in problems {
                out.problem(ImportProblem::at(p.line, p.message));
            }
            return;
        }
    };
    let mut records = file.records.into_iter();
    let Some(header) = records.next() else {
        out.problem(ImportProblem::at(
            file.first_line,
            format!(
                "the file is empty; its first line must be `{}`",
                COLUMNS.join(",")
            ),
        ));
        return;
    };
    if let Err(problem) = check_header(&header) {
        // Without the right columns no row can be read as an official.
        out.problem(problem);
        return;
    }
    let mut rows = 0;
    for record in records {
        rows += 1;
        match fields(&record) {
            Ok(fields) => out.add(record.line, None, &fields),
            Err(problem) => {
                let id = record.fields.first().map(String::as_str);
                out.add_unreadable(record.line, None, id.filter(|_| record.problem.is_none()));
                out.problem(problem);
            }
        }
    }
    if rows == 0 {
        out.problem(ImportProblem::at(
            header.line,
            "the file lists no officials (only the header line)",
        ));
    }
}

fn check_header(header: &CsvRecord) -> Result<(), ImportProblem> {
    if let Some(problem) = &header.problem {
        return Err(ImportProblem::at(header.line, problem.clone()));
    }
    let names: Vec<String> = header
        .fields
        .iter()
        .map(|f| f.trim().to_lowercase())
        .collect();
    if names == COLUMNS {
        return Ok(());
    }
    // The first line may be a row (a file without its header): mask it.
    let found = mask_digit_runs(&header.fields.join(","));
    Err(ImportProblem::at(
        header.line,
        format!(
            "the first line must name the columns, exactly `{}`; found `{found}`",
            COLUMNS.join(",")
        ),
    ))
}

/// A row's fields, or why the row cannot be read.
fn fields(record: &CsvRecord) -> Result<OfficialFields, ImportProblem> {
    if let Some(problem) = &record.problem {
        return Err(ImportProblem::at(record.line, problem.clone()));
    }
    let cells = &record.fields;
    // Extra empty cells at the end (trailing separators) are harmless.
    let extra_empty =
        cells.len() > COLUMNS.len() && cells[COLUMNS.len()..].iter().all(|c| c.trim().is_empty());
    if cells.len() != COLUMNS.len() && !extra_empty {
        return Err(ImportProblem::at(
            record.line,
            format!(
                "{} field(s), but the header has {} (a value holding a comma must be in double \
                 quotes)",
                cells.len(),
                COLUMNS.len()
            ),
        ));
    }
    Ok(OfficialFields {
        official_id: cells[0].clone(),
        name: cells[1].clone(),
        phone: cells[2].clone(),
        office: cells[3].clone(),
        department: cells[4].clone(),
        languages: cells[5].split(';').map(str::to_owned).collect(),
    })
}

#[cfg(test)]
mod tests {
    use crate::registry::{ImportFormat, ParsedImport, parse_officials};

    fn parse(text: &str) -> ParsedImport {
        parse_officials(text.as_bytes(), ImportFormat::Csv)
    }

    fn problems(text: &str) -> Vec<String> {
        let parsed = parse(text);
        assert!(parsed.officials.is_empty(), "nothing kept: {parsed:?}");
        parsed.problems.iter().map(ToString::to_string).collect()
    }

    const HEADER: &str = "official_id,name,phone,office,department,languages\n";

    #[test]
    fn reads_odia_names_quotes_a_bom_and_language_lists() {
        let text = format!(
            "\u{feff}{}\r\n\
             col-khordha,ସୁଜାତା ମହାନ୍ତି,098610 00001,\"Collectorate, Khordha\",Revenue,or;en\r\n\
             \r\n\
             io-dhenkanal,\"Ravi \"\"R\"\" Das\",+91 98610 00002,Dhenkanal Town PS,Home,\n",
            HEADER.trim_end()
        );
        let parsed = parse(&text);
        assert_eq!(parsed.problems, []);
        let [a, b] = &parsed.officials[..] else {
            panic!("{parsed:?}")
        };
        assert_eq!(a.name(), "ସୁଜାତା ମହାନ୍ତି");
        assert_eq!(a.office(), "Collectorate, Khordha");
        assert_eq!(a.phone().as_str(), "+919861000001");
        assert_eq!(a.languages(), ["or", "en"]);
        assert_eq!(b.name(), "Ravi \"R\" Das");
        assert!(b.languages().is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_field() {
        let text = format!(
            "{HEADER}\
             a-1,One,9861000001,Office,Dept,or\n\
             a-2,Two,98610,Office,Dept,or\n\
             a-1,Three,9861000003,,Dept,xyzw\n\
             a-4,Four,9861000004,Office\n\
             a-5,\"Five,9861000005,Office,Dept,or\n"
        );
        let found = problems(&text);
        assert_eq!(found.len(), 6, "{found:#?}");
        assert!(found[0].starts_with("line 3: phone: "), "{found:#?}");
        assert!(
            found[1].starts_with("line 4: official_id: a-1 is listed again (first on line 2)"),
            "{found:#?}"
        );
        assert_eq!(found[2], "line 4: office: is empty");
        assert!(
            found[3].starts_with("line 4: languages: \"xyzw\""),
            "{found:#?}"
        );
        assert!(found[4].starts_with("line 5: 4 field(s)"), "{found:#?}");
        assert!(
            found[5].starts_with("line 6: field 2: its opening quote"),
            "{found:#?}"
        );
        assert!(!found.join("\n").contains("98610"), "{found:#?}");
    }

    #[test]
    fn the_header_must_be_exact_and_the_file_not_empty() {
        let found = problems("off,name\nx,y\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("line 1: the first line must name the columns"));
        let found = problems("a-1,One,9861000001,Office,Dept,or\n");
        assert!(found[0].contains("found `a-1,One,******0001,"), "{found:?}");
        assert_eq!(
            problems(" OFFICIAL_ID , Name,phone,office,department,languages\n"),
            ["line 1: the file lists no officials (only the header line)"]
        );
        assert!(problems("")[0].starts_with("line 1: the file is empty"));
        assert!(problems("\u{feff}\n\n")[0].contains("the file is empty"));
        let bytes = [HEADER.as_bytes(), b"a,B\xE9,9861000001,o,d,or\n"].concat();
        let parsed = parse_officials(&bytes, ImportFormat::Csv);
        assert!(
            parsed.problems[0].to_string().starts_with("line 2: byte 4"),
            "{parsed:?}"
        );
    }
}
