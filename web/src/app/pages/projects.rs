//! `/`: the caller's projects, invitations to others (accepted or declined
//! here), and creating one.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::{
    app::{
        ToastList,
        api::{Api, ApiResult},
        browser,
        components::{Failure, FieldError},
        forms::{ROLES, field_message, general_message, label_of},
    },
    model::names,
};

/// The project list page (signed in).
#[component]
pub fn ProjectsPage() -> impl IntoView {
    browser::set_title("Projects");
    let api = expect_context::<Api>();
    let projects: ProjectLoader = Loader::new(move || async move { api.list_projects(false).await });
    view! {
        <section class="page">
            <h1>"Projects"</h1>
            <MyInvitations projects/>
            <ProjectList projects/>
            <h2>"New project"</h2>
            <NewProject/>
        </section>
    }
}

type ProjectLoader = Loader<ApiResult<Vec<tasktracker_proto::v1::Project>>>;

/// Invitations addressed to the caller, each accepted (the project then
/// joins the list) or declined; nothing shows when there are none.
#[component]
fn MyInvitations(projects: ProjectLoader) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let invitations = Loader::new(move || async move { api.list_my_invitations().await });
    let answer = Job::new(move |(name, accept): &(String, bool)| {
        let (name, accept) = (name.clone(), *accept);
        async move {
            if accept {
                let result = api.accept_invitation(name).await;
                toasts.report(result, |_| "Joined the project.".to_owned());
                projects.refetch();
            } else {
                let result = api.decline_invitation(name).await;
                toasts.report(result, |_| "Declined the invitation.".to_owned());
            }
            invitations.refetch();
        }
    });
    let list = move || invitations.get().and_then(Result::ok).unwrap_or_default();
    view! {
        {move || { let list = list(); (!list.is_empty()).then(move || view! {
            <section aria-labelledby="invitations-heading" class="invitations">
                <h2 id="invitations-heading">"Invitations"</h2>
                <ul class="cards">
                    {list.into_iter().map(|invitation| view! {
                        <li class="card">
                            <p>
                                <strong>{invitation.project_title.clone()}</strong>
                                {format!(
                                    " — {} invited you as {}.",
                                    invitation.inviter_display_name,
                                    label_of(&ROLES, invitation.role).to_lowercase(),
                                )}
                            </p>
                            {
                                let (accept_name, decline_name) = (invitation.name.clone(), invitation.name.clone());
                                let title = invitation.project_title.clone();
                                view! {
                                    <button type="button" aria-label=format!("Accept the invitation to {title}")
                                        on:click=move |_| answer.dispatch((accept_name.clone(), true))>"Accept"</button>
                                    " "
                                    <button type="button" class="ghost" aria-label=format!("Decline the invitation to {title}")
                                        on:click=move |_| answer.dispatch((decline_name.clone(), false))>"Decline"</button>
                                }
                            }
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })}}
    }
}

/// The caller's projects, as cards.
#[component]
fn ProjectList(projects: ProjectLoader) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p aria-busy="true">"Loading projects…"</p> }>
            <Failure>
                {move || projects.get().map(|result| result.map(|list| if list.is_empty() {
                    view! { <p>"No projects yet. Create the first one below."</p> }.into_any()
                } else {
                    view! {
                        <ul class="cards projects">
                            {list.into_iter().map(|p| view! {
                                <li class="card">
                                    <a href=names::project_path(&p.name) data-nav="">{p.title.clone()}</a>
                                    <p class="muted">{p.description.clone()}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }))}
            </Failure>
        </Suspense>
    }
}

/// The form creating a project, which then opens.
#[component]
fn NewProject() -> impl IntoView {
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let create = Job::new(move |_: &()| {
        let navigate = navigate.clone();
        let (title, description) = (title.get_untracked().trim().to_owned(), description.get_untracked());
        async move {
            let project = api.create_project(title, description).await?;
            navigate(&names::project_path(&project.name), Default::default());
            Ok(())
        }
    });
    let error = create.error();
    view! {
        <form on:submit=move |event| { event.prevent_default(); create.dispatch(()); } class="stack narrow" novalidate>
            <FieldError id="project-error" message=general_message(error)/>
            <label for="project-title">"Title"</label>
            <input id="project-title" required maxlength="200" bind:value=title aria-describedby="title-error"/>
            <FieldError id="title-error" message=field_message(error, "title")/>
            <label for="project-description">"Description (optional)"</label>
            <textarea id="project-description" rows="2" bind:value=description></textarea>
            <button type="submit">"Create project"</button>
        </form>
    }
}
