//! The task's relations to other tasks, by type, each linking to the other
//! task; editors remove them and add more with a type and a task picker.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;
use tasktracker_proto::v1;

use super::{TaskContext, picker::TaskPicker};
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError, ApiResult},
        components::FieldError,
    },
    model::{
        names,
        relations::{TYPES, mark, type_label},
    },
};

type RelationList = Loader<ApiResult<Vec<v1::TaskRelation>>>;

#[component]
pub fn Relations() -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let context = expect_context::<TaskContext>();
    let relations: RelationList =
        Loader::new(move || async move { api.list_relations(context.name.get_value()).await });
    let remove = Job::new(move |relation: &v1::TaskRelation| {
        let (name, what) =
            (relation.name.clone(), format!("{} “{}”", type_label(relation.r#type), relation.task_title));
        async move {
            toasts.report(api.delete_relation(name).await, |_| format!("Removed: {what}."));
            relations.refetch();
            context.history.refetch();
        }
    });
    let groups = move || {
        let list = relations.get().and_then(Result::ok).unwrap_or_default();
        let groups = TYPES.iter().filter_map(|(kind, label)| {
            let items: Vec<_> = list.iter().filter(|r| r.r#type == *kind as i32).cloned().collect();
            (!items.is_empty()).then(|| {
                let items = items.into_iter().map(|relation| view! { <Relation relation remove/> }).collect_view();
                view! { <h3 class="small">{*label}</h3><ul class="relations">{items}</ul> }
            })
        });
        let groups = groups.collect_view();
        (groups, list.is_empty() && relations.get().is_some())
    };
    view! {
        <h2>"Relations"</h2>
        {move || relations.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
        {move || {
            let (groups, empty) = groups();
            view! { {groups} {empty.then_some(view! { <p class="muted">"No relations."</p> })} }
        }}
        <Show when=move || context.can_edit()>
            <AddRelation relations/>
        </Show>
    }
}

/// One relation: the other task, its mark, and (for editors) a remove button.
#[component]
fn Relation(relation: v1::TaskRelation, remove: Job<v1::TaskRelation>) -> impl IntoView {
    let context = expect_context::<TaskContext>();
    let label = format!("Remove relation: {} “{}”", type_label(relation.r#type).to_lowercase(), relation.task_title);
    let mark = mark(&relation).map(|mark| view! { " " <span class="label">{mark}</span> });
    let (path, title) = (names::task_path(&relation.task), relation.task_title.clone());
    let relation = StoredValue::new(relation);
    view! {
        <li>
            <a href=path>{title}</a>{mark}
            <Show when=move || context.can_edit()>
                " " <button type="button" class="ghost" aria-label=label.clone()
                    on:click=move |_| { remove.dispatch(relation.get_value()); }>"Remove"</button>
            </Show>
        </li>
    }
}

/// The editors' form adding a relation: its type, and the other task.
#[component]
fn AddRelation(relations: RelationList) -> impl IntoView {
    let api = expect_context::<Api>();
    let context = expect_context::<TaskContext>();
    let kind = RwSignal::new((v1::TaskRelationType::Blocks as i32).to_string());
    let text = RwSignal::new(String::new());
    let picked = RwSignal::new(None::<(String, String)>);
    let missing = RwSignal::new(false);
    let add = Job::new(move |task: &String| {
        let relation = v1::TaskRelation {
            r#type: kind.get_untracked().parse().unwrap_or(0),
            task: task.clone(),
            ..Default::default()
        };
        async move {
            let created = api.create_relation(context.name.get_value(), relation).await?;
            picked.try_set(None);
            text.try_set(String::new());
            relations.refetch();
            context.history.refetch();
            Ok::<_, ApiError>(created)
        }
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        add.clear();
        let task = picked.get_untracked().map(|(name, _)| name);
        missing.set(task.is_none());
        if let Some(task) = task {
            add.dispatch(task);
        }
    };
    let error = add.error();
    let message = Signal::derive(move || {
        let server = error.get().map(|e| e.field("task").unwrap_or_else(|| e.to_string()));
        server.or_else(|| missing.get().then(|| "Pick a task from the list first.".to_owned()))
    });
    view! {
        <form class="stack narrow" on:submit=submit novalidate aria-labelledby="add-relation-heading">
            <h3 id="add-relation-heading" class="small">"Add a relation"</h3>
            <label for="relation-type">"Type"</label>
            <select id="relation-type" bind:value=kind>
                {TYPES.iter().map(|(t, label)| view! { <option value=(*t as i32).to_string()>{*label}</option> }).collect_view()}
            </select>
            <TaskPicker text picked exclude=context.name/>
            <button type="submit" disabled=move || add.pending().get()>"Add relation"</button>
            <FieldError id="relation-error" message/>
        </form>
    }
}
