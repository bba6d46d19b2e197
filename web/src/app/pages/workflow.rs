//! `/projects/:project/workflow`: the project's workflow states (the board's
//! columns), their WIP limits and the rules owners switch on (WIP limits
//! refuse moves, open blockers stop completion). Everyone sees them; owners
//! manage them.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_params_map;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role, StateCategory};

use crate::{
    app::{
        ToastList,
        api::{Api, ApiError, ApiResult},
        browser,
        components::FieldError,
        forms::{field_message, general_message},
    },
    model::names,
};

/// The categories a new state can have, in board order, with their labels.
const CATEGORIES: [(StateCategory, &str); 5] = [
    (StateCategory::Backlog, "Backlog"),
    (StateCategory::Unstarted, "Not started"),
    (StateCategory::Started, "Started"),
    (StateCategory::Completed, "Completed"),
    (StateCategory::Canceled, "Canceled"),
];

type StateList = Loader<ApiResult<Vec<v1::WorkflowState>>>;

/// What the rows of the page share.
#[derive(Clone, Copy)]
struct Workflow {
    project: StoredValue<String>,
    states: StateList,
    is_owner: Signal<bool>,
}

impl Workflow {
    /// The states, once loaded.
    fn list(&self) -> Vec<v1::WorkflowState> {
        self.states.get().and_then(Result::ok).unwrap_or_default()
    }
}

/// A change the page sends: the future of its call.
type Call<T> = std::pin::Pin<Box<dyn Future<Output = ApiResult<T>>>>;

/// An action that runs a change, shows its error as a toast, and reloads
/// the states.
fn change<I, T>(workflow: Workflow, call: impl Fn(Api, I) -> Call<T> + 'static) -> Job<I>
where
    I: Clone + Send + Sync + 'static,
    T: 'static,
{
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    Job::new(move |input: &I| {
        let done = call(api, input.clone());
        async move {
            if let Err(error) = done.await {
                toasts.show(error.to_string(), None);
            }
            workflow.states.refetch();
        }
    })
}

/// The workflow page (signed in).
#[component]
pub fn WorkflowPage() -> impl IntoView {
    browser::set_title("Workflow");
    let api = expect_context::<Api>();
    let params = use_params_map();
    let project_name =
        StoredValue::new(format!("projects/{}", params.with_untracked(|p| p.get("project").unwrap_or_default())));
    let project = Loader::new(move || async move { api.get_project(project_name.get_value()).await });
    let states: StateList = Loader::new(move || async move { api.list_states(project_name.get_value(), true).await });
    let is_owner = Signal::derive(move || {
        project.with(|p| p.and_then(|p| p.as_ref().ok()).is_some_and(|p| p.caller_role == Role::Owner as i32))
    });
    let workflow = Workflow { project: project_name, states, is_owner };
    let load_error = move || {
        let error = states.get().and_then(Result::err).or_else(|| project.get().and_then(Result::err));
        error.map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })
    };

    view! {
        <section class="page">
            <p><a href=names::project_path(&project_name.get_value())>"← Back to the project"</a></p>
            <h1>"Workflow"</h1>
            {load_error}
            <p class="hint">"Each state is a column of the board, in this order. Its category sets the task's status."</p>
            <table class="states">
                <thead><tr>
                    <th scope="col">"State"</th><th scope="col">"Category"</th><th scope="col">"WIP limit"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    <For each=move || workflow.list() key=|s| (s.name.clone(), s.etag.clone()) let:state>
                        <StateRow workflow state/>
                    </For>
                </tbody>
            </table>
            {move || (is_owner.get()).then(|| view! {
                <ProjectSwitch project id="enforce-wip" label="Refuse moves into a state at its WIP limit"
                    field="enforce_wip_limits" get=|p| p.enforce_wip_limits set=|p, on| p.enforce_wip_limits = on
                    said=|on| if on { "WIP limits are enforced." } else { "WIP limits are shown only." }/>
                <ProjectSwitch project id="require-blockers" label="Open blockers stop completion"
                    field="require_blockers_done" get=|p| p.require_blockers_done
                    set=|p, on| p.require_blockers_done = on
                    said=|on| if on {
                        "Tasks with open blockers cannot be completed."
                    } else {
                        "Blockers no longer stop completion."
                    }/>
                <ProjectSwitch project id="require-2fa" label="Members need two-factor authentication"
                    field="require_two_factor" get=|p| p.require_two_factor
                    set=|p, on| p.require_two_factor = on
                    said=|on| if on {
                        "Members without two-factor authentication are now refused."
                    } else {
                        "Two-factor authentication is no longer required."
                    }/>
                <h2>"Add a state"</h2>
                <AddState workflow/>
            })}
        </section>
    }
}

/// One state: owners rename it, set its colour and WIP limit, reorder,
/// archive or delete it (its tasks moving to another state).
#[component]
fn StateRow(workflow: Workflow, state: v1::WorkflowState) -> impl IntoView {
    let id = names::id(&state.name).to_owned();
    let display_name = RwSignal::new(state.display_name.clone());
    let color = RwSignal::new(state.color.clone());
    let limit = RwSignal::new(state.wip_limit.map(|l| l.to_string()).unwrap_or_default());
    let target = RwSignal::new(String::new());
    let original = StoredValue::new(state.clone());
    let save = change(workflow, move |api, mut state: v1::WorkflowState| {
        state.display_name = display_name.get_untracked().trim().to_owned();
        state.color = color.get_untracked();
        state.wip_limit = limit.get_untracked().trim().parse().ok();
        let mask = ["display_name", "color", "wip_limit"].map(String::from).to_vec();
        Box::pin(async move { api.update_state(state, mask).await })
    });
    let archive = change(workflow, |api, mut state: v1::WorkflowState| {
        state.archived = !state.archived;
        Box::pin(async move { api.update_state(state, vec!["archived".into()]).await })
    });
    let reorder = change(workflow, |api, (name, after): (String, String)| {
        Box::pin(async move { api.move_state(name, after).await })
    });
    let delete = change(workflow, move |api, state: v1::WorkflowState| {
        Box::pin(async move { api.delete_state(state.name, target.get_untracked()).await })
    });
    // Up: after the state two above (or first); down: after the one below.
    let move_to = move |offset: isize| {
        let list = workflow.states.get_untracked().and_then(Result::ok).unwrap_or_default();
        let index = original.with_value(|o| list.iter().position(|s| s.name == o.name));
        let Some(position) = index.and_then(|i| i.checked_add_signed(offset)).filter(|p| *p < list.len()) else {
            return;
        };
        let after = if offset < 0 {
            position.checked_sub(1).map(|p| list[p].name.clone())
        } else {
            Some(list[position].name.clone())
        };
        reorder.dispatch((original.with_value(|o| o.name.clone()), after.unwrap_or_default()));
    };
    let others = move || {
        let name = original.with_value(|o| o.name.clone());
        workflow.list().into_iter().filter(move |s| s.name != name && !s.archived)
    };
    let category = CATEGORIES.iter().find(|(c, _)| *c as i32 == state.category).map_or("—", |(_, label)| label);
    let label = move |what: &str| format!("{what} of {}", original.with_value(|o| o.display_name.clone()));
    view! {
        <tr class:archived=state.archived>
            <td>
                <label class="sr-only" for=format!("state-name-{id}")>{label("Name")}</label>
                <input id=format!("state-name-{id}") bind:value=display_name disabled=move || !workflow.is_owner.get()/>
                <label class="sr-only" for=format!("state-color-{id}")>{label("Colour")}</label>
                <input id=format!("state-color-{id}") type="color" bind:value=color disabled=move || !workflow.is_owner.get()/>
                {state.archived.then_some(view! { <span class="label">"Archived"</span> })}
            </td>
            <td>{category}</td>
            <td>
                <label class="sr-only" for=format!("state-limit-{id}")>{label("WIP limit")}</label>
                <input id=format!("state-limit-{id}") type="number" min="1" max="10000" inputmode="numeric"
                    placeholder="None" bind:value=limit disabled=move || !workflow.is_owner.get()/>
            </td>
            <td class="actions">
                {move || (workflow.is_owner.get()).then(|| view! {
                    <button type="button" on:click=move |_| { save.dispatch(original.get_value()); }>"Save"</button>
                    <button type="button" class="ghost" aria-label=label("Move up") on:click=move |_| move_to(-1)>"↑"</button>
                    <button type="button" class="ghost" aria-label=label("Move down") on:click=move |_| move_to(1)>"↓"</button>
                    <button type="button" class="ghost" on:click=move |_| { archive.dispatch(original.get_value()); }>
                        {if original.with_value(|o| o.archived) { "Unarchive" } else { "Archive" }}
                    </button>
                    <label class="sr-only" for=format!("state-target-{id}")>{label("State receiving the tasks")}</label>
                    <select id=format!("state-target-{id}") bind:value=target>
                        <option value="">"Move its tasks to…"</option>
                        {move || others().map(|s| view! { <option value=s.name>{s.display_name}</option> }).collect_view()}
                    </select>
                    <button type="button" class="danger" on:click=move |_| { delete.dispatch(original.get_value()); }>"Delete"</button>
                })}
            </td>
        </tr>
    }
}

/// A boolean setting of the project that owners switch, saved alone by its
/// update mask `field`, with the toast `said` of its new value.
#[component]
fn ProjectSwitch(
    project: Loader<ApiResult<v1::Project>>,
    id: &'static str,
    label: &'static str,
    field: &'static str,
    get: fn(&v1::Project) -> bool,
    set: fn(&mut v1::Project, bool),
    said: fn(bool) -> &'static str,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let toggle = Job::new(move |on: &bool| {
        let mut update = project.get_untracked().and_then(Result::ok).unwrap_or_default();
        set(&mut update, *on);
        async move {
            let result = api.update_project(update, vec![field.into()]).await;
            toasts.report(result, |p| said(get(&p)).to_owned());
            project.refetch();
        }
    });
    let on = move || project.with(|p| p.and_then(|p| p.as_ref().ok()).is_some_and(get));
    view! {
        <p class="check">
            <input id=id type="checkbox" prop:checked=on on:change=move |e| { toggle.dispatch(event_target_checked(&e)); }/>
            <label for=id>{label}</label>
        </p>
    }
}

/// The owners' form adding a state at the end of the board.
#[component]
fn AddState(workflow: Workflow) -> impl IntoView {
    let api = expect_context::<Api>();
    let display_name = RwSignal::new(String::new());
    let color = RwSignal::new("#6b7280".to_owned());
    let category = RwSignal::new((StateCategory::Started as i32).to_string());
    let add = Job::new(move |_: &()| {
        let state = v1::WorkflowState {
            display_name: display_name.get_untracked().trim().to_owned(),
            color: color.get_untracked(),
            category: category.get_untracked().parse().unwrap_or(0),
            ..Default::default()
        };
        async move {
            let created = api.create_state(workflow.project.get_value(), state).await?;
            display_name.try_set(String::new());
            workflow.states.refetch();
            Ok::<_, ApiError>(created)
        }
    });
    let error = add.error();
    view! {
        <form class="stack narrow" on:submit=move |event| { event.prevent_default(); add.dispatch(()); } novalidate>
            <FieldError id="add-state-error" message=general_message(error)/>
            <label for="new-state-name">"Name"</label>
            <input id="new-state-name" bind:value=display_name aria-describedby="display_name-error"/>
            <FieldError id="display_name-error" message=field_message(error, "display_name")/>
            <label for="new-state-color">"Colour"</label>
            <input id="new-state-color" type="color" bind:value=color/>
            <label for="new-state-category">"Category"</label>
            <select id="new-state-category" bind:value=category>
                {CATEGORIES.iter().map(|(c, label)| {
                    let value = *c as i32;
                    view! { <option value=value.to_string() selected=*c == StateCategory::Started>{*label}</option> }
                }).collect_view()}
            </select>
            <button type="submit">"Add state"</button>
        </form>
    }
}
