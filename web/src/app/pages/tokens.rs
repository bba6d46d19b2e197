//! `/tokens`: API tokens for services — create (secret shown once), list, revoke.

use leptos::prelude::*;
use tasktracker_proto::v1::{self, ApiTokenScope};

use super::auth::{field_message, general_message};
use crate::{
    app::{
        ToastList,
        api::{Api, ApiError},
        browser,
        components::{FieldError, RequireAuth},
    },
    model::dates,
};

/// The API tokens page.
#[component]
pub fn TokensPage() -> impl IntoView {
    view! { <RequireAuth><Tokens/></RequireAuth> }
}

fn scope_label(scope: i32) -> &'static str {
    match ApiTokenScope::try_from(scope).unwrap_or(ApiTokenScope::Unspecified) {
        ApiTokenScope::Read => "Read",
        ApiTokenScope::Write => "Write",
        ApiTokenScope::Admin => "Admin",
        ApiTokenScope::Unspecified => "—",
    }
}

#[component]
fn Tokens() -> impl IntoView {
    browser::set_title("API tokens · Tasktracker");
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let tokens = RwSignal::new(Vec::<v1::ApiToken>::new());
    let projects = RwSignal::new(Vec::<v1::Project>::new());
    let error = RwSignal::new(None::<ApiError>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match api.list_api_tokens().await {
                Ok(list) => {
                    tokens.try_set(list);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    reload();
    leptos::task::spawn_local(async move {
        if let Ok(list) = api.list_projects(false).await {
            projects.try_set(list);
        }
    });

    let display_name = RwSignal::new(String::new());
    let scope = RwSignal::new((ApiTokenScope::Read as i32).to_string());
    let project = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("90"));
    let secret = RwSignal::new(None::<String>);
    let create_error = RwSignal::new(None::<ApiError>);
    let create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let days: i64 = days.get_untracked().trim().parse().unwrap_or(90);
        let token = v1::ApiToken {
            display_name: display_name.get_untracked().trim().to_owned(),
            scope: scope.get_untracked().parse().unwrap_or(1),
            project: project.get_untracked(),
            expire_time: Some(prost_types::Timestamp { seconds: browser::now_seconds() + days * 86_400, nanos: 0 }),
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match api.create_api_token(token).await {
                Ok(created) => {
                    secret.try_set(Some(created.secret));
                    display_name.try_set(String::new());
                    create_error.try_set(None);
                    reload();
                    browser::focus("token-secret");
                }
                Err(e) => {
                    create_error.try_set(Some(e));
                }
            }
        });
    };
    let revoke = move |name: String| {
        leptos::task::spawn_local(async move {
            match api.revoke_api_token(name).await {
                Ok(token) => toasts.show(format!("Revoked “{}”.", token.display_name), None),
                Err(e) => toasts.show(e.to_string(), None),
            }
            reload();
        });
    };

    view! {
        <section class="page">
            <h1>"API tokens"</h1>
            <p class="muted">"Tokens let services call the API as you, limited to a scope and optionally one project."</p>
            {move || error.get().map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <Show when=move || secret.get().is_some()>
                <div class="banner secret" role="status">
                    <label for="token-secret">"Your new token — copy it now, it is shown only once:"</label>
                    <input id="token-secret" readonly prop:value=move || secret.get().unwrap_or_default()/>
                    <button type="button" class="ghost" on:click=move |_| secret.set(None)>"Done"</button>
                </div>
            </Show>
            <h2>"Create a token"</h2>
            <form class="stack narrow" on:submit=create novalidate>
                <FieldError id="token-error" message=general_message(create_error)/>
                <label for="token-name">"Name"</label>
                <input id="token-name" required bind:value=display_name aria-describedby="display_name-error"/>
                <FieldError id="display_name-error" message=field_message(create_error, "display_name")/>
                <label for="token-scope">"Scope"</label>
                <select id="token-scope" bind:value=scope>
                    <option value="1">"Read"</option>
                    <option value="2">"Write"</option>
                    <option value="3">"Admin"</option>
                </select>
                <label for="token-project">"Project"</label>
                <select id="token-project" bind:value=project>
                    <option value="">"All my projects"</option>
                    <For each=move || projects.get() key=|p| p.name.clone() let:p>
                        <option value=p.name.clone()>{p.title.clone()}</option>
                    </For>
                </select>
                <label for="token-days">"Expires in (days, at most 365)"</label>
                <input id="token-days" type="number" min="1" max="365" bind:value=days aria-describedby="expire_time-error"/>
                <FieldError id="expire_time-error" message=field_message(create_error, "expire_time")/>
                <button type="submit">"Create token"</button>
            </form>
            <h2>"Your tokens"</h2>
            <table class="tokens">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Expires"</th>
                    <th scope="col">"Last used"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    <For each=move || tokens.get() key=|t| (t.name.clone(), t.revoke_time.is_some()) let:token>
                        <tr>
                            <td>{token.display_name.clone()}</td>
                            <td>{scope_label(token.scope)}</td>
                            <td>{token.expire_time.as_ref().map(dates::to_day)}</td>
                            <td>{token.last_use_time.as_ref().map(dates::to_day_time).unwrap_or_else(|| "never".into())}</td>
                            <td>
                                {if token.revoke_time.is_some() {
                                    view! { <span class="muted">"revoked"</span> }.into_any()
                                } else {
                                    let name = token.name.clone();
                                    let label = format!("Revoke {}", token.display_name);
                                    view! { <button type="button" class="ghost" aria-label=label on:click=move |_| revoke(name.clone())>"Revoke"</button> }.into_any()
                                }}
                            </td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </section>
    }
}
