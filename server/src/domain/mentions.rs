//! `@mentions` in Markdown text: `@handle` (the part of a member's email
//! before the `@`) or `@email`.
//!
//! Mentions are read from the text as a reader sees it: not inside code
//! spans or blocks, and not in the middle of a word (`bob@example.com` on
//! its own is an email address, not a mention). Only project members can be
//! mentioned; a token that names nobody, or a handle two members share,
//! stays plain text.

use std::collections::BTreeSet;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// At most this many distinct mentions are read from one text.
const MAX_MENTIONS: usize = 50;

/// The distinct mention tokens in `markdown`, lowercased, without the `@`.
pub fn tokens(markdown: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if !markdown.contains('@') {
        return found;
    }
    // Consecutive text events are one run of prose (the parser splits text
    // at characters that might have started markup).
    let mut prose = String::new();
    let mut in_code_block = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Text(text) if !in_code_block => prose.push_str(&text),
            Event::Start(Tag::CodeBlock(_)) => {
                scan(&prose, &mut found);
                prose.clear();
                in_code_block = true;
            }
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            _ => {
                scan(&prose, &mut found);
                prose.clear();
            }
        }
    }
    scan(&prose, &mut found);
    found.into_iter().take(MAX_MENTIONS).collect()
}

fn local_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '%' | '+' | '-')
}

fn domain_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '.' | '-')
}

/// Adds the mentions of one run of prose to `found`.
fn scan(prose: &str, found: &mut BTreeSet<String>) {
    let characters: Vec<char> = prose.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let starts = characters[index] == '@' && (index == 0 || !local_char(characters[index - 1]));
        if !starts {
            index += 1;
            continue;
        }
        let mut end = index + 1;
        while end < characters.len() && local_char(characters[end]) {
            end += 1;
        }
        // `@name@domain`: an email address.
        if end < characters.len() && characters[end] == '@' && end > index + 1 {
            let domain_start = end + 1;
            let mut domain_end = domain_start;
            while domain_end < characters.len() && domain_char(characters[domain_end]) {
                domain_end += 1;
            }
            if domain_end > domain_start {
                end = domain_end;
            }
        }
        let token: String = characters[index + 1..end].iter().collect();
        // Sentence punctuation after a mention is not part of it.
        let token = token.trim_end_matches(['.', '-']);
        if !token.is_empty() && token.len() <= 254 {
            found.insert(token.to_ascii_lowercase());
        }
        index = end.max(index + 1);
    }
}

/// A project member as mentions see them.
#[derive(Debug, Clone)]
pub struct Mentionable<Id> {
    pub id: Id,
    pub email: String,
}

/// The members that `tokens` name: by whole email, or by handle when
/// exactly one member has it.
pub fn resolve<Id: Clone + Ord>(tokens: &BTreeSet<String>, members: &[Mentionable<Id>]) -> BTreeSet<Id> {
    let mut named = BTreeSet::new();
    for token in tokens {
        let mut matching = members.iter().filter(|member| {
            let email = member.email.to_ascii_lowercase();
            if token.contains('@') {
                email == *token
            } else {
                email.split_once('@').is_some_and(|(handle, _)| handle == token)
            }
        });
        if let (Some(member), None) = (matching.next(), matching.next()) {
            named.insert(member.id.clone());
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn reads_handles_and_emails_from_prose() {
        assert_eq!(tokens("Ping @alice and @Bob.Smith@Example.com, please."), set(&["alice", "bob.smith@example.com"]));
        assert_eq!(tokens("(@carol) — thanks @dave."), set(&["carol", "dave"]));
        assert_eq!(tokens("**@erin** in bold, [@frank](https://x.test) in a link"), set(&["erin", "frank"]));
    }

    #[test]
    fn ignores_addresses_code_and_lone_signs() {
        assert!(tokens("write to bob@example.com").is_empty());
        assert!(tokens("`@alice` in code").is_empty());
        assert!(tokens("```\n@alice in a block\n```\n").is_empty());
        assert!(tokens("a lone @ sign, and @@ twice").is_empty());
        assert_eq!(tokens("```\n@alice\n```\nthen @bob"), set(&["bob"]));
    }

    #[test]
    fn resolves_members_only_and_unique_handles() {
        let members = [
            Mentionable { id: 1, email: "alice@one.test".into() },
            Mentionable { id: 2, email: "sam@one.test".into() },
            Mentionable { id: 3, email: "sam@two.test".into() },
        ];
        let named = resolve(&set(&["alice", "sam", "sam@two.test", "mallory", "mallory@evil.test"]), &members);
        assert_eq!(named, BTreeSet::from([1, 3]));
    }
}
