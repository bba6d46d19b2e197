//! `SavedViewService` requests parsed into commands: every field is checked
//! and one INVALID_ARGUMENT names every violation.

use std::collections::HashSet;

use tasktracker_proto::v1;

use crate::domain::{
    Invalid, ProjectId, ViewDisplayName, ViewFilter, ViewName, Violations, fields::is_key, filter, page::TaskOrder,
};

/// Every updatable field, for `update_mask` `*`.
const UPDATABLE: &[&str] =
    &["display_name", "filter", "order_by", "layout", "group_by", "group_by_field", "columns", "visibility"];
/// The built-in columns a table may show.
const COLUMNS: &[&str] =
    &["title", "state", "priority", "assignees", "labels", "start_time", "due_time", "update_time", "create_time"];
/// Most columns a view lists.
const MAX_COLUMNS: usize = 50;

/// What a create or update sets; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ViewSpec {
    pub display_name: Option<String>,
    pub filter: Option<String>,
    pub order_by: Option<String>,
    /// `ViewLayout`, as stored.
    pub layout: Option<i16>,
    /// `ViewGrouping` and the custom field key it names, if any.
    pub group_by: Option<(i16, String)>,
    pub columns: Option<Vec<String>>,
    pub shared: Option<bool>,
}

impl ViewSpec {
    /// Parses the fields of `view` that `paths` name, as `saved_view.<field>`.
    fn parse(view: &v1::SavedView, paths: &[&str], violations: &mut Violations) -> Self {
        let wants = |field: &str| paths.contains(&field);
        let mut spec = Self::default();
        if wants("display_name") {
            spec.display_name = violations
                .check(ViewDisplayName::parse("saved_view.display_name", &view.display_name))
                .map(ViewDisplayName::into_inner);
        }
        if wants("filter") {
            let text = violations.check(ViewFilter::parse("saved_view.filter", &view.filter));
            if let Some(text) = text
                && let Err(error) = filter::parse(text.as_str())
            {
                violations.add("saved_view.filter", error.to_string());
            }
            spec.filter = Some(view.filter.clone());
        }
        if wants("order_by") {
            violations.check(TaskOrder::parse("saved_view.order_by", &view.order_by));
            spec.order_by = Some(view.order_by.trim().to_owned());
        }
        if wants("layout") {
            match v1::ViewLayout::try_from(view.layout) {
                Ok(v1::ViewLayout::Unspecified) => spec.layout = Some(v1::ViewLayout::List as i16),
                Ok(layout) => spec.layout = Some(layout as i16),
                Err(_) => violations.add("saved_view.layout", format!("unknown layout {}", view.layout)),
            }
        }
        if wants("group_by") || wants("group_by_field") {
            spec.group_by = group_by(view, violations);
        }
        if wants("columns") {
            spec.columns = columns(&view.columns, violations);
        }
        if wants("visibility") {
            match v1::ViewVisibility::try_from(view.visibility) {
                Ok(v1::ViewVisibility::Personal) => spec.shared = Some(false),
                Ok(v1::ViewVisibility::Shared) => spec.shared = Some(true),
                Ok(v1::ViewVisibility::Unspecified) => {
                    violations.add("saved_view.visibility", "is required: PERSONAL or SHARED")
                }
                Err(_) => violations.add("saved_view.visibility", format!("unknown visibility {}", view.visibility)),
            }
        }
        spec
    }
}

/// The grouping and, for a custom field grouping, its key.
fn group_by(view: &v1::SavedView, violations: &mut Violations) -> Option<(i16, String)> {
    let key = view.group_by_field.trim();
    match v1::ViewGrouping::try_from(view.group_by) {
        Ok(v1::ViewGrouping::CustomField) if is_key(key) => Some((view.group_by as i16, key.to_owned())),
        Ok(v1::ViewGrouping::CustomField) => {
            violations.add("saved_view.group_by_field", "must be a custom field key (`[a-z][a-z0-9_]{0,31}`)");
            None
        }
        Ok(_) if !key.is_empty() => {
            violations.add("saved_view.group_by_field", "is only for VIEW_GROUPING_CUSTOM_FIELD");
            None
        }
        Ok(grouping) => Some((grouping as i16, String::new())),
        Err(_) => {
            violations.add("saved_view.group_by", format!("unknown grouping {}", view.group_by));
            None
        }
    }
}

/// The table's columns: known ones or `cf.<key>`, each once.
fn columns(columns: &[String], violations: &mut Violations) -> Option<Vec<String>> {
    if columns.len() > MAX_COLUMNS {
        violations.add("saved_view.columns", format!("must be at most {MAX_COLUMNS} columns"));
        return None;
    }
    let mut seen = HashSet::new();
    for column in columns {
        let known = COLUMNS.contains(&column.as_str()) || column.strip_prefix("cf.").is_some_and(is_key);
        if !known {
            violations.add(
                "saved_view.columns",
                format!("`{column}` is not a column: use {} or cf.<key>", COLUMNS.join(", ")),
            );
            return None;
        }
        if !seen.insert(column.as_str()) {
            violations.add("saved_view.columns", format!("`{column}` is listed twice"));
            return None;
        }
    }
    Some(columns.to_vec())
}

/// `CreateSavedView`.
#[derive(Debug)]
pub struct CreateView {
    pub project: ProjectId,
    pub spec: ViewSpec,
}

impl TryFrom<v1::CreateSavedViewRequest> for CreateView {
    type Error = Invalid;

    fn try_from(request: v1::CreateSavedViewRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let Some(view) = violations.required("saved_view", &request.saved_view) else {
            return Err(violations.finish().expect_err("a violation was recorded"));
        };
        let spec = ViewSpec::parse(view, UPDATABLE, &mut violations);
        violations.complete(|| Some(Self { project: project?, spec }))
    }
}

/// `UpdateSavedView`.
#[derive(Debug)]
pub struct UpdateView {
    pub name: ViewName,
    pub etag: String,
    pub spec: ViewSpec,
}

impl TryFrom<v1::UpdateSavedViewRequest> for UpdateView {
    type Error = Invalid;

    fn try_from(request: v1::UpdateSavedViewRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let Some(view) = violations.required("saved_view", &request.saved_view) else {
            return Err(violations.finish().expect_err("a violation was recorded"));
        };
        let name = violations.check(ViewName::parse("saved_view.name", &view.name));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        let named = violations.update_mask(&paths, UPDATABLE);
        let spec = ViewSpec::parse(view, &named, &mut violations);
        violations.complete(|| Some(Self { name: name?, etag: view.etag.clone(), spec }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> v1::SavedView {
        v1::SavedView {
            display_name: "Mine, urgent".into(),
            filter: "assignee = me AND priority >= HIGH".into(),
            order_by: "due_time".into(),
            layout: v1::ViewLayout::Table as i32,
            group_by: v1::ViewGrouping::CustomField as i32,
            group_by_field: "team".into(),
            columns: vec!["title".into(), "cf.estimate".into()],
            visibility: v1::ViewVisibility::Shared as i32,
            ..Default::default()
        }
    }

    fn create(view: v1::SavedView) -> Result<CreateView, Invalid> {
        CreateView::try_from(v1::CreateSavedViewRequest {
            parent: format!("projects/{}", ProjectId::generate()),
            saved_view: Some(view),
        })
    }

    fn fields(invalid: Invalid) -> Vec<String> {
        invalid.0.into_iter().map(|violation| violation.field).collect()
    }

    #[test]
    fn a_whole_view_parses() {
        let spec = create(view()).unwrap().spec;
        assert_eq!(spec.display_name.as_deref(), Some("Mine, urgent"));
        assert_eq!(spec.layout, Some(v1::ViewLayout::Table as i16));
        assert_eq!(spec.group_by, Some((v1::ViewGrouping::CustomField as i16, "team".into())));
        assert_eq!(spec.shared, Some(true));
        let list = create(v1::SavedView { layout: 0, group_by: 0, group_by_field: String::new(), ..view() });
        let list = list.unwrap().spec;
        assert_eq!((list.layout, list.group_by), (Some(v1::ViewLayout::List as i16), Some((0, String::new()))));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = v1::SavedView {
            display_name: " ".into(),
            filter: "priority >=".into(),
            order_by: "colour".into(),
            layout: 99,
            group_by_field: "Team".into(),
            columns: vec!["title".into(), "title".into()],
            visibility: 0,
            ..view()
        };
        assert_eq!(
            fields(create(bad).unwrap_err()),
            [
                "saved_view.display_name",
                "saved_view.filter",
                "saved_view.order_by",
                "saved_view.layout",
                "saved_view.group_by_field",
                "saved_view.columns",
                "saved_view.visibility"
            ]
        );
        let grouped_by_state_with_a_key = v1::SavedView { group_by: v1::ViewGrouping::State as i32, ..view() };
        assert_eq!(fields(create(grouped_by_state_with_a_key).unwrap_err()), ["saved_view.group_by_field"]);
        let unknown_column = v1::SavedView { columns: vec!["colour".into()], ..view() };
        assert_eq!(fields(create(unknown_column).unwrap_err()), ["saved_view.columns"]);
    }

    #[test]
    fn an_update_parses_only_what_its_mask_names() {
        let name = format!("projects/{}/views/{}", ProjectId::generate(), crate::domain::ViewId::generate());
        let mask = |paths: &[&str]| Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).into()).collect() });
        let unnamed = v1::SavedView { name: name.clone(), display_name: String::new(), ..view() };
        let update = UpdateView::try_from(v1::UpdateSavedViewRequest {
            saved_view: Some(unnamed.clone()),
            update_mask: mask(&["filter"]),
        })
        .unwrap();
        assert_eq!((update.spec.display_name, update.spec.filter.is_some()), (None, true));
        let everything = UpdateView::try_from(v1::UpdateSavedViewRequest {
            saved_view: Some(unnamed.clone()),
            update_mask: mask(&["*"]),
        });
        assert_eq!(fields(everything.unwrap_err()), ["saved_view.display_name"]);
        let unknown = UpdateView::try_from(v1::UpdateSavedViewRequest {
            saved_view: Some(unnamed),
            update_mask: mask(&["creator"]),
        });
        assert_eq!(fields(unknown.unwrap_err()), ["update_mask"]);
    }
}
