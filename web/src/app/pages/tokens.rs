//! `/tokens`: API tokens for services — create (secret shown once), list, revoke.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;
use tasktracker_proto::v1::{self, ApiTokenScope};

use crate::{
    app::{
        ToastList,
        api::{Api, ApiResult},
        browser,
        components::FieldError,
        forms::{SCOPES, field_message, general_message, label_of},
    },
    model::dates,
};

type TokenList = Loader<ApiResult<Vec<v1::ApiToken>>>;

/// The API tokens page (signed in).
#[component]
pub fn TokensPage() -> impl IntoView {
    browser::set_title("API tokens");
    let api = expect_context::<Api>();
    let tokens: TokenList = Loader::new(move || async move { api.list_api_tokens().await });
    let secret = RwSignal::new(None::<String>);
    view! {
        <section class="page">
            <h1>"API tokens"</h1>
            <p class="muted">"Tokens let services call the API as you, limited to a scope and optionally one project."</p>
            {move || tokens.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            {move || (secret.get().is_some()).then(|| view! {
                <div class="banner secret" role="status">
                    <label for="token-secret">"Your new token — copy it now, it is shown only once:"</label>
                    <input id="token-secret" readonly prop:value=move || secret.get().unwrap_or_default()/>
                    <button type="button" class="ghost" on:click=move |_| secret.set(None)>"Done"</button>
                </div>
            })}
            <h2>"Create a token"</h2>
            <NewToken tokens secret/>
            <h2>"Your tokens"</h2>
            <TokenTable tokens/>
        </section>
    }
}

/// The form creating a token; its secret goes to `secret`.
#[component]
fn NewToken(tokens: TokenList, secret: RwSignal<Option<String>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let projects = Loader::new(move || async move { api.list_projects(false).await });
    let display_name = RwSignal::new(String::new());
    let scope = RwSignal::new((ApiTokenScope::Read as i32).to_string());
    let project = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("90"));
    let create = Job::new(move |token: &v1::ApiToken| {
        let token = token.clone();
        async move {
            let created = api.create_api_token(token).await?;
            secret.try_set(Some(created.secret));
            display_name.try_set(String::new());
            tokens.refetch();
            browser::focus("token-secret");
            Ok(())
        }
    });
    let error = create.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let days: i64 = days.get_untracked().trim().parse().unwrap_or(90);
        create.dispatch(v1::ApiToken {
            display_name: display_name.get_untracked().trim().to_owned(),
            scope: scope.get_untracked().parse().unwrap_or(1),
            project: project.get_untracked(),
            expire_time: Some(prost_types::Timestamp { seconds: browser::now_seconds() + days * 86_400, nanos: 0 }),
            ..Default::default()
        });
    };
    view! {
        <form class="stack narrow" on:submit=submit novalidate>
            <FieldError id="token-error" message=general_message(error)/>
            <label for="token-name">"Name"</label>
            <input id="token-name" required bind:value=display_name aria-describedby="display_name-error"/>
            <FieldError id="display_name-error" message=field_message(error, "display_name")/>
            <label for="token-scope">"Scope"</label>
            <select id="token-scope" bind:value=scope>
                {SCOPES.iter().map(|(scope, label)| view! { <option value=(*scope as i32).to_string()>{*label}</option> }).collect_view()}
            </select>
            <label for="token-project">"Project"</label>
            <select id="token-project" bind:value=project>
                <option value="">"All my projects"</option>
                {move || (projects.get().and_then(Result::ok).unwrap_or_default()).into_iter().map(|p| view! {
                    <option value=p.name.clone()>{p.title.clone()}</option>
                }).collect_view()}
            </select>
            <label for="token-days">"Expires in (days, at most 365)"</label>
            <input id="token-days" type="number" min="1" max="365" bind:value=days aria-describedby="expire_time-error"/>
            <FieldError id="expire_time-error" message=field_message(error, "expire_time")/>
            <button type="submit">"Create token"</button>
        </form>
    }
}

/// The caller's tokens, each (unless revoked) with a Revoke button.
#[component]
fn TokenTable(tokens: TokenList) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let revoke = Job::new(move |name: &String| {
        let name = name.clone();
        async move {
            let result = api.revoke_api_token(name).await;
            toasts.report(result, |token| format!("Revoked “{}”.", token.display_name));
            tokens.refetch();
        }
    });
    view! {
        <table class="tokens">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Expires"</th>
                <th scope="col">"Last used"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {move || (tokens.get().and_then(Result::ok).unwrap_or_default()).into_iter().map(|token| view! {
                    <tr>
                        <td>{token.display_name.clone()}</td>
                        <td>{label_of(&SCOPES, token.scope)}</td>
                        <td>{token.expire_time.as_ref().map(dates::to_day)}</td>
                        <td>{token.last_use_time.as_ref().map(crate::app::zone::day_time).unwrap_or_else(|| "never".into())}</td>
                        <td>
                            {if token.revoke_time.is_some() {
                                view! { <span class="muted">"revoked"</span> }.into_any()
                            } else {
                                let name = token.name.clone();
                                let label = format!("Revoke {}", token.display_name);
                                view! { <button type="button" class="ghost" aria-label=label on:click=move |_| { revoke.dispatch(name.clone()); }>"Revoke"</button> }.into_any()
                            }}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
