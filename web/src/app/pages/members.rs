//! `/projects/:project/members`: who is in the project; owners manage roles.

use crate::app::router::use_params_map;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, Role};

use super::auth::{field_message, general_message};
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError},
        browser,
        components::{FieldError, RequireAuth},
    },
    model::names,
};

/// The members page.
#[component]
pub fn MembersPage() -> impl IntoView {
    view! { <RequireAuth><Members/></RequireAuth> }
}

fn role_label(role: i32) -> &'static str {
    match Role::try_from(role).unwrap_or(Role::Unspecified) {
        Role::Owner => "Owner",
        Role::Editor => "Editor",
        Role::Viewer => "Viewer",
        Role::Unspecified => "—",
    }
}

const ROLES: [Role; 3] = [Role::Viewer, Role::Editor, Role::Owner];

#[component]
fn Members() -> impl IntoView {
    browser::set_title("Members · Tasktracker");
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let params = use_params_map();
    let project_name =
        StoredValue::new(format!("projects/{}", params.with_untracked(|p| p.get("project").unwrap_or_default())));
    let project = RwSignal::new(None::<v1::Project>);
    let members = RwSignal::new(Vec::<v1::Member>::new());
    let error = RwSignal::new(None::<ApiError>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match api.list_members(project_name.get_value()).await {
                Ok(list) => {
                    members.try_set(list);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    leptos::task::spawn_local(async move {
        if let Ok(p) = api.get_project(project_name.get_value()).await {
            project.try_set(Some(p));
        }
    });
    reload();
    let is_owner = move || project.with(|p| p.as_ref().is_some_and(|p| p.caller_role == Role::Owner as i32));

    let email = RwSignal::new(String::new());
    let role = RwSignal::new((Role::Editor as i32).to_string());
    let add_error = RwSignal::new(None::<ApiError>);
    let add = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let role = Role::try_from(role.get_untracked().parse::<i32>().unwrap_or(2)).unwrap_or(Role::Editor);
        leptos::task::spawn_local(async move {
            match api.add_member(project_name.get_value(), email.get_untracked().trim().to_owned(), role).await {
                Ok(member) => {
                    toasts.show(format!("Added {}.", member.display_name), None);
                    email.try_set(String::new());
                    add_error.try_set(None);
                    reload();
                }
                Err(e) => {
                    add_error.try_set(Some(e));
                }
            }
        });
    };
    let change_role = move |member: String, role: i32| {
        leptos::task::spawn_local(async move {
            match api.update_member_role(member, role).await {
                Ok(m) => toasts.show(format!("{} is now {}.", m.display_name, role_label(m.role)), None),
                Err(e) => toasts.show(e.to_string(), None),
            }
            reload();
        });
    };
    let remove = move |member: String| {
        leptos::task::spawn_local(async move {
            if let Err(e) = api.remove_member(member).await {
                toasts.show(e.to_string(), None);
            }
            reload();
        });
    };

    view! {
        <section class="page">
            <p><a href=names::project_path(&project_name.get_value())>"← Back to the project"</a></p>
            <h1>{move || format!("Members of {}", project.get().map(|p| p.title).unwrap_or_default())}</h1>
            {move || error.get().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <table class="members">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>
                    <For each=move || members.get() key=|m| (m.name.clone(), m.role) let:member>
                        {
                            let name = member.name.clone();
                            let remove_name = member.name.clone();
                            let select_id = format!("role-{}", names::id(&member.name));
                            view! {
                                <tr>
                                    <td>{member.display_name.clone()}</td>
                                    <td>{member.email.clone()}</td>
                                    <td>
                                        <Show when=is_owner fallback={let r = member.role; move || role_label(r)}>
                                            <label class="sr-only" for=select_id.clone()>{format!("Role of {}", member.display_name)}</label>
                                            <select id=select_id.clone() on:change={
                                                let name = name.clone();
                                                move |e| change_role(name.clone(), event_target_value(&e).parse().unwrap_or(0))
                                            }>
                                                {ROLES.iter().map(|r| {
                                                    let r = *r as i32;
                                                    view! { <option value=r.to_string() selected=member.role == r>{role_label(r)}</option> }
                                                }).collect_view()}
                                            </select>
                                        </Show>
                                    </td>
                                    <td>
                                        <Show when=is_owner>
                                            <button type="button" class="ghost" on:click={
                                                let remove_name = remove_name.clone();
                                                move |_| remove(remove_name.clone())
                                            }>"Remove"</button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=is_owner>
                <h2>"Add a member"</h2>
                <form class="stack narrow" on:submit=add novalidate>
                    <FieldError id="add-member-error" message=general_message(add_error)/>
                    <label for="member-email">"Email of an existing account"</label>
                    <input id="member-email" type="email" bind:value=email aria-describedby="email-error"/>
                    <FieldError id="email-error" message=field_message(add_error, "email")/>
                    <label for="member-role">"Role"</label>
                    <select id="member-role" bind:value=role>
                        {ROLES.iter().map(|r| {
                            let r = *r as i32;
                            view! { <option value=r.to_string() selected=r == Role::Editor as i32>{role_label(r)}</option> }
                        }).collect_view()}
                    </select>
                    <button type="submit">"Add member"</button>
                </form>
            </Show>
        </section>
    }
}
