//! `/`: the caller's projects, and creating one.

use crate::app::router::use_navigate;
use leptos::prelude::*;

use super::auth::{field_message, general_message};
use crate::{
    app::{
        api::{Api, ApiError},
        browser,
        components::{FieldError, RequireAuth},
    },
    model::names,
};

/// The project list page.
#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! { <RequireAuth><Projects/></RequireAuth> }
}

#[component]
fn Projects() -> impl IntoView {
    browser::set_title("Projects · Tasktracker");
    let api = expect_context::<Api>();
    let navigate = use_navigate();
    let projects = RwSignal::new(None::<Result<Vec<_>, ApiError>>);
    leptos::task::spawn_local(async move {
        let result = api.list_projects(false).await;
        projects.try_set(Some(result));
    });
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api.create_project(title.get_untracked().trim().to_owned(), description.get_untracked()).await {
                Ok(project) => navigate(&names::project_path(&project.name), Default::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="page">
            <h1>"Projects"</h1>
            {move || match projects.get() {
                None => view! { <p aria-busy="true">"Loading projects…"</p> }.into_any(),
                Some(Err(e)) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p>"No projects yet. Create the first one below."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="cards projects">
                        {list.into_iter().map(|p| view! {
                            <li class="card">
                                <a href=names::project_path(&p.name) data-nav="">{p.title.clone()}</a>
                                <p class="muted">{p.description.clone()}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <h2>"New project"</h2>
            <form on:submit=create class="stack narrow" novalidate>
                <FieldError id="project-error" message=general_message(error)/>
                <label for="project-title">"Title"</label>
                <input id="project-title" required maxlength="200" bind:value=title aria-describedby="title-error"/>
                <FieldError id="title-error" message=field_message(error, "title")/>
                <label for="project-description">"Description (optional)"</label>
                <textarea id="project-description" rows="2" bind:value=description></textarea>
                <button type="submit">"Create project"</button>
            </form>
        </section>
    }
}
