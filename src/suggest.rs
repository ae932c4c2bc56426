//! "Did you mean …?" for misspelt columns, models, stages, algorithms and settings.

/// The closest candidate within a small edit distance, if any.
/// A word that is the start of exactly one candidate ("prod" → "production") counts as close too.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let word = word.to_lowercase();
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let by_distance = candidates
        .iter()
        .map(|c| (strsim::levenshtein(&word, &c.to_lowercase()), *c))
        // A distance as large as the word means nothing of it matched ("x" is not a misspelt "m").
        .filter(|(d, _)| *d <= limit && *d < word.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    let mut prefixed = candidates.iter().filter(|c| word.len() >= 2 && c.to_lowercase().starts_with(&word));
    by_distance.or_else(|| match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(*only),
        _ => None,
    })
}

/// " (did you mean \"x\"?)" or "".
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean \"{c}\"?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(closest("sucess", ["success", "skill"]), Some("success"));
        assert_eq!(closest("zzzz", ["success"]), None);
        assert_eq!(hint("random-forrest", ["random-forest"]), " (did you mean \"random-forest\"?)");
        assert_eq!(closest("prod", ["staging", "production", "archived"]), Some("production"));
        assert_eq!(closest("pr", ["precision", "production"]), None, "an ambiguous prefix suggests nothing");
    }

    #[test]
    fn distances_count_characters_not_bytes_and_ignore_case() {
        // Two edits (ß for s, one s dropped) in characters; more in UTF-8 bytes.
        assert_eq!(closest("grösse", ["größe"]), Some("größe"));
        assert_eq!(closest("SUCESS", ["success"]), Some("success"));
        // The nearest wins; among equals, the first.
        assert_eq!(closest("max_dept", ["max_depth", "max_bins"]), Some("max_depth"));
        assert_eq!(closest("ab", ["ax", "ay"]), Some("ax"));
    }
}
