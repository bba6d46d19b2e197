//! Custom fields: the owners' form for a field's definition, a task's value
//! as the editor's controls hold it (text) and back, and values as the
//! board's cards show them.

use tasktracker_proto::v1::{
    CustomField, CustomFieldType as Type, CustomFieldValue, StringList, custom_field_value::Value,
};

use super::{dates, edit::FieldError};

/// The types a new field can have, with their labels.
pub const TYPES: [(Type, &str); 7] = [
    (Type::Text, "Text"),
    (Type::Number, "Number"),
    (Type::Date, "Date"),
    (Type::SingleSelect, "Single select"),
    (Type::MultiSelect, "Multi select"),
    (Type::User, "Person"),
    (Type::Checkbox, "Checkbox"),
];

/// The label of a field type.
pub fn type_label(kind: i32) -> &'static str {
    TYPES.iter().find(|(t, _)| *t as i32 == kind).map_or("Unknown", |(_, label)| label)
}

/// Whether fields of the type have options.
pub fn has_options(kind: i32) -> bool {
    kind == Type::SingleSelect as i32 || kind == Type::MultiSelect as i32
}

/// Options typed one per line, or as a comma-separated list on one line:
/// trimmed, blank ones dropped (repeats are kept for the server to name).
pub fn parse_options(text: &str) -> Vec<String> {
    let separator = if text.trim().contains('\n') { '\n' } else { ',' };
    text.split(separator).map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
}

/// A number typed in: `None` when blank, `Err` when not a finite number.
/// Only digits, signs, `.` and exponents count (no `inf`, no hex).
fn parse_number(text: &str) -> Result<Option<f64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let plain = text.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    plain.then(|| float(text)).flatten().filter(|n| n.is_finite()).map(Some).ok_or(())
}

// In the browser, numbers are read and written by JavaScript: core's float
// parsing and formatting would add their tables and code to the bundle.

/// `text` as a number (`None`: it is not one).
#[cfg(target_arch = "wasm32")]
fn float(text: &str) -> Option<f64> {
    // `+text` in JavaScript: NaN when it is not a number.
    let number = wasm_bindgen::JsValue::from_str(text).unchecked_into_f64();
    (!number.is_nan()).then_some(number)
}

#[cfg(not(target_arch = "wasm32"))]
fn float(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// A number as the app writes it (`3`, not `3.0`; plain digits within the
/// ±1e15 the server allows).
#[cfg(target_arch = "wasm32")]
pub fn number_text(number: f64) -> String {
    js_sys::Number::from(number).to_string_with_radix(10).map(String::from).unwrap_or_default()
}

#[cfg(not(target_arch = "wasm32"))]
pub fn number_text(number: f64) -> String {
    number.to_string()
}

/// What the owners' form of a field holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldDraft {
    pub key: String,
    pub display_name: String,
    /// A `CustomFieldType`.
    pub kind: i32,
    /// One option per line (or a comma-separated list).
    pub options: String,
    /// Blank: no bound.
    pub min: String,
    pub max: String,
    pub show_on_card: bool,
}

impl FieldDraft {
    /// The form of an existing field.
    pub fn of(field: &CustomField) -> Self {
        Self {
            key: field.key.clone(),
            display_name: field.display_name.clone(),
            kind: field.r#type,
            options: field.options.join("\n"),
            min: field.number_min.map(number_text).unwrap_or_default(),
            max: field.number_max.map(number_text).unwrap_or_default(),
            show_on_card: field.show_on_card,
        }
    }

    /// The bounds typed, for number fields; unset for the other types.
    fn bounds(&self) -> Result<(Option<f64>, Option<f64>), Vec<FieldError>> {
        if self.kind != Type::Number as i32 {
            return Ok((None, None));
        }
        let mut errors = Vec::new();
        let mut bound = |field: &str, text: &str| {
            parse_number(text).unwrap_or_else(|()| {
                errors.push((field.to_owned(), "Enter a number, or leave it blank for no bound.".to_owned()));
                None
            })
        };
        let (min, max) = (bound("number_min", &self.min), bound("number_max", &self.max));
        if let (Some(min), Some(max)) = (min, max)
            && max < min
        {
            errors.push(("number_max".to_owned(), "The maximum is below the minimum.".to_owned()));
        }
        if errors.is_empty() { Ok((min, max)) } else { Err(errors) }
    }

    /// The options typed, for select fields; none for the other types.
    fn option_list(&self) -> Vec<String> {
        if has_options(self.kind) { parse_options(&self.options) } else { Vec::new() }
    }

    /// A new field (for CreateCustomField); the server checks key, name,
    /// type and options and names what is wrong.
    pub fn to_new_field(&self) -> Result<CustomField, Vec<FieldError>> {
        let (number_min, number_max) = self.bounds()?;
        Ok(CustomField {
            key: self.key.trim().to_owned(),
            display_name: self.display_name.trim().to_owned(),
            r#type: self.kind,
            options: self.option_list(),
            number_min,
            number_max,
            show_on_card: self.show_on_card,
            ..Default::default()
        })
    }

    /// The update of `original` to this form: the changed parts, its name
    /// and etag, and the mask naming exactly those parts (empty: nothing
    /// changed).
    pub fn to_update(&self, original: &CustomField) -> Result<(CustomField, Vec<String>), Vec<FieldError>> {
        let (number_min, number_max) = self.bounds()?;
        let mut field = CustomField { name: original.name.clone(), etag: original.etag.clone(), ..Default::default() };
        let mut mask = Vec::new();
        let display_name = self.display_name.trim();
        if display_name != original.display_name {
            field.display_name = display_name.to_owned();
            mask.push("display_name");
        }
        let options = self.option_list();
        if has_options(original.r#type) && options != original.options {
            field.options = options;
            mask.push("options");
        }
        if number_min != original.number_min {
            field.number_min = number_min;
            mask.push("number_min");
        }
        if number_max != original.number_max {
            field.number_max = number_max;
            mask.push("number_max");
        }
        if self.show_on_card != original.show_on_card {
            field.show_on_card = self.show_on_card;
            mask.push("show_on_card");
        }
        Ok((field, mask.into_iter().map(str::to_owned).collect()))
    }
}

/// A task's value as the editor's controls hold it: the text of a text,
/// number, date (`YYYY-MM-DD`), option or user (`users/{id}`); a multi
/// select's options one per line; `"true"` for a ticked checkbox; empty for
/// no value.
pub fn value_text(value: &CustomFieldValue) -> String {
    match &value.value {
        Some(Value::Text(text) | Value::Option(text) | Value::User(text)) => text.clone(),
        Some(Value::Number(number)) => number_text(*number),
        Some(Value::Date(date)) => dates::to_day(date),
        Some(Value::Options(list)) => list.values.join("\n"),
        Some(Value::Checkbox(true)) => "true".to_owned(),
        Some(Value::Checkbox(false)) | None => String::new(),
    }
}

/// The value a field of type `kind` takes from the editor's text: `None`
/// (clear the field) when blank or unticked, `Err` with a message when the
/// text is not one.
pub fn parse_value(kind: i32, text: &str) -> Result<Option<CustomFieldValue>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value = match Type::try_from(kind).unwrap_or(Type::Unspecified) {
        Type::Text => Value::Text(text.to_owned()),
        Type::Number => Value::Number(parse_number(text).ok().flatten().ok_or("Enter a number.")?),
        Type::Date => Value::Date(dates::from_day(text).ok_or("Use a date like 2026-12-31.")?),
        Type::SingleSelect => Value::Option(text.trim().to_owned()),
        Type::MultiSelect => {
            let values = text.lines().map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
            Value::Options(StringList { values })
        }
        Type::User => Value::User(text.trim().to_owned()),
        Type::Checkbox => Value::Checkbox(true),
        Type::Unspecified => return Err("This app does not know the field's type.".to_owned()),
    };
    Ok(Some(CustomFieldValue { value: Some(value) }))
}

/// A multi select's text with `option` ticked or not, its options in the
/// field's order.
pub fn toggle_option(options: &[String], text: &str, option: &str, on: bool) -> String {
    let ticked: Vec<&str> = text.lines().map(str::trim).collect();
    let keep = |o: &&String| if o.as_str() == option { on } else { ticked.contains(&o.as_str()) };
    options.iter().filter(keep).cloned().collect::<Vec<_>>().join("\n")
}

/// A value as a table cell shows it; `person` names a user.
pub fn shown_text(value: &CustomFieldValue, person: impl Fn(&str) -> String) -> Option<String> {
    Some(match value.value.as_ref()? {
        Value::User(user) => person(user),
        Value::Options(list) => list.values.join(", "),
        Value::Checkbox(checked) => (if *checked { "Yes" } else { "No" }).to_owned(),
        _ => value_text(value),
    })
}

/// "Label: value" of a field's value on a card; `person` names a user.
pub fn card_text(field: &CustomField, value: &CustomFieldValue, person: impl Fn(&str) -> String) -> Option<String> {
    Some(format!("{}: {}", field.display_name, shown_text(value, person)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number_field() -> CustomField {
        CustomField {
            name: "projects/1/fields/2".into(),
            etag: "e1".into(),
            key: "estimate".into(),
            display_name: "Estimate".into(),
            r#type: Type::Number as i32,
            number_min: Some(0.0),
            ..Default::default()
        }
    }

    fn select_field() -> CustomField {
        CustomField {
            name: "projects/1/fields/3".into(),
            key: "team".into(),
            display_name: "Team".into(),
            r#type: Type::MultiSelect as i32,
            options: vec!["core".into(), "web".into(), "ops".into()],
            ..Default::default()
        }
    }

    #[test]
    fn options_are_typed_one_per_line_or_as_a_list() {
        assert_eq!(parse_options("core\n web \n\nops\n"), ["core", "web", "ops"]);
        assert_eq!(parse_options("core, web,,ops "), ["core", "web", "ops"]);
        assert_eq!(parse_options("a, b\nc"), ["a, b", "c"], "lines win: an option may hold a comma");
        assert!(parse_options("  \n ").is_empty());
    }

    #[test]
    fn a_new_field_carries_only_what_its_type_takes() {
        let draft = FieldDraft {
            key: " estimate ".into(),
            display_name: "Estimate".into(),
            kind: Type::Number as i32,
            options: "ignored".into(),
            min: "0".into(),
            max: " 13.5".into(),
            show_on_card: true,
        };
        let field = draft.to_new_field().unwrap();
        assert_eq!((field.key.as_str(), field.number_min, field.number_max), ("estimate", Some(0.0), Some(13.5)));
        assert!(field.options.is_empty() && field.show_on_card);
        let select = FieldDraft { kind: Type::SingleSelect as i32, options: "core\nweb".into(), ..draft };
        let field = select.to_new_field().unwrap();
        assert_eq!((field.options.len(), field.number_min, field.number_max), (2, None, None));
    }

    #[test]
    fn bad_bounds_name_their_inputs() {
        let draft =
            FieldDraft { kind: Type::Number as i32, min: "lots".into(), max: "1e999".into(), ..Default::default() };
        let fields: Vec<String> = draft.to_new_field().unwrap_err().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["number_min", "number_max"]);
        let inverted = FieldDraft { kind: Type::Number as i32, min: "5".into(), max: "1".into(), ..Default::default() };
        assert_eq!(inverted.to_new_field().unwrap_err()[0].0, "number_max");
    }

    #[test]
    fn an_update_masks_only_what_changed() {
        let original = number_field();
        let (_, mask) = FieldDraft::of(&original).to_update(&original).unwrap();
        assert!(mask.is_empty(), "{mask:?}");
        let mut draft = FieldDraft::of(&original);
        draft.display_name = "Points ".into();
        draft.min = String::new();
        draft.max = "8".into();
        draft.show_on_card = true;
        let (update, mask) = draft.to_update(&original).unwrap();
        assert_eq!(mask, ["display_name", "number_min", "number_max", "show_on_card"]);
        assert_eq!((update.name.as_str(), update.etag.as_str()), ("projects/1/fields/2", "e1"));
        assert_eq!((update.display_name.as_str(), update.number_min, update.number_max), ("Points", None, Some(8.0)));

        let select = select_field();
        let mut draft = FieldDraft::of(&select);
        assert_eq!(draft.options, "core\nweb\nops");
        draft.options.push_str("\ndata");
        let (update, mask) = draft.to_update(&select).unwrap();
        assert_eq!(mask, ["options"]);
        assert_eq!(update.options, ["core", "web", "ops", "data"]);
    }

    #[test]
    fn values_round_trip_through_the_editor_text() {
        let cases = [
            (Type::Text, "call back\nlater"),
            (Type::Number, "3"),
            (Type::Number, "-0.25"),
            (Type::Date, "2027-01-15"),
            (Type::SingleSelect, "core"),
            (Type::MultiSelect, "core\nops"),
            (Type::User, "users/7"),
            (Type::Checkbox, "true"),
        ];
        for (kind, text) in cases {
            let value = parse_value(kind as i32, text).unwrap().expect(text);
            assert_eq!(value_text(&value), text, "{kind:?}");
        }
        assert_eq!(parse_value(Type::Number as i32, " 5 ").unwrap().unwrap().value, Some(Value::Number(5.0)));
    }

    #[test]
    fn blank_values_clear_and_bad_ones_are_refused() {
        for (kind, _) in TYPES {
            assert_eq!(parse_value(kind as i32, " \n"), Ok(None), "{kind:?}");
        }
        assert_eq!(parse_value(Type::Number as i32, "three"), Err("Enter a number.".to_owned()));
        assert_eq!(parse_value(Type::Number as i32, "NaN"), Err("Enter a number.".to_owned()));
        assert!(parse_value(Type::Date as i32, "15/01/2027").is_err());
        assert!(parse_value(Type::Unspecified as i32, "x").is_err());
        assert_eq!(value_text(&CustomFieldValue { value: Some(Value::Checkbox(false)) }), "");
    }

    #[test]
    fn ticked_options_keep_the_fields_order() {
        let options = select_field().options;
        let text = toggle_option(&options, "", "ops", true);
        let text = toggle_option(&options, &text, "core", true);
        assert_eq!(text, "core\nops");
        assert_eq!(toggle_option(&options, &text, "core", false), "ops");
        assert_eq!(toggle_option(&options, "gone\nops", "web", true), "web\nops", "unknown options drop");
    }

    #[test]
    fn cards_show_label_and_value() {
        let person = |user: &str| if user == "users/7" { "Bob".to_owned() } else { user.to_owned() };
        let show = |field: &CustomField, value: Value| {
            card_text(field, &CustomFieldValue { value: Some(value) }, person).unwrap()
        };
        assert_eq!(show(&number_field(), Value::Number(3.0)), "Estimate: 3");
        let list = StringList { values: vec!["core".into(), "ops".into()] };
        assert_eq!(show(&select_field(), Value::Options(list)), "Team: core, ops");
        let reviewer = CustomField { display_name: "Reviewer".into(), ..Default::default() };
        assert_eq!(show(&reviewer, Value::User("users/7".into())), "Reviewer: Bob");
        assert_eq!(show(&reviewer, Value::Checkbox(false)), "Reviewer: No");
        assert_eq!(card_text(&reviewer, &CustomFieldValue { value: None }, person), None);
    }

    #[test]
    fn every_type_has_a_label() {
        assert_eq!(type_label(Type::SingleSelect as i32), "Single select");
        assert_eq!(type_label(99), "Unknown");
        assert!(has_options(Type::MultiSelect as i32) && !has_options(Type::Number as i32));
    }
}
