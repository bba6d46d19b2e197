//! Form helpers shared by the pages: messages from failed calls, option lists
//! and a labelled text field.

use leptos::prelude::*;
use tasktracker_proto::v1::{ApiTokenScope, Role};

use super::{api::ApiError, components::FieldError};
use crate::model::edit::priority_label;

/// Every priority, lowest first.
pub const PRIORITIES: [i32; 5] = [0, 1, 2, 3, 4];

/// The roles a member can have, least first, with their labels.
pub const ROLES: [(Role, &str); 3] = [(Role::Viewer, "Viewer"), (Role::Editor, "Editor"), (Role::Owner, "Owner")];

/// The scopes of an API token, least first, with their labels.
pub const SCOPES: [(ApiTokenScope, &str); 3] =
    [(ApiTokenScope::Read, "Read"), (ApiTokenScope::Write, "Write"), (ApiTokenScope::Admin, "Admin")];

/// The label of the enum value `value` in `options`, or "—".
pub fn label_of<T: Copy + Into<i32>>(options: &[(T, &'static str)], value: i32) -> &'static str {
    options.iter().find(|(option, _)| (*option).into() == value).map_or("—", |(_, label)| label)
}

/// A field's message from a failed call, if the server named the field.
pub fn field_message(error: impl Into<Signal<Option<ApiError>>>, field: &'static str) -> Signal<Option<String>> {
    let error = error.into();
    Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field(field))))
}

/// The general message of a failed call (field messages show by their fields).
pub fn general_message(error: impl Into<Signal<Option<ApiError>>>) -> Signal<Option<String>> {
    let error = error.into();
    Signal::derive(move || {
        error.get().map(|e| match &e {
            ApiError::Invalid(_, fields) if !fields.is_empty() => "Please correct the fields marked below.".to_owned(),
            ApiError::SignedOut => "That email and password do not match an account.".to_owned(),
            other => other.to_string(),
        })
    })
}

/// A labelled, required input bound to `value`, with the server's message
/// about `field` below it (`{field}-error`).
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    field: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<ApiError>>,
    #[prop(optional)] kind: Option<&'static str>,
    autocomplete: &'static str,
) -> impl IntoView {
    let error_id = format!("{field}-error");
    view! {
        <label for=id>{label}</label>
        <input id=id type=kind autocomplete=autocomplete required bind:value=value aria-describedby=error_id.clone()/>
        <FieldError id=error_id message=field_message(error, field)/>
    }
}

/// Priority options, `current` selected (a select's value set before its
/// options exist would not stick, so each option carries its selectedness).
pub fn priority_options(current: impl Fn() -> i32 + Copy + Send + Sync + 'static) -> impl IntoView {
    PRIORITIES
        .iter()
        .map(|p| {
            let p = *p;
            view! { <option value=p.to_string() prop:selected=move || current() == p>{priority_label(p)}</option> }
        })
        .collect_view()
}
