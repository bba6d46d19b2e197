//! CSV files: a header row, then one task per row, read through the
//! request's column mapping. Cells are data, never formulas: `=cmd`, `+1`,
//! `-1`, `@x` are stored as the text they are.

use std::collections::HashMap;

use tasktracker_proto::v1;

use super::items::{MAX_ITEMS, Parsed, RawItem, RowError, split_list};
use crate::{
    domain::{FieldViolation, Violations, fields::is_key},
    error::ServiceError,
};

/// The mapping, checked: each task field's column header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub title: String,
    pub description: Option<String>,
    pub state: Option<String>,
    pub assignee_email: Option<String>,
    pub due_date: Option<String>,
    pub labels: Option<String>,
    pub priority: Option<String>,
    pub source_id: Option<String>,
    /// Custom field key and column, by key.
    pub custom_fields: Vec<(String, String)>,
}

impl Mapping {
    /// Checks `mapping` (as `csv_mapping`): `title` is required, custom
    /// field keys must be keys.
    pub fn parse(mapping: &v1::CsvMapping, violations: &mut Violations) -> Option<Self> {
        let v1::CsvMapping {
            title,
            description,
            state,
            assignee_email,
            due_date,
            labels,
            priority,
            source_id,
            custom_fields,
        } = mapping;
        let column = |name: &String| Some(name.trim().to_owned()).filter(|name| !name.is_empty());
        let title = column(title);
        if title.is_none() {
            violations.add("csv_mapping.title", "is required: the header of the column that holds the titles");
        }
        let mut custom: Vec<(String, String)> = Vec::new();
        for (key, name) in custom_fields {
            if !is_key(key) {
                violations.add(format!("csv_mapping.custom_fields[{key}]"), "is not a custom field key");
            } else if let Some(name) = column(name) {
                custom.push((key.clone(), name));
            }
        }
        custom.sort();
        Some(Self {
            title: title?,
            description: column(description),
            state: column(state),
            assignee_email: column(assignee_email),
            due_date: column(due_date),
            labels: column(labels),
            priority: column(priority),
            source_id: column(source_id),
            custom_fields: custom,
        })
    }

    /// Every mapped column as (mapping field, header).
    fn columns(&self) -> Vec<(String, &str)> {
        let named = [
            ("title", Some(&self.title)),
            ("description", self.description.as_ref()),
            ("state", self.state.as_ref()),
            ("assignee_email", self.assignee_email.as_ref()),
            ("due_date", self.due_date.as_ref()),
            ("labels", self.labels.as_ref()),
            ("priority", self.priority.as_ref()),
            ("source_id", self.source_id.as_ref()),
        ];
        let named = named.into_iter().filter_map(|(field, name)| Some((field.to_owned(), name?.as_str())));
        let custom = self.custom_fields.iter().map(|(key, name)| (format!("custom_fields[{key}]"), name.as_str()));
        named.chain(custom).collect()
    }
}

/// Reads `content` (UTF-8) through `mapping`. A mapped column missing from
/// the header, or more than [`MAX_ITEMS`] rows, refuses the file; a row
/// that cannot be read is a row error.
pub fn parse(content: &str, mapping: &Mapping) -> Result<Parsed, ServiceError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(content.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| ServiceError::invalid("content", format!("the CSV header row cannot be read: {error}")))?
        .clone();
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(index, name)| (name.trim(), index)).collect();
    let mut violations = Vec::new();
    let mut positions = HashMap::new();
    for (field, name) in mapping.columns() {
        match index.get(name) {
            Some(position) => {
                positions.insert(field, *position);
            }
            None => violations.push(FieldViolation::new(
                format!("csv_mapping.{field}"),
                format!(
                    "the file has no column \"{name}\" (its header: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
    if !violations.is_empty() {
        return Err(ServiceError::InvalidArgument(violations));
    }
    let mut parsed = Parsed::default();
    let mut record = csv::StringRecord::new();
    for number in 1.. {
        let line = reader.position().line() as i64;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(line, |position| position.line() as i64);
                parsed.errors.push(RowError::new(line, "", "content", format!("the row cannot be read: {error}")));
                continue;
            }
        }
        let line = record.position().map_or(line, |position| position.line() as i64);
        if number > MAX_ITEMS {
            return Err(ServiceError::invalid("content", format!("has more than {MAX_ITEMS} rows; split the file")));
        }
        let cell = |field: &str| positions.get(field).and_then(|&position| record.get(position)).unwrap_or("");
        let source_id = match cell("source_id").trim() {
            "" if mapping.source_id.is_some() => {
                parsed.errors.push(RowError::new(line, "", "source_id", "is empty: every row needs its id"));
                continue;
            }
            "" => format!("row:{number}"),
            id => id.to_owned(),
        };
        let custom_fields = mapping
            .custom_fields
            .iter()
            .map(|(key, _)| (key.clone(), cell(&format!("custom_fields[{key}]")).trim().to_owned()))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        parsed.push(RawItem {
            row: line,
            source_id,
            title: cell("title"),
            description: cell("description"),
            state: cell("state"),
            assignees: split_list(cell("assignee_email")).into_iter().map(str::to_owned).collect(),
            due: cell("due_date"),
            labels: split_list(cell("labels")),
            priority: cell("priority"),
            custom_fields,
            ..Default::default()
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping {
            title: "Name".into(),
            description: Some("Notes".into()),
            labels: Some("Tags".into()),
            source_id: Some("Key".into()),
            ..Default::default()
        }
    }

    #[test]
    fn rows_become_items_and_quoted_cells_keep_commas_and_newlines() {
        let file = "Key,Name,Notes,Tags\nA-1,First,\"one, two\nthree\",\"x, y\"\nA-2,Second,,\n";
        let parsed = parse(file, &mapping()).unwrap();
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.items.len(), 2);
        assert_eq!(parsed.items[0].source_id, "A-1");
        assert_eq!(parsed.items[0].description.as_str(), "one, two\nthree");
        assert_eq!(parsed.items[0].labels, ["x", "y"]);
        assert_eq!((parsed.items[1].row, parsed.items[1].title.as_str()), (4, "Second"));
    }

    #[test]
    fn a_missing_column_names_the_mapping_field() {
        let Err(ServiceError::InvalidArgument(violations)) = parse("Key,Title\n", &mapping()) else {
            panic!("refused");
        };
        let fields: Vec<_> = violations.iter().map(|violation| violation.field.as_str()).collect();
        assert_eq!(fields, ["csv_mapping.title", "csv_mapping.description", "csv_mapping.labels"]);
    }

    #[test]
    fn a_row_without_its_key_is_a_row_error() {
        let parsed = parse("Key,Name,Notes,Tags\n,Nameless key,,\n", &mapping()).unwrap();
        assert!(parsed.items.is_empty());
        assert_eq!((parsed.errors[0].row, parsed.errors[0].field.as_str()), (2, "source_id"));
    }
}
