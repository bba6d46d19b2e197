//! Full-text search (`SearchTasks`): the query text, the SQLite FTS5
//! expressions built from it, the trigram similarity that ranks typo
//! matches on SQLite, and snippets split at their highlight markers.
//!
//! A query is words, all of which a result must contain (after stemming),
//! in its title, description or live comments; a task whose title is
//! merely similar to the query (a typo: "dashbaord") is found too, ranked
//! below every full-text match. Scores: `1 + r / (1 + r)` for a full-text
//! match of relevance `r` (PostgreSQL `ts_rank`, SQLite `bm25`: the title
//! weighs most, then the description, then comments), in `[1, 2)`; the
//! title's trigram similarity, in `[0, 1)`, for a typo match.

use super::FieldViolation;

/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Lowest trigram similarity of a typo match.
pub const TYPO_THRESHOLD: f64 = 0.4;
/// Marks the start of a highlight in a snippet (a private-use character,
/// left out of the indexed text, so user text never contains it).
pub const HIGHLIGHT_START: char = '\u{E000}';
/// Marks the end of a highlight.
pub const HIGHLIGHT_END: char = '\u{E001}';

/// A validated search query: trimmed, 1 to [`MAX_QUERY_CHARS`] characters,
/// one line, with at least one letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(field, "is required: the words to search for"));
        }
        if trimmed.chars().count() > MAX_QUERY_CHARS {
            return Err(FieldViolation::new(field, format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldViolation::new(field, "must be one line without control characters"));
        }
        if trimmed.chars().any(|c| c == HIGHLIGHT_START || c == HIGHLIGHT_END) {
            return Err(FieldViolation::new(field, "must not contain the characters U+E000 and U+E001"));
        }
        if !trimmed.chars().any(char::is_alphanumeric) {
            return Err(FieldViolation::new(field, "must contain a letter or a digit"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The query's words, lowercase: runs of letters and digits.
    pub fn words(&self) -> Vec<String> {
        words(&self.0)
    }

    /// An FTS5 expression that every word must match (each a quoted
    /// string, so no word is read as FTS5 syntax).
    pub fn fts5_all_words(&self) -> String {
        self.words().iter().map(|word| quoted(word)).collect::<Vec<_>>().join(" AND ")
    }

    /// An FTS5 expression, for a `trigram` table's `title`, that matches
    /// any trigram of the query's words: the candidates of a typo match.
    /// `None` if no word has three characters.
    pub fn fts5_any_trigram(&self) -> Option<String> {
        let mut trigrams: Vec<String> = Vec::new();
        for word in self.words() {
            let chars: Vec<char> = word.chars().collect();
            for window in chars.windows(3) {
                let trigram: String = window.iter().collect();
                if !trigrams.contains(&trigram) {
                    trigrams.push(trigram);
                }
            }
        }
        if trigrams.is_empty() {
            return None;
        }
        let any = trigrams.iter().map(|trigram| quoted(trigram)).collect::<Vec<_>>().join(" OR ");
        Some(format!("{{title}} : ({any})"))
    }

    /// How similar `title` is to the query, in `[0, 1]`: for each query
    /// word, the best trigram similarity (as `pg_trgm` pads and counts
    /// them) with a word of the title; their mean.
    pub fn title_similarity(&self, title: &str) -> f64 {
        let query = self.words();
        if query.is_empty() {
            return 0.0;
        }
        let title: Vec<Vec<String>> = words(title).iter().map(|word| trigrams(word)).collect();
        let total: f64 = query
            .iter()
            .map(|word| {
                let mine = trigrams(word);
                title.iter().map(|theirs| jaccard(&mine, theirs)).fold(0.0, f64::max)
            })
            .sum();
        total / query.len() as f64
    }
}

/// An FTS5 string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

/// A word's trigrams as `pg_trgm` makes them: padded with two spaces in
/// front and one behind, deduplicated.
fn trigrams(word: &str) -> Vec<String> {
    let padded: Vec<char> = format!("  {word} ").chars().collect();
    let mut all: Vec<String> = padded.windows(3).map(|window| window.iter().collect()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

fn jaccard(left: &[String], right: &[String]) -> f64 {
    let common = left.iter().filter(|trigram| right.contains(trigram)).count();
    let union = left.len() + right.len() - common;
    if union == 0 { 0.0 } else { common as f64 / union as f64 }
}

/// A piece of a snippet: text, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub highlighted: bool,
}

/// Splits a snippet at its [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`]
/// markers; empty pieces are dropped and neighbours of the same kind
/// joined.
pub fn segments(snippet: &str) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut highlighted = false;
    let mut current = String::new();
    let flush = |text: &mut String, highlighted: bool, segments: &mut Vec<Segment>| {
        if text.is_empty() {
            return;
        }
        match segments.last_mut() {
            Some(last) if last.highlighted == highlighted => last.text.push_str(text),
            _ => segments.push(Segment { text: text.clone(), highlighted }),
        }
        text.clear();
    };
    for c in snippet.chars() {
        match c {
            HIGHLIGHT_START => {
                flush(&mut current, highlighted, &mut segments);
                highlighted = true;
            }
            HIGHLIGHT_END => {
                flush(&mut current, highlighted, &mut segments);
                highlighted = false;
            }
            c => current.push(c),
        }
    }
    flush(&mut current, highlighted, &mut segments);
    segments
}

/// The score of a full-text match of relevance `rank` (at least 0).
pub fn text_score(rank: f64) -> f64 {
    let rank = rank.max(0.0);
    1.0 + rank / (1.0 + rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> SearchText {
        SearchText::parse("query", value).expect("valid")
    }

    #[test]
    fn queries_are_trimmed_one_line_and_need_a_word() {
        assert_eq!(text("  run fast ").as_str(), "run fast");
        for bad in ["", "   ", "a\nb", "!!!", "\u{E000}x", &"x".repeat(MAX_QUERY_CHARS + 1)] {
            let error = SearchText::parse("query", bad).expect_err(bad);
            assert_eq!(error.field, "query");
        }
        assert!(SearchText::parse("query", &"x".repeat(MAX_QUERY_CHARS)).is_ok());
    }

    #[test]
    fn fts5_expressions_quote_every_word() {
        assert_eq!(text("Run \"fast\" OR NEAR(x)").fts5_all_words(), r#""run" AND "fast" AND "or" AND "near" AND "x""#);
        assert_eq!(text("ab").fts5_any_trigram(), None);
        assert_eq!(text("Dash").fts5_any_trigram().as_deref(), Some(r#"{title} : ("das" OR "ash")"#));
    }

    #[test]
    fn typos_are_similar_and_other_words_are_not() {
        let query = text("dashbaord");
        assert!(query.title_similarity("Fix the Dashboard layout") >= TYPO_THRESHOLD);
        assert!(query.title_similarity("Write the release notes") < TYPO_THRESHOLD);
        assert!((text("dashboard").title_similarity("dashboard") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn snippets_split_at_markers() {
        let snippet = "we are \u{E000}running\u{E001} late \u{E000}\u{E001}";
        assert_eq!(
            segments(snippet),
            vec![
                Segment { text: "we are ".into(), highlighted: false },
                Segment { text: "running".into(), highlighted: true },
                Segment { text: " late ".into(), highlighted: false },
            ]
        );
        assert_eq!(segments("<b>plain</b>"), vec![Segment { text: "<b>plain</b>".into(), highlighted: false }]);
    }

    #[test]
    fn full_text_scores_sit_above_typo_scores() {
        assert!(text_score(0.0) >= 1.0 && text_score(1e9) < 2.0);
        assert!(text_score(0.5) > text_score(0.1));
    }
}
