//! The task's custom fields: a control per field of the project, by its
//! type, bound to the draft and saved with the task (each change masked as
//! `custom_fields.<key>`; a blank control clears the value).

use leptos::prelude::*;
use tasktracker_proto::v1::{self, CustomFieldType as Type};

use super::{TaskContext, editor::Editing};
use crate::{
    app::components::FieldError,
    model::fields::{number_text, toggle_option},
};

/// The group of custom fields, when the project has any.
#[component]
pub fn CustomFields(editing: Editing) -> impl IntoView {
    let context = expect_context::<TaskContext>();
    view! {
        {move || {
            let fields = context.fields.get().unwrap_or_default();
            (!fields.is_empty()).then(|| {
                let controls = fields.into_iter().map(|field| view! { <FieldControl editing field/> }).collect_view();
                view! {
                    <div id="custom-fields" class="stack" role="group" aria-labelledby="custom-fields-heading">
                        <h2 id="custom-fields-heading" class="small">"Custom fields"</h2>
                        {controls}
                    </div>
                }
            })
        }}
    }
}

/// One field's control, its label tied to it and the message about it below.
#[component]
fn FieldControl(editing: Editing, field: v1::CustomField) -> impl IntoView {
    let Editing { draft, can_edit, .. } = editing;
    let key = StoredValue::new(field.key.clone());
    let id = format!("cf-{}", field.key);
    let error_id = format!("{id}-error");
    let message = editing.error(&format!("custom_fields.{}", field.key));
    let text = move || draft.with(|d| key.with_value(|k| d.custom_text(k).to_owned()));
    let set = move |value: String| draft.update(|d| key.with_value(|k| d.set_custom(k, value)));
    let on_text = move |e: leptos::ev::Event| set(event_target_value(&e));
    let disabled = move || !can_edit.get();
    let label = field.display_name.clone();
    let described = error_id.clone();
    let control = match Type::try_from(field.r#type).unwrap_or(Type::Unspecified) {
        Type::MultiSelect => {
            let options = StoredValue::new(field.options.clone());
            let boxes = field.options.iter().enumerate().map(|(index, option)| {
                let option = option.clone();
                let shown = option.clone();
                let checked = option.clone();
                let on_change = move |e: leptos::ev::Event| {
                    let on = event_target_checked(&e);
                    set(options.with_value(|all| toggle_option(all, &text(), &option, on)));
                };
                view! {
                    <label class="check">
                        <input type="checkbox" id=format!("{id}-{index}") on:change=on_change
                            prop:checked=move || text().lines().any(|l| l == checked)/>
                        {shown}
                    </label>
                }
            });
            let boxes = boxes.collect_view();
            return view! {
                <fieldset disabled=disabled aria-describedby=described>
                    <legend>{label}</legend>
                    {boxes}
                </fieldset>
                <FieldError id=error_id message/>
            }
            .into_any();
        }
        Type::Checkbox => {
            return view! {
                <p class="check">
                    <input type="checkbox" id=id.clone() disabled=disabled aria-describedby=described
                        prop:checked=move || !text().is_empty()
                        on:change=move |e| set(if event_target_checked(&e) { "true".into() } else { String::new() })/>
                    <label for=id>{label}</label>
                </p>
                <FieldError id=error_id message/>
            }
            .into_any();
        }
        Type::SingleSelect | Type::User => {
            let (user, options) = (field.r#type == Type::User as i32, StoredValue::new(field.options.clone()));
            let context = expect_context::<TaskContext>();
            // A user field offers the project's members, as they load.
            let choices = move || {
                let choices: Vec<(String, String)> = if user {
                    context.members.get().unwrap_or_default().into_iter().map(|m| (m.user, m.display_name)).collect()
                } else {
                    options.try_get_value().unwrap_or_default().into_iter().map(|o| (o.clone(), o)).collect()
                };
                let choices = choices.into_iter().map(|(value, shown)| {
                    let selected = value.clone();
                    view! { <option value=value prop:selected=move || text() == selected>{shown}</option> }
                });
                choices.collect_view()
            };
            view! {
                <select id=id.clone() disabled=disabled on:change=on_text aria-describedby=described>
                    <option value="" prop:selected=move || text().is_empty()>"None"</option>
                    {choices}
                </select>
            }
            .into_any()
        }
        kind => {
            let kind = match kind {
                Type::Number => "number",
                Type::Date => "date",
                _ => "text",
            };
            let (min, max) = (field.number_min.map(number_text), field.number_max.map(number_text));
            view! {
                <input id=id.clone() type=kind step=(kind == "number").then_some("any") min=min max=max
                    maxlength=(kind == "text").then_some("2000") disabled=disabled aria-describedby=described
                    prop:value=text on:input=on_text/>
            }
            .into_any()
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {control}
            <FieldError id=error_id message/>
        </div>
    }
    .into_any()
}
