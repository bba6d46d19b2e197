//! `@` completion in the comment and description editors: which word is
//! being typed at the caret, which members it could name, and the text once
//! one is picked. The server decides what a mention is (a member's email, or
//! their handle, the part before the `@`, when no other member shares it);
//! this inserts what it accepts.

/// Most suggestions shown.
pub const MAX_SUGGESTIONS: usize = 6;

fn local_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '%' | '+' | '-')
}

/// The mention being typed just before `caret` (a byte offset into `text`):
/// the `@`'s offset and the characters typed after it. `None` unless the
/// `@` starts a word.
pub fn typing_at(text: &str, caret: usize) -> Option<(usize, &str)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    if !query.chars().all(local_char) || query.len() > 64 {
        return None;
    }
    let starts_word = before[..at].chars().next_back().is_none_or(|previous| !local_char(previous) && previous != '@');
    starts_word.then_some((at, query))
}

/// A member the editor can suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub display_name: String,
    pub email: String,
}

/// What to insert for `member`: their handle if no other member shares it,
/// else their email.
fn mention_of(member: &Candidate, members: &[Candidate]) -> String {
    let handle = member.email.split_once('@').map_or(member.email.as_str(), |(handle, _)| handle);
    let shared = members
        .iter()
        .filter(|other| other.email.split_once('@').is_some_and(|(h, _)| h.eq_ignore_ascii_case(handle)))
        .count();
    if shared == 1 { handle.to_owned() } else { member.email.clone() }
}

/// Members whose name or email starts (or a word of whose name starts) with
/// `query`, case-insensitively: `(label, text to insert after the @)`.
pub fn suggestions(query: &str, members: &[Candidate]) -> Vec<(String, String)> {
    let query = query.to_lowercase();
    let matches = |member: &Candidate| {
        let name = member.display_name.to_lowercase();
        member.email.to_lowercase().starts_with(&query) || name.split_whitespace().any(|word| word.starts_with(&query))
    };
    members
        .iter()
        .filter(|member| matches(member))
        .take(MAX_SUGGESTIONS)
        .map(|member| (format!("{} ({})", member.display_name, member.email), mention_of(member, members)))
        .collect()
}

/// `text` with the mention typed from `at` to `caret` replaced by
/// `@mention ` (one space, also before text that starts with one), and the
/// caret after it. Offsets are bytes.
pub fn complete(text: &str, at: usize, caret: usize, mention: &str) -> (String, usize) {
    let rest = text.get(caret..).unwrap_or("");
    let mut completed = format!("{}@{mention} ", text.get(..at).unwrap_or(text));
    let new_caret = completed.len();
    completed.push_str(rest.strip_prefix(' ').unwrap_or(rest));
    (completed, new_caret)
}

/// A browser caret (UTF-16 code units) as a byte offset into `text`.
pub fn byte_offset(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (index, character) in text.char_indices() {
        if units >= utf16 {
            return index;
        }
        units += character.len_utf16();
    }
    text.len()
}

/// A byte offset into `text` as a browser caret (UTF-16 code units).
pub fn utf16_offset(text: &str, bytes: usize) -> usize {
    text.get(..bytes).unwrap_or(text).encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, email: &str) -> Candidate {
        Candidate { display_name: name.into(), email: email.into() }
    }

    #[test]
    fn completes_in_place_and_converts_carets() {
        assert_eq!(complete("Hi @bo", 3, 6, "bob"), ("Hi @bob ".to_owned(), 8));
        assert_eq!(complete("Hi @bo thanks", 3, 6, "bob"), ("Hi @bob thanks".to_owned(), 8));
        let text = "Né @ad";
        let caret = byte_offset(text, 6);
        assert_eq!(caret, text.len());
        assert_eq!(typing_at(text, caret), Some((4, "ad")));
        assert_eq!(utf16_offset(text, caret), 6);
    }

    #[test]
    fn finds_the_mention_being_typed() {
        assert_eq!(typing_at("Hi @bo", 6), Some((3, "bo")));
        assert_eq!(typing_at("@", 1), Some((0, "")));
        assert_eq!(typing_at("(@ada", 5), Some((1, "ada")));
        assert_eq!(typing_at("mail bob@example", 16), None, "an address, not a mention");
        assert_eq!(typing_at("Hi @bob and", 11), None, "the caret left the word");
        assert_eq!(typing_at("Hi @bob", 3), None);
    }

    #[test]
    fn suggests_members_by_name_or_email_with_what_the_server_accepts() {
        let members = [
            member("Ada Lovelace", "ada@one.test"),
            member("Sam Doe", "sam@one.test"),
            member("Sam Roe", "sam@two.test"),
        ];
        assert_eq!(suggestions("ada", &members), [("Ada Lovelace (ada@one.test)".to_owned(), "ada".to_owned())]);
        assert_eq!(suggestions("love", &members).len(), 1, "a word of the name");
        let sams: Vec<String> = suggestions("SA", &members).into_iter().map(|(_, insert)| insert).collect();
        assert_eq!(sams, ["sam@one.test", "sam@two.test"], "a shared handle inserts the email");
        assert!(suggestions("zed", &members).is_empty());
    }
}
