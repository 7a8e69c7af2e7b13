//! `train.csv` (`id,encoding`) and submissions (`id,predicted`).

use std::collections::HashSet;
use std::path::Path;

use crate::RleError;

/// Reads an `id,encoding` or `id,predicted` file as `(id, rle)` pairs in file
/// order. A bad header, a row without two fields or a repeated id is an error
/// naming the file and line. An empty RLE (no foreground) is fine.
pub fn read_encodings(path: impl AsRef<Path>) -> Result<Vec<(String, String)>, RleError> {
    let path = path.as_ref();
    let bad = |line: u64, message: String| RleError::Csv {
        path: path.to_owned(),
        line,
        message,
    };
    let file = std::fs::File::open(path).map_err(|error| RleError::Io {
        path: path.to_owned(),
        error,
    })?;
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    if names.len() != 2 || names[0] != "id" || !matches!(names[1], "encoding" | "predicted") {
        return Err(bad(
            1,
            format!("header is {names:?}, expected id,encoding or id,predicted"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != 2 {
            return Err(bad(line, format!("{} fields, expected 2", record.len())));
        }
        let id = record[0].trim().to_owned();
        if id.is_empty() {
            return Err(bad(line, "empty id".into()));
        }
        if !seen.insert(id.clone()) {
            return Err(bad(line, format!("id {id} appears twice")));
        }
        out.push((id, record[1].trim().to_owned()));
    }
    Ok(out)
}

/// Writes `id,<value_column>` rows atomically (temp file, then rename), so an
/// interrupted write never leaves a half file where a good one was.
pub fn write_encodings(
    path: impl AsRef<Path>,
    value_column: &str,
    rows: &[(String, String)],
) -> Result<(), RleError> {
    let path = path.as_ref();
    let io = |error| RleError::Io {
        path: path.to_owned(),
        error,
    };
    let out = ftu_outfile::AtomicFile::create(path).map_err(io)?;
    {
        let mut writer = ::csv::Writer::from_writer(out.file());
        let csv_err = |e: ::csv::Error| io(std::io::Error::other(e));
        writer.write_record(["id", value_column]).map_err(csv_err)?;
        for (id, rle) in rows {
            writer.write_record([id, rle]).map_err(csv_err)?;
        }
        writer.flush().map_err(io)?;
    }
    out.commit().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub.csv");
        let rows = vec![
            ("a1".to_string(), "1 3 9 2".to_string()),
            ("b2".to_string(), String::new()),
        ];
        write_encodings(&p, "predicted", &rows).unwrap();
        assert_eq!(read_encodings(&p).unwrap(), rows);

        std::fs::write(&p, "id,foo\nx,1 2\n").unwrap();
        let e = read_encodings(&p).unwrap_err().to_string();
        assert!(e.contains("sub.csv:1") && e.contains("header"), "{e}");
        std::fs::write(&p, "id,encoding\nx,1 2\nx,3 4\n").unwrap();
        let e = read_encodings(&p).unwrap_err().to_string();
        assert!(e.contains("sub.csv:3") && e.contains("twice"), "{e}");
        std::fs::write(&p, "id,encoding\nx,1 2,7\n").unwrap();
        let e = read_encodings(&p).unwrap_err().to_string();
        assert!(e.contains("sub.csv:2") && e.contains("3 fields"), "{e}");
        let e = read_encodings(dir.path().join("nope.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.csv"), "{e}");
    }
}
