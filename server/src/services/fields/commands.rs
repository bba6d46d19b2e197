//! `CustomFieldService` requests parsed into commands: every field is
//! checked and one INVALID_ARGUMENT names every violation.

use tasktracker_proto::v1;

use crate::{
    domain::{
        FieldName, FieldViolation, Invalid, ProjectId, Violations,
        fields::{FieldKey, FieldType, parse_bound, parse_options},
    },
    storage::fields::{FieldChange, NewField},
};

/// Every updatable field, for `update_mask` `*`.
const UPDATABLE: &[&str] = &["display_name", "options", "number_min", "number_max", "show_on_card"];

/// A display name: one line, 1 to 100 characters.
fn display_name(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > 100 {
        return Err(FieldViolation::new(field, "must be 1 to 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// `min <= max` when both are set.
pub(super) fn check_bounds(violations: &mut Violations, min: Option<f64>, max: Option<f64>) {
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        violations.add("field.number_max", "must not be less than `number_min`");
    }
}

/// `CreateCustomField`.
pub struct CreateField {
    pub project: ProjectId,
    pub field: NewField,
}

impl TryFrom<v1::CreateCustomFieldRequest> for CreateField {
    type Error = Invalid;

    fn try_from(request: v1::CreateCustomFieldRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let Some(field) = violations.required("field", &request.field) else {
            return Err(violations.finish().expect_err("a violation was recorded"));
        };
        let key = violations.check(FieldKey::parse("field.key", &field.key));
        let name = violations.check(display_name("field.display_name", &field.display_name));
        let kind = violations.check(FieldType::from_proto("field.type", field.r#type));
        let mut options = Vec::new();
        let (mut min, mut max) = (None, None);
        match kind {
            Some(kind) if kind.is_select() => {
                options = violations.check(parse_options("field.options", &field.options)).unwrap_or_default()
            }
            _ if !field.options.is_empty() => violations.add("field.options", "only selects have options"),
            _ => {}
        }
        if kind == Some(FieldType::Number) {
            min = violations.check(parse_bound("field.number_min", field.number_min)).flatten();
            max = violations.check(parse_bound("field.number_max", field.number_max)).flatten();
            check_bounds(&mut violations, min, max);
        } else {
            if field.number_min.is_some() {
                violations.add("field.number_min", "only NUMBER fields have bounds");
            }
            if field.number_max.is_some() {
                violations.add("field.number_max", "only NUMBER fields have bounds");
            }
        }
        violations.complete(|| {
            Some(Self {
                project: project?,
                field: NewField {
                    key: key?,
                    display_name: name?,
                    kind: kind?,
                    options,
                    number_min: min,
                    number_max: max,
                    show_on_card: field.show_on_card,
                },
            })
        })
    }
}

/// `UpdateCustomField`: the fields the mask names. Whether options and
/// bounds suit the field's type is checked against the stored field.
pub struct UpdateField {
    pub name: FieldName,
    pub etag: String,
    pub change: FieldChange,
}

impl TryFrom<v1::UpdateCustomFieldRequest> for UpdateField {
    type Error = Invalid;

    fn try_from(request: v1::UpdateCustomFieldRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let field = violations.required("field", &request.field);
        let name = field.and_then(|field| violations.check(FieldName::parse("field.name", &field.name)));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        let paths: Vec<&str> = if paths.iter().any(|path| path == "*") {
            UPDATABLE.to_vec()
        } else {
            paths.iter().map(String::as_str).collect()
        };
        if paths.is_empty() {
            violations.add("update_mask", format!("name at least one field: {}", UPDATABLE.join(", ")));
        }
        let mut change = FieldChange::default();
        if let Some(field) = field {
            for path in paths {
                match path {
                    "display_name" => {
                        change.display_name = violations.check(display_name("field.display_name", &field.display_name))
                    }
                    "options" => change.options = violations.check(parse_options("field.options", &field.options)),
                    "number_min" => {
                        change.number_min = violations.check(parse_bound("field.number_min", field.number_min))
                    }
                    "number_max" => {
                        change.number_max = violations.check(parse_bound("field.number_max", field.number_max))
                    }
                    "show_on_card" => change.show_on_card = Some(field.show_on_card),
                    "key" | "type" => violations.add("update_mask", format!("`{path}` cannot be changed")),
                    other => violations
                        .add("update_mask", format!("`{other}` cannot be updated; use {}", UPDATABLE.join(", "))),
                }
            }
        }
        violations.complete(|| Some(Self { name: name?, etag: field?.etag.clone(), change }))
    }
}

/// `DeleteCustomField`.
pub struct DeleteField {
    pub name: FieldName,
    pub etag: String,
}

impl TryFrom<v1::DeleteCustomFieldRequest> for DeleteField {
    type Error = Invalid;

    fn try_from(request: v1::DeleteCustomFieldRequest) -> Result<Self, Invalid> {
        Ok(Self { name: FieldName::parse("name", &request.name)?, etag: request.etag })
    }
}
