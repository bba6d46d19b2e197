//! Trello board exports (the board menu's "Export as JSON"): open lists
//! become workflow states (added when the project has none of the name),
//! open cards tasks in their list's state, checklist items subtasks (done
//! when checked), labels labels, members assignees where their email is
//! known and belongs to a project member, comments comments, due dates due
//! dates. Attachments that are links stay links, at the end of the
//! description; files uploaded to Trello cannot be fetched without the
//! owner's Trello session, so they are skipped and reported per card.
//! Archived lists and cards are left out.

use std::collections::HashMap;

use serde::Deserialize;

use super::items::{ItemComment, MAX_ITEMS, Parsed, RawItem, RowError, StateSpec};
use crate::{domain::time, error::ServiceError};

#[derive(Debug, Deserialize)]
struct Board {
    #[serde(default)]
    lists: Vec<List>,
    #[serde(default)]
    cards: Vec<Card>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    members: Vec<Member>,
    #[serde(default)]
    checklists: Vec<Checklist>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct List {
    id: String,
    name: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    pos: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Card {
    id: String,
    name: String,
    #[serde(default)]
    desc: String,
    id_list: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    id_labels: Vec<String>,
    #[serde(default)]
    id_members: Vec<String>,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    is_upload: bool,
}

#[derive(Debug, Deserialize)]
struct Label {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    id: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    username: String,
    /// Not in every export: only what the exporter may see.
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checklist {
    id_card: String,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    check_items: Vec<CheckItem>,
}

#[derive(Debug, Deserialize)]
struct CheckItem {
    id: String,
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    pos: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    data: ActionData,
    #[serde(default)]
    member_creator: Option<ActionMember>,
}

#[derive(Debug, Default, Deserialize)]
struct ActionData {
    #[serde(default)]
    text: String,
    #[serde(default)]
    card: Option<ActionCard>,
}

#[derive(Debug, Deserialize)]
struct ActionCard {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionMember {
    id: String,
    #[serde(default)]
    full_name: String,
}

/// Reads a board export. JSON that is not a board is refused naming where
/// it fails.
pub fn parse(content: &str) -> Result<Parsed, ServiceError> {
    let board: Board = serde_json::from_str(content).map_err(|error| {
        ServiceError::invalid(
            "content",
            format!("is not a Trello board export (JSON): {error} (line {}, column {})", error.line(), error.column()),
        )
    })?;
    let Board { mut lists, mut cards, labels, members, mut checklists, actions } = board;
    lists.retain(|list| !list.closed);
    lists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    let list_names: HashMap<&str, &str> = lists.iter().map(|list| (list.id.as_str(), list.name.as_str())).collect();
    let list_order: HashMap<&str, usize> =
        lists.iter().enumerate().map(|(index, list)| (list.id.as_str(), index)).collect();
    let label_names: HashMap<&str, String> = labels
        .iter()
        .map(|label| {
            let name =
                if label.name.trim().is_empty() { label.color.clone().unwrap_or_default() } else { label.name.clone() };
            (label.id.as_str(), name)
        })
        .collect();
    let members: HashMap<&str, &Member> = members.iter().map(|member| (member.id.as_str(), member)).collect();
    let mut comments: HashMap<&str, Vec<ItemComment>> = HashMap::new();
    // Exports list actions newest first.
    for action in actions.iter().rev().filter(|action| action.kind == "commentCard") {
        let Some(card) = &action.data.card else { continue };
        let author = action.member_creator.as_ref();
        let member = author.and_then(|author| members.get(author.id.as_str()));
        comments.entry(card.id.as_str()).or_default().push(ItemComment {
            author_email: member.and_then(|member| member.email.clone()),
            author_name: member
                .map(
                    |member| {
                        if member.full_name.is_empty() { member.username.clone() } else { member.full_name.clone() }
                    },
                )
                .or_else(|| author.map(|author| author.full_name.clone()))
                .unwrap_or_else(|| "someone".into()),
            body: action.data.text.clone(),
            time: time::parse_rfc3339(&action.date),
        });
    }
    checklists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    let mut checklists_of: HashMap<&str, Vec<&Checklist>> = HashMap::new();
    for checklist in &checklists {
        checklists_of.entry(checklist.id_card.as_str()).or_default().push(checklist);
    }
    cards.retain(|card| !card.closed && list_names.contains_key(card.id_list.as_str()));
    cards.sort_by(|a, b| {
        list_order[a.id_list.as_str()].cmp(&list_order[b.id_list.as_str()]).then(a.pos.total_cmp(&b.pos))
    });
    let items: usize = cards.len() + checklists.iter().map(|checklist| checklist.check_items.len()).sum::<usize>();
    if items > MAX_ITEMS {
        return Err(ServiceError::invalid("content", format!("has more than {MAX_ITEMS} cards and checklist items")));
    }
    let states = lists.iter().map(|list| StateSpec { name: list.name.clone(), category: None, color: None }).collect();
    let mut parsed = Parsed { states, ..Parsed::default() };
    for (index, card) in cards.iter().enumerate() {
        let row = index as i64 + 1;
        let mut description = card.desc.clone();
        let mut links = Vec::new();
        let mut warnings = Vec::new();
        for attachment in &card.attachments {
            let link = attachment.url.starts_with("https://") || attachment.url.starts_with("http://");
            if link && !attachment.is_upload {
                let name = if attachment.name.is_empty() { &attachment.url } else { &attachment.name };
                links.push(format!("- [{}]({})", name.replace(['[', ']'], ""), attachment.url));
            } else {
                warnings.push(RowError::new(
                    row,
                    &card.id,
                    "attachments",
                    format!(
                        "\"{}\" is a file uploaded to Trello, which cannot be fetched without a Trello session; skipped",
                        attachment.name
                    ),
                ));
            }
        }
        if !links.is_empty() {
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str("Attachments:\n\n");
            description.push_str(&links.join("\n"));
        }
        let assignees =
            card.id_members.iter().filter_map(|id| members.get(id.as_str())?.email.clone()).collect::<Vec<_>>();
        let labels = card.id_labels.iter().filter_map(|id| label_names.get(id.as_str())).map(String::as_str).collect();
        parsed.push(RawItem {
            row,
            source_id: card.id.clone(),
            title: &card.name,
            description: &description,
            state: list_names[card.id_list.as_str()],
            assignees,
            due: card.due.as_deref().unwrap_or(""),
            labels,
            comments: comments.remove(card.id.as_str()).unwrap_or_default(),
            warnings,
            ..RawItem::default()
        });
        for checklist in checklists_of.get(card.id.as_str()).into_iter().flatten() {
            let mut check_items: Vec<&CheckItem> = checklist.check_items.iter().collect();
            check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
            for check_item in check_items {
                parsed.push(RawItem {
                    row,
                    source_id: check_item.id.clone(),
                    parent: Some(card.id.clone()),
                    title: &check_item.name,
                    done: check_item.state == "complete",
                    ..RawItem::default()
                });
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_is_refused_naming_where() {
        let Err(ServiceError::InvalidArgument(violations)) = parse("{\"cards\": [}") else { panic!("refused") };
        assert_eq!(violations[0].field, "content");
        assert!(violations[0].description.contains("line 1, column 12"), "{}", violations[0].description);
    }

    #[test]
    fn cards_follow_their_lists_and_checklists_follow_their_cards() {
        let board = r#"{
            "lists": [{"id": "l2", "name": "Done", "pos": 2}, {"id": "l1", "name": "Doing", "pos": 1},
                      {"id": "l3", "name": "Old", "closed": true, "pos": 3}],
            "cards": [{"id": "c2", "name": "Second", "idList": "l2", "pos": 1},
                      {"id": "c1", "name": "First", "idList": "l1", "pos": 5,
                       "attachments": [{"name": "spec", "url": "https://example.com/spec"},
                                       {"name": "photo.png", "url": "https://trello.com/x.png", "isUpload": true}]},
                      {"id": "c3", "name": "Archived", "idList": "l1", "closed": true}],
            "checklists": [{"idCard": "c1", "checkItems": [{"id": "i1", "name": "Step", "state": "complete"}]}]
        }"#;
        let parsed = parse(board).unwrap();
        let states: Vec<_> = parsed.states.iter().map(|state| state.name.as_str()).collect();
        assert_eq!(states, ["Doing", "Done"]);
        let items: Vec<_> =
            parsed.items.iter().map(|item| (item.source_id.as_str(), item.parent.as_deref(), item.done)).collect();
        assert_eq!(items, [("c1", None, false), ("i1", Some("c1"), true), ("c2", None, false)]);
        assert!(parsed.items[0].description.as_str().ends_with("- [spec](https://example.com/spec)"));
        let warnings = &parsed.items[0].warnings;
        assert_eq!(warnings.len(), 1);
        assert_eq!((warnings[0].field.as_str(), warnings[0].source_id.as_str()), ("attachments", "c1"));
    }
}
