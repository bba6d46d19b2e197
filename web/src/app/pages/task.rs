//! `/projects/:project/tasks/:task`: edit every field (update mask + etag),
//! markdown description, comments, history, delete with undo.

use crate::app::router::{use_navigate, use_params_map};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role, TaskEventType};

use super::project::{priority_options, status_options};
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError},
        browser,
        components::{FieldError, Markdown, RequireAuth},
    },
    model::{
        dates,
        edit::{TaskDraft, priority_label, status_label},
        names,
    },
};

/// The task page.
#[component]
pub fn TaskPage() -> impl IntoView {
    view! { <RequireAuth><TaskDetail/></RequireAuth> }
}

fn event_label(kind: i32) -> &'static str {
    match TaskEventType::try_from(kind).unwrap_or_default() {
        TaskEventType::Created => "created the task",
        TaskEventType::Updated => "changed",
        TaskEventType::Deleted => "deleted the task",
        TaskEventType::Undeleted => "restored the task",
        TaskEventType::Moved => "moved the task",
        TaskEventType::Unspecified => "changed the task",
    }
}

#[component]
fn TaskDetail() -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let navigate = use_navigate();
    let params = use_params_map();
    let (project, id) =
        params.with_untracked(|p| (p.get("project").unwrap_or_default(), p.get("task").unwrap_or_default()));
    let project_name = format!("projects/{project}");
    let name = StoredValue::new(format!("{project_name}/tasks/{id}"));
    let project_path = names::project_path(&project_name);

    let task = RwSignal::new(None::<v1::Task>);
    let draft = RwSignal::new(TaskDraft::default());
    let role = RwSignal::new(0);
    let members = RwSignal::new(Vec::<v1::Member>::new());
    let comments = RwSignal::new(Vec::<v1::Comment>::new());
    let activities = RwSignal::new(Vec::<v1::TaskActivity>::new());
    let load_error = RwSignal::new(None::<ApiError>);
    let save_error = RwSignal::new(None::<ApiError>);
    let local_errors = RwSignal::new(Vec::<(&'static str, String)>::new());
    let conflict = RwSignal::new(false);
    let saving = RwSignal::new(false);

    let person = move |user: &str| {
        members
            .with(|m| m.iter().find(|m| m.user == user).map(|m| m.display_name.clone()))
            .unwrap_or_else(|| user.to_owned())
    };

    let load_history = move || {
        leptos::task::spawn_local(async move {
            if let Ok(list) = api.list_activities(name.get_value()).await {
                activities.try_set(list);
            }
        });
    };
    let load_task = move || {
        leptos::task::spawn_local(async move {
            match api.get_task(name.get_value()).await {
                Ok(loaded) => {
                    browser::set_title(&format!("{} · Tasktracker", loaded.title));
                    draft.try_set(TaskDraft::of(&loaded));
                    task.try_set(Some(loaded));
                    conflict.try_set(false);
                    save_error.try_set(None);
                }
                Err(e) => {
                    load_error.try_set(Some(e));
                }
            }
        });
        load_history();
    };
    load_task();
    {
        let project_name = project_name.clone();
        leptos::task::spawn_local(async move {
            if let Ok(project) = api.get_project(project_name.clone()).await {
                role.try_set(project.caller_role);
            }
            if let Ok(list) = api.list_members(project_name).await {
                members.try_set(list);
            }
            if let Ok(list) = api.list_comments(name.get_value()).await {
                comments.try_set(list);
            }
        });
    }
    let can_edit = move || role.get() >= Role::Editor as i32;

    let field_error = move |field: &'static str| {
        Signal::derive(move || {
            local_errors
                .with(|errors| errors.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone()))
                .or_else(|| save_error.with(|e| e.as_ref().and_then(|e| e.field(field))))
        })
    };

    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(original) = task.get_untracked() else { return };
        let current = draft.get_untracked();
        let (update, mask) = match current.to_update(&original) {
            Ok(update) => update,
            Err(errors) => {
                local_errors.set(errors);
                return;
            }
        };
        local_errors.set(Vec::new());
        save_error.set(None);
        if mask.is_empty() {
            toasts.show("Nothing to save.", None);
            return;
        }
        // Optimistic: show the edit at once, roll back if the server refuses.
        let mut optimistic = original.clone();
        for field in &mask {
            match field.as_str() {
                "title" => optimistic.title = update.title.clone(),
                "description" => optimistic.description = update.description.clone(),
                "status" => optimistic.status = update.status,
                "priority" => optimistic.priority = update.priority,
                "assignees" => optimistic.assignees = update.assignees.clone(),
                "labels" => optimistic.labels = update.labels.clone(),
                "start_time" => optimistic.start_time = update.start_time,
                "due_time" => optimistic.due_time = update.due_time,
                _ => {}
            }
        }
        task.set(Some(optimistic));
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = api.update_task(update, mask).await;
            saving.try_set(false);
            match result {
                Ok(saved) => {
                    draft.try_set(TaskDraft::of(&saved));
                    task.try_set(Some(saved));
                    toasts.show("Saved.", None);
                    load_history();
                }
                Err(e) => {
                    task.try_set(Some(original));
                    if e == ApiError::Conflict {
                        conflict.try_set(true);
                    } else {
                        save_error.try_set(Some(e));
                    }
                }
            }
        });
    };

    let delete = {
        let navigate = navigate.clone();
        let project_path = project_path.clone();
        move |_| {
            let Some(current) = task.get_untracked() else { return };
            let navigate = navigate.clone();
            let project_path = project_path.clone();
            leptos::task::spawn_local(async move {
                match api.delete_task(current.name.clone(), current.etag.clone()).await {
                    Ok(deleted) => {
                        toasts.show(format!("Deleted “{}”.", deleted.title), Some(deleted.name));
                        navigate(&project_path, Default::default());
                    }
                    Err(ApiError::Conflict) => {
                        conflict.try_set(true);
                    }
                    Err(e) => {
                        save_error.try_set(Some(e));
                    }
                }
            });
        }
    };

    let comment_body = RwSignal::new(String::new());
    let comment_error = RwSignal::new(None::<ApiError>);
    let add_comment = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let body = comment_body.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            match api.create_comment(name.get_value(), body).await {
                Ok(comment) => {
                    comment_body.try_set(String::new());
                    comment_error.try_set(None);
                    comments.try_update(|list| list.push(comment));
                }
                Err(e) => {
                    comment_error.try_set(Some(e));
                }
            }
        });
    };

    let text_input = move |field: fn(&mut TaskDraft) -> &mut String| {
        move |event: leptos::ev::Event| {
            let value = event_target_value(&event);
            draft.update(|d| *field(d) = value);
        }
    };

    view! {
        <section class="page">
            <p><a href=project_path.clone()>"← Back to the project"</a></p>
            {move || load_error.get().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <Show when=move || conflict.get()>
                <div class="banner conflict" role="alert">
                    <p>"This task was changed by someone else since you opened it, so your changes were not saved."</p>
                    <button type="button" on:click=move |_| load_task()>"Reload the latest version"</button>
                </div>
            </Show>
            <Show when=move || task.with(Option::is_some) fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                <h1 id="task-heading">{move || task.get().map(|t| t.title).unwrap_or_default()}</h1>
                <p class="muted">
                    {move || task.get().map(|t| format!(
                        "{} · {} · created {} by {}",
                        status_label(t.status),
                        priority_label(t.priority),
                        t.create_time.as_ref().map(dates::to_day_time).unwrap_or_default(),
                        person(&t.creator),
                    ))}
                </p>
                <form class="task-form stack" on:submit=save novalidate aria-labelledby="task-heading">
                    <FieldError id="task-form-error" message=Signal::derive(move || {
                        save_error.get().filter(|e| !matches!(e, ApiError::Invalid(_, f) if !f.is_empty())).map(|e| e.to_string())
                    })/>
                    <label for="task-title">"Title"</label>
                    <input id="task-title" maxlength="500" prop:value=move || draft.with(|d| d.title.clone())
                        on:input=text_input(|d| &mut d.title) disabled=move || !can_edit()
                        aria-describedby="title-error"/>
                    <FieldError id="title-error" message=field_error("title")/>
                    <div class="row">
                        <div class="field">
                            <label for="task-status">"Status"</label>
                            <select id="task-status" disabled=move || !can_edit()
                                on:change=move |e| { let v = event_target_value(&e).parse().unwrap_or(1); draft.update(|d| d.status = v); }>
                                {status_options(move || draft.with(|d| d.status))}
                            </select>
                        </div>
                        <div class="field">
                            <label for="task-priority">"Priority"</label>
                            <select id="task-priority" disabled=move || !can_edit()
                                on:change=move |e| { let v = event_target_value(&e).parse().unwrap_or(0); draft.update(|d| d.priority = v); }>
                                {priority_options(move || draft.with(|d| d.priority))}
                            </select>
                        </div>
                        <div class="field">
                            <label for="task-start">"Start"</label>
                            <input id="task-start" type="date" disabled=move || !can_edit()
                                prop:value=move || draft.with(|d| d.start_day.clone())
                                on:change=text_input(|d| &mut d.start_day) aria-describedby="start_time-error"/>
                            <FieldError id="start_time-error" message=field_error("start_time")/>
                        </div>
                        <div class="field">
                            <label for="task-due">"Due"</label>
                            <input id="task-due" type="date" disabled=move || !can_edit()
                                prop:value=move || draft.with(|d| d.due_day.clone())
                                on:change=text_input(|d| &mut d.due_day) aria-describedby="due_time-error"/>
                            <FieldError id="due_time-error" message=field_error("due_time")/>
                        </div>
                    </div>
                    <label for="task-labels">"Labels (comma separated)"</label>
                    <input id="task-labels" disabled=move || !can_edit()
                        prop:value=move || draft.with(|d| d.labels.clone())
                        on:input=text_input(|d| &mut d.labels) aria-describedby="labels-error"/>
                    <FieldError id="labels-error" message=field_error("labels")/>
                    <fieldset disabled=move || !can_edit()>
                        <legend>"Assignees"</legend>
                        <For each=move || members.get() key=|m| m.user.clone() let:member>
                            {
                                let user = member.user.clone();
                                let checked_user = user.clone();
                                view! {
                                    <label class="check">
                                        <input type="checkbox"
                                            prop:checked=move || draft.with(|d| d.assignees.contains(&checked_user))
                                            on:change=move |e| {
                                                let on = event_target_checked(&e);
                                                let user = user.clone();
                                                draft.update(|d| {
                                                    d.assignees.retain(|a| *a != user);
                                                    if on { d.assignees.push(user); }
                                                });
                                            }/>
                                        {member.display_name.clone()}
                                    </label>
                                }
                            }
                        </For>
                    </fieldset>
                    <FieldError id="assignees-error" message=field_error("assignees")/>
                    <label for="task-description">"Description (Markdown)"</label>
                    <textarea id="task-description" rows="8" disabled=move || !can_edit()
                        prop:value=move || draft.with(|d| d.description.clone())
                        on:input=text_input(|d| &mut d.description) aria-describedby="description-error"></textarea>
                    <FieldError id="description-error" message=field_error("description")/>
                    <h2 class="small">"Preview"</h2>
                    <Markdown source=Signal::derive(move || draft.with(|d| d.description.clone()))/>
                    {
                        let delete = delete.clone();
                        view! {
                            <Show when=can_edit>
                                <div class="row">
                                    <button type="submit" disabled=move || saving.get()>"Save changes"</button>
                                    <button type="button" class="danger" on:click=delete.clone()>"Delete task"</button>
                                </div>
                            </Show>
                        }
                    }
                </form>
            </Show>

            <h2>"Comments"</h2>
            <ol class="comments">
                <For each=move || comments.get() key=|c| c.name.clone() let:comment>
                    <li>
                        <p class="muted">
                            <strong>{person(&comment.author)}</strong>
                            " · " {comment.create_time.as_ref().map(dates::to_day_time)}
                        </p>
                        <Markdown source=Signal::derive(move || comment.body.clone())/>
                    </li>
                </For>
            </ol>
            <form class="stack" on:submit=add_comment novalidate>
                <label for="comment-body">"Add a comment (Markdown)"</label>
                <textarea id="comment-body" rows="3" bind:value=comment_body aria-describedby="body-error"></textarea>
                <FieldError id="body-error" message=Signal::derive(move || comment_error.get().map(|e| e.field("body").unwrap_or_else(|| e.to_string())))/>
                <button type="submit">"Comment"</button>
            </form>

            <h2>"History"</h2>
            <ol class="history">
                <For each=move || activities.get() key=|a| a.name.clone() let:activity>
                    <li>
                        <strong>{person(&activity.actor)}</strong> " " {event_label(activity.r#type)}
                        " · " <span class="muted">{activity.time.as_ref().map(dates::to_day_time)}</span>
                        <ul>
                            {activity.changes.iter().map(|c| view! {
                                <li><code>{c.field.clone()}</code> ": " {c.old_value.clone()} " → " {c.new_value.clone()}</li>
                            }).collect_view()}
                        </ul>
                    </li>
                </For>
            </ol>
        </section>
    }
}
