//! The value syntax shared by every list-valued flag (`--drop`, `--categorical`, `--numeric`, `--compare`,
//! `--set`, `--min`, `--max`, `--stattest`, `--threshold`): the flag may be repeated, and each value may be a
//! comma list. clap's `value_delimiter` cannot be escaped, so the split is ours: a comma inside double quotes
//! belongs to the item, as in a CSV field, which lets a column whose name holds a comma be named
//! (`--drop '"city, state"'`); `""` inside quotes is a literal quote.

use anyhow::Result;

use super::usage::usage;

/// Every item of every occurrence of `flag`, in order; empty items (`a,,b`, a trailing comma) are skipped.
pub fn split(flag: &str, values: &[String]) -> Result<Vec<String>> {
    let mut items = Vec::new();
    for value in values {
        split_one(flag, value, &mut items)?;
    }
    Ok(items)
}

fn split_one(flag: &str, value: &str, items: &mut Vec<String>) -> Result<()> {
    let mut item = Item::default();
    let mut quoted = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                item.text.push('"');
            }
            '"' => {
                quoted = !quoted;
                item.was_quoted = true;
            }
            ',' if !quoted => item.finish(items),
            c => item.text.push(c),
        }
    }
    if quoted {
        return Err(usage(format!(
            "{flag} {value}: a double quote is not closed; quote a name that holds a comma as a whole, \
             e.g. {flag} '\"city, state\"', and write a quote inside it as \"\""
        )));
    }
    item.finish(items);
    Ok(())
}

/// One item being read. Spaces around an unquoted item are dropped (`--drop "a, b"`); a quoted one is kept
/// exactly as written.
#[derive(Default)]
struct Item {
    text: String,
    was_quoted: bool,
}

impl Item {
    fn finish(&mut self, items: &mut Vec<String>) {
        let item = std::mem::take(self);
        let text = if item.was_quoted { item.text } else { item.text.trim().to_owned() };
        if !text.is_empty() {
            items.push(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(values: &[&str]) -> Vec<String> {
        split("--drop", &values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn repeats_and_comma_lists_mix() {
        assert_eq!(s(&["a,b", "c"]), ["a", "b", "c"]);
        assert_eq!(s(&["a,,b,", " c , d"]), ["a", "b", "c", "d"]);
        assert_eq!(s(&["f1=0.8,roc_auc=0.9"]), ["f1=0.8", "roc_auc=0.9"]);
    }

    #[test]
    fn quotes_keep_a_comma_in_the_item() {
        assert_eq!(s(&["\"city, state\",b"]), ["city, state", "b"]);
        assert_eq!(s(&["\"a,b\"=0.2"]), ["a,b=0.2"]);
        assert_eq!(s(&["\"say \"\"hi\"\"\""]), ["say \"hi\""]);
        assert_eq!(s(&["\" padded \""]), [" padded "]);
    }

    #[test]
    fn an_open_quote_is_an_error() {
        let err = split("--drop", &["\"a,b".to_owned()]).unwrap_err().to_string();
        assert!(err.contains("--drop \"a,b: a double quote is not closed"), "{err}");
    }
}
