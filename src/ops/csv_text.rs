//! CSV fields written as the `csv` crate's writer writes them with its defaults (comma, `\n`, quotes only where
//! needed, a quote doubled), straight into a byte buffer. For a prediction file's short fields, the writer's
//! per-field state machine was most of the cost of writing them.

/// Appends `field`, in quotes if it holds a comma, a quote or a line break (`\r` too: readers take it for one),
/// with each quote in it doubled.
pub fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if !field.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_written_as_the_csv_crate_writes_them() {
        let fields = [
            "",
            "plain",
            "1.5",
            "a,b",
            "say \"hi\"",
            "\"",
            "line\nbreak",
            "carriage\rreturn",
            "crlf\r\n",
            " spaced ",
            "tab\there",
            "#hash",
            "ünïcødé, too",
            "''",
            ",",
            "\"\"",
        ];
        for pair in fields.windows(2) {
            let mut ours = Vec::new();
            push_field(&mut ours, pair[0].as_bytes());
            ours.push(b',');
            push_field(&mut ours, pair[1].as_bytes());
            ours.push(b'\n');
            let mut theirs = csv::WriterBuilder::new().from_writer(Vec::new());
            theirs.write_record(pair).expect("writes to memory");
            let theirs = theirs.into_inner().expect("flushes to memory");
            assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs), "fields {pair:?}");
        }
    }
}
