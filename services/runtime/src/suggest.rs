//! "Did you mean": the registered names closest to one a clerk typed, so a
//! refusal of an unknown region (or unit) names what was probably meant.
//! Distance is counted in characters, so Chinese names compare as written.

/// Edit distance (insertions, deletions, substitutions) between `a` and `b`, in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Up to `n` of `candidates` closest to `typed`, nearest first; only those
/// within half of the typed name's length (or containing it, or contained in it).
pub fn closest<'c>(typed: &str, candidates: impl IntoIterator<Item = &'c str>, n: usize) -> Vec<&'c str> {
    let len = typed.chars().count().max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| !c.is_empty())
        .map(|c| (distance(typed, c), c))
        .filter(|(d, c)| *d * 2 <= len || c.contains(typed) || typed.contains(c))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_registered_name() {
        assert_eq!(distance("城官区", "城关区"), 1);
        assert_eq!(closest("城官区", ["城关区", "东城区", "乡镇片区"], 3), ["城关区"]);
        assert_eq!(closest("农业农村局", ["市农业农村局", "市工信局"], 3), ["市农业农村局"]);
        assert!(closest("完全不同", ["城关区"], 3).is_empty());
    }
}
