//! `/sessions`: where the caller is signed in — device, address, when it
//! signed in and was last seen — each with a Revoke button. Revoking this
//! browser's own session signs it out.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_navigate;
use leptos::prelude::*;

use crate::{
    app::{ToastList, api::Api, browser},
    model::dates,
};

/// The sessions page (signed in).
#[component]
pub fn SessionsPage() -> impl IntoView {
    browser::set_title("Sessions");
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let navigate = use_navigate();
    let sessions = Loader::new(move || async move { api.list_sessions().await });
    let revoke = Job::new(move |(name, current): &(String, bool)| {
        let (name, current) = (name.clone(), *current);
        let navigate = navigate.clone();
        async move {
            match api.revoke_session(name).await {
                Ok(()) if current => {
                    api.forget_session();
                    navigate("/signin", Default::default());
                }
                Ok(()) => {
                    toasts.show("Signed that session out.", None);
                    sessions.refetch();
                }
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let list = move || sessions.get().and_then(Result::ok).unwrap_or_default();
    view! {
        <section class="page">
            <h1>"Sessions"</h1>
            <p class="muted">
                "Where you are signed in. A session ends after 7 days without use, and 30 days after signing in at the latest."
            </p>
            {move || sessions.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <table class="sessions">
                <thead><tr>
                    <th scope="col">"Device"</th><th scope="col">"Address"</th><th scope="col">"Signed in"</th>
                    <th scope="col">"Last seen"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || list().into_iter().map(|session| view! {
                        <tr>
                            <td>
                                <span title=session.user_agent.clone()>
                                    {if session.device.is_empty() { "Unknown device".to_owned() } else { session.device.clone() }}
                                </span>
                                {session.current.then(|| view! { " " <strong>"This browser"</strong> })}
                            </td>
                            <td>{session.client_ip.clone()}</td>
                            <td>{session.create_time.as_ref().map(dates::to_day_time)}</td>
                            <td>{session.last_seen_time.as_ref().map(dates::to_day_time)}</td>
                            <td>
                                {
                                    let (name, current) = (session.name.clone(), session.current);
                                    let label = if current {
                                        "Revoke this browser's session (signs you out)".to_owned()
                                    } else {
                                        format!(
                                            "Revoke the session on {}, signed in {}",
                                            session.device,
                                            session.create_time.as_ref().map(dates::to_day_time).unwrap_or_default(),
                                        )
                                    };
                                    view! {
                                        <button type="button" class="ghost" aria-label=label
                                            on:click=move |_| revoke.dispatch((name.clone(), current))>"Revoke"</button>
                                    }
                                }
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
