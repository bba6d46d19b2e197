//! `/projects/:project/fields`: the project's custom fields (typed values
//! its tasks carry, shown on the task page, optionally on the board's cards,
//! and filtered as `cf.<key>`). Everyone sees them; owners add, edit and
//! delete them.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_params_map;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, CustomFieldType, Role};

use crate::{
    app::{
        ToastList,
        api::{Api, ApiError, ApiResult},
        browser,
        components::FieldError,
        forms::{field_message, general_message},
    },
    model::{
        edit::FieldError as LocalError,
        fields::{FieldDraft, TYPES, has_options, number_text, type_label},
        names,
    },
};

type FieldList = Loader<ApiResult<Vec<v1::CustomField>>>;

/// What the parts of the page share.
#[derive(Clone, Copy)]
struct Fields {
    project: StoredValue<String>,
    list: FieldList,
    is_owner: Signal<bool>,
}

/// The fields page (signed in).
#[component]
pub fn FieldsPage() -> impl IntoView {
    browser::set_title("Fields");
    let api = expect_context::<Api>();
    let params = use_params_map();
    let project_name =
        StoredValue::new(format!("projects/{}", params.with_untracked(|p| p.get("project").unwrap_or_default())));
    // The names are read when a load starts, not when its future first runs
    // (by then the page may be gone).
    let project = Loader::new(move || {
        let name = project_name.get_value();
        async move { api.get_project(name).await }
    });
    let list: FieldList = Loader::new(move || {
        let parent = project_name.get_value();
        async move { api.list_fields(parent).await }
    });
    let is_owner = Signal::derive(move || {
        project.with(|p| p.and_then(|p| p.as_ref().ok()).is_some_and(|p| p.caller_role == Role::Owner as i32))
    });
    let fields = Fields { project: project_name, list, is_owner };
    let load_error = move || {
        let error = list.get().and_then(Result::err).or_else(|| project.get().and_then(Result::err));
        error.map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })
    };
    let none = move || list.with(|l| l.and_then(|l| l.as_ref().ok()).is_some_and(Vec::is_empty));
    view! {
        <section class="page">
            <p><a href=names::project_path(&project_name.get_value())>"← Back to the project"</a></p>
            <h1>"Fields"</h1>
            {load_error}
            <p class="hint">
                "Typed fields every task of the project may carry, in this order. Filter the task list by one with "
                <code>"cf.<key>"</code> ", e.g. " <code>"cf.estimate >= 3"</code> "."
            </p>
            {move || none().then(|| view! { <p class="muted">"No fields yet."</p> })}
            <ul class="fields">
                {move || {
                    let list = list.get().and_then(Result::ok).unwrap_or_default();
                    list.into_iter().map(|field| view! { <FieldItem fields field/> }).collect_view()
                }}
            </ul>
            {move || is_owner.get().then(|| view! { <h2>"Add a field"</h2> <AddField fields/> })}
        </section>
    }
}

/// What a field is, in words: key, type, options or bounds, card.
fn summary(field: &v1::CustomField) -> String {
    let mut parts = vec![format!("cf.{}", field.key), type_label(field.r#type).to_owned()];
    if has_options(field.r#type) {
        parts.push(format!("options: {}", field.options.join(", ")));
    }
    match (field.number_min.map(number_text), field.number_max.map(number_text)) {
        (Some(min), Some(max)) => parts.push(format!("from {min} to {max}")),
        (Some(min), None) => parts.push(format!("at least {min}")),
        (None, Some(max)) => parts.push(format!("at most {max}")),
        (None, None) => {}
    }
    if field.show_on_card {
        parts.push("shown on cards".to_owned());
    }
    parts.join(" · ")
}

/// A message about `field`: the form's own first, then the server's.
fn message(
    local: RwSignal<Vec<LocalError>>,
    error: Signal<Option<ApiError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    let server = field_message(error, field);
    Signal::derive(move || {
        local.with(|errors| errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone())).or_else(|| server.get())
    })
}

/// One field: what it is, and for owners its edit form and delete.
#[component]
fn FieldItem(fields: Fields, field: v1::CustomField) -> impl IntoView {
    let id = names::id(&field.name).to_owned();
    let current = RwSignal::new(field);
    let heading = format!("field-{id}-heading");
    view! {
        <li class="card">
            <h2 class="small" id=heading.clone()>{move || current.with(|f| f.display_name.clone())}</h2>
            <p class="muted">{move || current.with(summary)}</p>
            {move || fields.is_owner.get().then(|| view! { <EditField fields current id=id.clone() heading=heading.clone()/> })}
        </li>
    }
}

/// The owners' form for a field: display name, options, bounds, card;
/// saved with its etag. Delete asks first, inline.
#[component]
fn EditField(fields: Fields, current: RwSignal<v1::CustomField>, id: String, heading: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let draft = RwSignal::new(FieldDraft::of(&current.get_untracked()));
    let local = RwSignal::new(Vec::<LocalError>::new());
    let save = Job::new(move |(field, mask): &(v1::CustomField, Vec<String>)| {
        let (field, mask) = (field.clone(), mask.clone());
        async move {
            let saved = api.update_field(field, mask).await?;
            toasts.show(format!("Saved “{}”.", saved.display_name), None);
            draft.try_set(FieldDraft::of(&saved));
            current.try_set(saved);
            Ok::<_, ApiError>(())
        }
    });
    let confirming = RwSignal::new(false);
    let delete = Job::new(move |field: &v1::CustomField| {
        let field = field.clone();
        async move {
            let cleared = api.delete_field(field.name, field.etag).await?;
            toasts.show(format!("Deleted “{}”; {cleared} task(s) lost their value.", field.display_name), None);
            fields.list.refetch();
            Ok::<_, ApiError>(())
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save.clear();
        delete.clear();
        match draft.get_untracked().to_update(&current.get_untracked()) {
            Ok((_, mask)) if mask.is_empty() => toasts.show("Nothing to save.", None),
            Ok(update) => {
                local.set(Vec::new());
                save.dispatch(update);
            }
            Err(errors) => local.set(errors),
        }
    };
    let error = Signal::derive(move || save.error().get().or_else(|| delete.error().get()));
    let kind = current.with_untracked(|f| f.r#type);
    // Delete asks first, in place of its button; focus follows.
    let ids =
        StoredValue::new([format!("field-{id}-confirm"), format!("field-{id}-ask"), format!("field-{id}-delete")]);
    let focus_later = move |which: usize| {
        set_timeout(move || _ = ids.try_with_value(|ids| browser::focus(&ids[which])), std::time::Duration::ZERO)
    };
    let name = move || current.with(|f| f.display_name.clone());
    let delete_part = move || {
        let [confirm_id, ask_id, delete_id] = ids.try_get_value().unwrap_or_default();
        if confirming.get() {
            view! {
                <div class="row" role="group" aria-labelledby=ask_id.clone()>
                    <p id=ask_id.clone()>{format!("Delete “{}” and its value on every task?", name())}</p>
                    <button type="button" class="danger" id=confirm_id
                        on:click=move |_| { delete.dispatch(current.get_untracked()); }>"Delete for good"</button>
                    <button type="button" class="ghost" on:click=move |_| { confirming.set(false); focus_later(2); }>"Cancel"</button>
                </div>
            }
            .into_any()
        } else {
            view! {
                <button type="button" class="danger" id=delete_id aria-label=format!("Delete {}", name())
                    on:click=move |_| { confirming.set(true); focus_later(0); }>"Delete"</button>
            }
            .into_any()
        }
    };
    view! {
        <form class="stack narrow" on:submit=submit novalidate aria-labelledby=heading>
            <FieldError id=format!("field-{id}-error") message=general_message(error)/>
            <DraftInputs draft local error prefix=format!("field-{id}") kind/>
            <div class="row">
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
                {delete_part}
            </div>
        </form>
    }
}

/// The inputs of a field's form that its type takes, ids prefixed
/// `prefix`, each with its message (`{prefix}-{field}-error`).
#[component]
fn DraftInputs(
    draft: RwSignal<FieldDraft>,
    local: RwSignal<Vec<LocalError>>,
    #[prop(into)] error: Signal<Option<ApiError>>,
    prefix: String,
    /// The type, fixed (editing) or as chosen (adding).
    #[prop(into)]
    kind: Signal<i32>,
) -> impl IntoView {
    let prefix = StoredValue::new(prefix);
    type Get = fn(&FieldDraft) -> &String;
    type Set = fn(&mut FieldDraft) -> &mut String;
    let input = move |field: &'static str, label: &'static str, get: Get, set: Set| {
        let id = prefix.with_value(|p| format!("{p}-{field}"));
        let error_id = format!("{id}-error");
        let numeric = field.starts_with("number_");
        let kind = if numeric { "number" } else { "text" };
        let control = if field == "options" {
            view! {
                <textarea id=id.clone() rows="4" aria-describedby=error_id.clone()
                    prop:value=move || draft.with(|d| get(d).clone())
                    on:input=move |e| draft.update(|d| *set(d) = event_target_value(&e))></textarea>
            }
            .into_any()
        } else {
            view! {
                <input id=id.clone() type=kind
                    step=numeric.then_some("any") aria-describedby=error_id.clone()
                    prop:value=move || draft.with(|d| get(d).clone())
                    on:input=move |e| draft.update(|d| *set(d) = event_target_value(&e))/>
            }
            .into_any()
        };
        view! {
            <label for=id>{label}</label>
            {control}
            <FieldError id=error_id message=message(local, error, field)/>
        }
    };
    let card_id = prefix.with_value(|p| format!("{p}-card"));
    view! {
        {input("display_name", "Display name", |d| &d.display_name, |d| &mut d.display_name)}
        {move || has_options(kind.get()).then(|| input("options", "Options (one per line)", |d| &d.options, |d| &mut d.options))}
        {move || (kind.get() == CustomFieldType::Number as i32).then(|| view! {
            {input("number_min", "Minimum (blank: none)", |d| &d.min, |d| &mut d.min)}
            {input("number_max", "Maximum (blank: none)", |d| &d.max, |d| &mut d.max)}
        })}
        <p class="check">
            <input type="checkbox" id=card_id.clone() prop:checked=move || draft.with(|d| d.show_on_card)
                on:change=move |e| draft.update(|d| d.show_on_card = event_target_checked(&e))/>
            <label for=card_id>"Show on board cards"</label>
        </p>
    }
}

/// The owners' form adding a field at the end.
#[component]
fn AddField(fields: Fields) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let blank = || FieldDraft { kind: CustomFieldType::Text as i32, ..Default::default() };
    let draft = RwSignal::new(blank());
    let local = RwSignal::new(Vec::<LocalError>::new());
    let add = Job::new(move |field: &v1::CustomField| {
        let (parent, field) = (fields.project.get_value(), field.clone());
        async move {
            let created = api.create_field(parent, field).await?;
            toasts.show(format!("Added “{}”.", created.display_name), None);
            draft.try_set(blank());
            fields.list.refetch();
            browser::focus("new-field-key");
            Ok::<_, ApiError>(())
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        add.clear();
        match draft.get_untracked().to_new_field() {
            Ok(field) => {
                local.set(Vec::new());
                add.dispatch(field);
            }
            Err(errors) => local.set(errors),
        }
    };
    let error = add.error();
    let kind = Signal::derive(move || draft.with(|d| d.kind));
    view! {
        <form class="stack narrow" on:submit=submit novalidate aria-label="Add a field">
            <FieldError id="new-field-error" message=general_message(error)/>
            <label for="new-field-key">"Key"</label>
            <input id="new-field-key" spellcheck="false" autocomplete="off" aria-describedby="new-field-key-hint new-field-key-error"
                prop:value=move || draft.with(|d| d.key.clone())
                on:input=move |e| draft.update(|d| d.key = event_target_value(&e))/>
            <p class="hint" id="new-field-key-hint">"Lowercase letters, digits and _; filters name it cf.<key>. It cannot change later."</p>
            <FieldError id="new-field-key-error" message=message(local, error, "key")/>
            <label for="new-field-type">"Type"</label>
            <select id="new-field-type" aria-describedby="new-field-type-error"
                on:change=move |e| draft.update(|d| d.kind = event_target_value(&e).parse().unwrap_or(0))>
                {TYPES.iter().map(|(t, label)| {
                    let value = *t as i32;
                    view! { <option value=value.to_string() prop:selected=move || kind.get() == value>{*label}</option> }
                }).collect_view()}
            </select>
            <FieldError id="new-field-type-error" message=message(local, error, "type")/>
            <DraftInputs draft local error prefix="new-field".to_owned() kind/>
            <button type="submit" disabled=move || add.pending().get()>"Add field"</button>
        </form>
    }
}
