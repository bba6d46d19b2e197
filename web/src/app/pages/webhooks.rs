//! `/projects/:project/webhooks`: the project's webhooks (owners only):
//! add one (its secret shown once), pause or resume, delete, and each one's
//! delivery log with Redeliver.

use crate::app::erased::{Job, Loader};
use crate::app::router::use_params_map;
use leptos::prelude::*;
use tasktracker_proto::v1::{self, WebhookDeliveryOutcome as Outcome, WebhookEventKind as Kind};

use crate::{
    app::{
        ToastList,
        api::{Api, ApiResult},
        browser,
        components::FieldError,
        forms::{field_message, general_message, label_of},
    },
    model::names,
};

type WebhookList = Loader<ApiResult<Vec<v1::Webhook>>>;

/// The event kinds a webhook can want, with their labels.
const KINDS: [(Kind, &str); 5] = [
    (Kind::TaskCreated, "Created"),
    (Kind::TaskUpdated, "Updated"),
    (Kind::TaskDeleted, "Deleted"),
    (Kind::TaskUndeleted, "Restored"),
    (Kind::TaskMoved, "Moved"),
];

/// The webhooks page (signed in; the server answers owners only).
#[component]
pub fn WebhooksPage() -> impl IntoView {
    browser::set_title("Webhooks");
    let api = expect_context::<Api>();
    let params = use_params_map();
    let project =
        StoredValue::new(format!("projects/{}", params.with_untracked(|p| p.get("project").unwrap_or_default())));
    let list: WebhookList = Loader::new(move || {
        let parent = project.get_value();
        async move { api.list_webhooks(parent).await }
    });
    let secret = RwSignal::new(None::<String>);
    let none = move || list.with(|l| l.and_then(|l| l.as_ref().ok()).is_some_and(Vec::is_empty));
    view! {
        <section class="page">
            <p><a href=names::project_path(&project.get_value())>"← Back to the project"</a></p>
            <h1>"Webhooks"</h1>
            {move || list.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            <p class="hint">"Task changes are POSTed to each URL, signed with its secret, in order; failures are retried."</p>
            {move || secret.get().map(|value| view! {
                <div class="banner secret" role="status">
                    <label for="webhook-secret">"The signing secret — copy it now, it is shown only once:"</label>
                    <input id="webhook-secret" readonly prop:value=value/>
                    <button type="button" class="ghost" on:click=move |_| secret.set(None)>"Done"</button>
                </div>
            })}
            {move || none().then(|| view! { <p class="muted">"No webhooks yet."</p> })}
            <ul class="fields">
                {move || list.get().and_then(Result::ok).unwrap_or_default().into_iter()
                    .map(|webhook| view! { <WebhookItem list webhook/> }).collect_view()}
            </ul>
            <h2>"Add a webhook"</h2>
            <AddWebhook project list secret/>
        </section>
    }
}

/// The kinds a webhook wants, in words.
fn kinds_text(kinds: &[i32]) -> String {
    if kinds.is_empty() {
        return "All events".to_owned();
    }
    kinds.iter().map(|k| label_of(&KINDS, *k)).collect::<Vec<_>>().join(", ")
}

/// One webhook: URL, kinds, state; pause or resume, delete; its deliveries.
#[component]
fn WebhookItem(list: WebhookList, webhook: v1::Webhook) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let heading = format!("webhook-{}", names::id(&webhook.name));
    let current = RwSignal::new(webhook);
    let pause = Job::new(move |webhook: &v1::Webhook| {
        let webhook = webhook.clone();
        async move {
            let result = api.update_webhook(webhook, vec!["paused".into()]).await;
            if let Ok(saved) = &result {
                current.try_set(saved.clone());
            }
            toasts.report(result, |w| if w.paused { "Paused." } else { "Resumed." }.to_owned());
        }
    });
    let delete = Job::new(move |webhook: &v1::Webhook| {
        let webhook = webhook.clone();
        async move {
            toasts.report(api.delete_webhook(webhook.name, webhook.etag).await, |()| "Deleted the webhook.".into());
            list.refetch();
        }
    });
    let url = move || current.with(|w| w.url.clone());
    let state = move || {
        current.with(|w| match (w.paused, w.pause_reason.as_str()) {
            (false, _) => String::new(),
            (true, "") => " · paused".to_owned(),
            (true, reason) => format!(" · paused: {reason}"),
        })
    };
    let toggle = move |_| {
        let mut webhook = current.get_untracked();
        webhook.paused = !webhook.paused;
        pause.dispatch(webhook);
    };
    let name = current.with_untracked(|w| w.name.clone());
    view! {
        <li class="card">
            <h2 class="small" id=heading.clone()>{url}</h2>
            <p class="muted">{move || current.with(|w| kinds_text(&w.event_kinds))}{state}</p>
            <div class="row" role="group" aria-labelledby=heading>
                <button type="button" class="ghost" on:click=toggle disabled=move || pause.pending().get()
                    aria-label=move || format!("{} {}", if current.with(|w| w.paused) { "Resume" } else { "Pause" }, url())>
                    {move || if current.with(|w| w.paused) { "Resume" } else { "Pause" }}
                </button>
                <button type="button" class="danger" aria-label=move || format!("Delete {}", url())
                    on:click=move |_| delete.dispatch(current.get_untracked())>"Delete"</button>
            </div>
            <Deliveries webhook=name/>
        </li>
    }
}

/// A webhook's delivery log, newest first, with Redeliver per delivery.
#[component]
fn Deliveries(webhook: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let webhook = StoredValue::new(webhook);
    let log = Loader::new(move || {
        let parent = webhook.get_value();
        async move { api.list_deliveries(parent).await }
    });
    let redeliver = Job::new(move |name: &String| {
        let name = name.clone();
        async move {
            toasts.report(api.redeliver_webhook(name).await, |_| "Queued again.".into());
            log.refetch();
        }
    });
    let row = move |d: v1::WebhookDelivery| {
        let outcome = if d.outcome == Outcome::Delivered as i32 {
            "delivered".to_owned()
        } else if d.error.is_empty() {
            "pending".to_owned()
        } else {
            format!("failing: {}", d.error)
        };
        let name = d.name.clone();
        let label = format!(
            "Redeliver {} of {}",
            label_of(&KINDS, d.kind),
            d.create_time.as_ref().map(crate::app::zone::day_time).unwrap_or_default()
        );
        view! {
            <tr>
                <td>{d.create_time.as_ref().map(crate::app::zone::day_time)}</td>
                <td>{label_of(&KINDS, d.kind)}</td>
                <td class="outcome">{outcome}</td>
                <td>{(d.status_code != 0).then(|| d.status_code.to_string())}</td>
                <td>{d.attempts}</td>
                <td><button type="button" class="ghost" aria-label=label on:click=move |_| redeliver.dispatch(name.clone())>"Redeliver"</button></td>
            </tr>
        }
    };
    view! {
        <div class="table-wrap">
            <button type="button" class="ghost" on:click=move |_| log.refetch()>"Refresh deliveries"</button>
            <table class="deliveries">
                <caption class="sr-only">"Deliveries, newest first"</caption>
                <thead><tr>
                    <th scope="col">"Time"</th><th scope="col">"Event"</th><th scope="col">"Outcome"</th>
                    <th scope="col">"Status"</th><th scope="col">"Attempts"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || log.get().map(|l| match l {
                        Ok(list) => list.into_iter().map(row).collect_view().into_any(),
                        Err(e) => view! { <tr><td colspan="6" role="alert">{e.to_string()}</td></tr> }.into_any(),
                    })}
                </tbody>
            </table>
        </div>
    }
}

/// The form adding a webhook; its secret goes to `secret`.
#[component]
fn AddWebhook(project: StoredValue<String>, list: WebhookList, secret: RwSignal<Option<String>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let url = RwSignal::new(String::new());
    let kinds = RwSignal::new(Vec::<i32>::new());
    let add = Job::new(move |webhook: &v1::Webhook| {
        let (parent, webhook) = (project.get_value(), webhook.clone());
        async move {
            let created = api.create_webhook(parent, webhook).await?;
            secret.try_set(Some(created.secret));
            url.try_set(String::new());
            kinds.try_set(Vec::new());
            list.refetch();
            browser::focus("webhook-secret");
            Ok(())
        }
    });
    let error = add.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        add.dispatch(v1::Webhook {
            url: url.get_untracked().trim().to_owned(),
            event_kinds: kinds.get_untracked(),
            ..Default::default()
        });
    };
    view! {
        <form class="stack narrow" on:submit=submit novalidate aria-label="Add a webhook">
            <FieldError id="webhook-error" message=general_message(error)/>
            <label for="webhook-url">"URL"</label>
            <input id="webhook-url" type="url" required bind:value=url aria-describedby="url-error"/>
            <FieldError id="url-error" message=field_message(error, "url")/>
            <fieldset aria-describedby="event_kinds-error">
                <legend>"Events (none ticked: all)"</legend>
                {KINDS.iter().map(|(kind, label)| {
                    let value = *kind as i32;
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || kinds.with(|k| k.contains(&value))
                                on:change=move |e| kinds.update(|k| if event_target_checked(&e) { k.push(value) } else { k.retain(|x| *x != value) })/>
                            {*label}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <FieldError id="event_kinds-error" message=field_message(error, "event_kinds")/>
            <button type="submit" disabled=move || add.pending().get()>"Add webhook"</button>
        </form>
    }
}
