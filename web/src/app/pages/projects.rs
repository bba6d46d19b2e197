//! `/`: the caller's projects, and creating one.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::{
    app::{
        api::Api,
        browser,
        components::{Failure, FieldError},
        forms::{field_message, general_message},
    },
    model::names,
};

/// The project list page (signed in).
#[component]
pub fn ProjectsPage() -> impl IntoView {
    browser::set_title("Projects");
    view! {
        <section class="page">
            <h1>"Projects"</h1>
            <ProjectList/>
            <h2>"New project"</h2>
            <NewProject/>
        </section>
    }
}

/// The caller's projects, as cards.
#[component]
fn ProjectList() -> impl IntoView {
    let api = expect_context::<Api>();
    let projects = Loader::new(move || async move { api.list_projects(false).await });
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
