//! `/inbox`: the caller's notifications, the live unread badge in the top
//! bar, and the Follow button of a task.

use leptos::prelude::*;
use tasktracker_proto::v1::{self, NotificationKind, watch_notifications_response::Kind};

use crate::app::{
    ToastList,
    api::{Api, ApiError, ApiResult},
    browser::{self, Cancel},
    erased::{Job, Loader},
};

/// The inbox as the top bar and the inbox page see it, kept live by one
/// `WatchNotifications` stream while signed in.
#[derive(Clone, Copy)]
pub struct InboxState {
    pub unread: RwSignal<i32>,
    pub mentions: RwSignal<i32>,
    /// Bumped when a notification arrives or the counts change elsewhere,
    /// so an open inbox page reloads.
    pub changes: RwSignal<u64>,
}

/// Follows the caller's inbox while signed in (reconnecting with backoff
/// and resuming from the last cursor); provides [`InboxState`].
pub fn follow_inbox(api: Api) -> InboxState {
    let state = InboxState { unread: RwSignal::new(0), mentions: RwSignal::new(0), changes: RwSignal::new(0) };
    let running = StoredValue::new(None::<Cancel>);
    Effect::new(move |_| {
        let signed_in = api.signed_in();
        if let Some(cancel) = running.get_value() {
            cancel.cancel();
        }
        running.set_value(None);
        if signed_in {
            let cancel = Cancel::default();
            running.set_value(Some(cancel.clone()));
            watch(api, state, cancel);
        }
    });
    on_cleanup(move || {
        if let Some(cancel) = running.get_value() {
            cancel.cancel();
        }
    });
    state
}

fn watch(api: Api, state: InboxState, cancel: Cancel) {
    leptos::task::spawn_local(async move {
        let mut cursor = String::new();
        let mut delay_ms = 1_000;
        while !cancel.is_cancelled() {
            match cancel.run(api.watch_notifications(cursor.clone())).await {
                None => return,
                Some(Ok(mut stream)) => loop {
                    match cancel.run(stream.message()).await {
                        None => return,
                        Some(Ok(Some(message))) => {
                            delay_ms = 1_000;
                            match message.kind {
                                Some(Kind::Heartbeat(beat)) => cursor = beat.cursor,
                                Some(Kind::Notification(notification)) => cursor = notification.cursor,
                                Some(Kind::Counts(counts)) => {
                                    cursor = counts.cursor;
                                    state.unread.try_set(counts.unread_count);
                                    state.mentions.try_set(counts.unread_mention_count);
                                    state.changes.try_update(|n| *n += 1);
                                }
                                None => {}
                            }
                        }
                        Some(Ok(None) | Err(_)) => break,
                    }
                },
                Some(Err(ApiError::SignedOut)) => return,
                Some(Err(_)) => {}
            }
            if cancel.run(browser::sleep(delay_ms)).await.is_none() {
                return;
            }
            delay_ms = (delay_ms * 2).min(30_000);
        }
    });
}

/// The top bar's link to the inbox, with the unread count.
#[component]
pub fn InboxLink() -> impl IntoView {
    let state = expect_context::<InboxState>();
    view! {
        <a href="/inbox" class="inbox-link">
            "Inbox"
            {move || (state.unread.get() > 0).then(|| view! {
                <span class="badge">
                    <span class="sr-only">", "</span>
                    {move || state.unread.get()}
                    <span class="sr-only">" unread"</span>
                </span>
            })}
        </a>
    }
}

/// Which notifications the page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    All,
    Unread,
    Mentions,
}

const TABS: [(Tab, &str); 3] = [(Tab::All, "All"), (Tab::Unread, "Unread"), (Tab::Mentions, "Mentions")];

/// Snooze choices: label and seconds.
const SNOOZES: [(&str, i64); 3] = [("1 hour", 3_600), ("1 day", 86_400), ("1 week", 7 * 86_400)];

/// What happened, in words, from the reader's side.
fn headline(notification: &v1::Notification) -> String {
    let actor = if notification.actor_display_name.is_empty() { "Someone" } else { &notification.actor_display_name };
    match notification.kind() {
        NotificationKind::Assigned => format!("{actor} assigned you"),
        NotificationKind::Mentioned => format!("{actor} mentioned you"),
        NotificationKind::Commented => format!("{actor} commented"),
        NotificationKind::StateChanged => format!("{actor}: {}", notification.summary),
        NotificationKind::Unblocked => format!("Unblocked: {}", notification.summary),
        NotificationKind::DueSoon => format!("Reminder: {}", notification.summary),
        NotificationKind::WebhookPaused => notification.summary.clone(),
        NotificationKind::DueReached => format!("Due: {}", notification.summary),
        NotificationKind::Unspecified => actor.to_owned(),
    }
}

/// The text under the headline, if the headline does not carry it.
fn detail(notification: &v1::Notification) -> Option<String> {
    let shown = matches!(
        notification.kind(),
        NotificationKind::StateChanged
            | NotificationKind::Unblocked
            | NotificationKind::DueSoon
            | NotificationKind::WebhookPaused
            | NotificationKind::DueReached
    );
    (!shown && !notification.summary.is_empty()).then(|| notification.summary.clone())
}

type Page = ApiResult<v1::ListNotificationsResponse>;

/// The inbox page (signed in).
#[component]
pub fn InboxPage() -> impl IntoView {
    browser::set_title("Inbox");
    let api = expect_context::<Api>();
    let state = expect_context::<InboxState>();
    let toasts = expect_context::<ToastList>();
    let tab = RwSignal::new(Tab::All);
    let show_snoozed = RwSignal::new(false);
    // Pages after the first, appended by "Load more".
    let more = RwSignal::new(Vec::<v1::Notification>::new());
    let next_token = RwSignal::new(String::new());
    let request = move |page_token: String| v1::ListNotificationsRequest {
        page_size: 50,
        page_token,
        unread_only: tab.get_untracked() == Tab::Unread,
        mentions_only: tab.get_untracked() == Tab::Mentions,
        show_snoozed: show_snoozed.get_untracked(),
        ..Default::default()
    };
    let first: Loader<Page> = Loader::new(move || {
        // Reloads when the filter or the inbox changes.
        tab.track();
        show_snoozed.track();
        state.changes.track();
        async move {
            let page = api.list_notifications(request(String::new())).await;
            if let Ok(page) = &page {
                more.try_set(Vec::new());
                next_token.try_set(page.next_page_token.clone());
            }
            page
        }
    });
    let load_more = Job::new(move |_: &()| async move {
        let page = api.list_notifications(request(next_token.get_untracked())).await?;
        more.try_update(|shown| shown.extend(page.notifications));
        next_token.try_set(page.next_page_token);
        Ok(())
    });
    let mark = Job::new(move |(names, up_to, unread): &(Vec<String>, String, bool)| {
        let (names, up_to, unread) = (names.clone(), up_to.clone(), *unread);
        async move {
            match api.mark_notifications_read(names, up_to, unread).await {
                Ok(counts) => {
                    state.unread.try_set(counts.unread_count);
                    state.mentions.try_set(counts.unread_mention_count);
                    first.refetch();
                }
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let snooze = Job::new(move |(name, seconds): &(String, i64)| {
        let (name, until) = (name.clone(), browser::now_seconds() + seconds);
        async move {
            let result = api.snooze_notification(name, until).await;
            toasts.report(result, |_| "Snoozed.".to_owned());
            first.refetch();
        }
    });
    let shown = move || {
        let mut all = first.get().and_then(Result::ok).map(|page| page.notifications).unwrap_or_default();
        all.extend(more.get());
        all
    };
    let newest_cursor = move || shown().first().map(|n| n.cursor.clone());
    view! {
        <section class="page inbox">
            <h1>"Inbox"</h1>
            <p class="muted" aria-live="polite">
                {move || format!("{} unread, {} mentioning you", state.unread.get(), state.mentions.get())}
            </p>
            <div class="toolbar">
                <div role="group" aria-label="Show">
                    {TABS.iter().map(|(value, label)| {
                        let value = *value;
                        view! {
                            <button type="button" class="ghost" aria-pressed=move || (tab.get() == value).to_string()
                                on:click=move |_| tab.set(value)>{*label}</button>
                        }
                    }).collect_view()}
                </div>
                <label class="inline"><input type="checkbox" bind:checked=show_snoozed/>" Show snoozed"</label>
                <button type="button" disabled=move || state.unread.get() == 0
                    on:click=move |_| { if let Some(cursor) = newest_cursor() { mark.dispatch((Vec::new(), cursor, false)); } }>
                    "Mark all read"
                </button>
            </div>
            {move || first.get().and_then(Result::err).map(|e| view! { <p role="alert" class="error">{e.to_string()}</p> })}
            {move || (first.get().is_some_and(|page| page.is_ok()) && shown().is_empty()).then(|| view! {
                <p class="empty">"Nothing here. You are all caught up."</p>
            })}
            <details class="settings">
                <summary>"Reminders"</summary>
                <ReminderDefaults/>
            </details>
            <details class="settings">
                <summary>"Email"</summary>
                <EmailSettings/>
            </details>
            <ul class="notifications">
                {move || (shown()).into_iter().map(|notification| view! {
                    <NotificationItem notification mark snooze/>
                }).collect_view()}
            </ul>
            {move || (!next_token.get().is_empty()).then(|| view! {
                <button type="button" class="ghost" on:click=move |_| { load_more.dispatch(()); }>"Load more"</button>
            })}
        </section>
    }
}

/// One notification: a link to its task, and its actions.
#[component]
fn NotificationItem(
    notification: v1::Notification,
    mark: Job<(Vec<String>, String, bool)>,
    snooze: Job<(String, i64)>,
) -> impl IntoView {
    let unread = notification.read_time.is_none();
    let name = notification.name.clone();
    let href = format!("/{}", notification.task);
    let when = notification.create_time.as_ref().map(crate::app::zone::day_time).unwrap_or_default();
    let snoozed = notification.snooze_time.as_ref().map(crate::app::zone::day_time);
    let title = notification.task_title.clone();
    let read_on_open = name.clone();
    let toggle = name.clone();
    let snooze_name = name.clone();
    let snooze_label = format!("Snooze the notification about {title}");
    // The visible text first, as the accessible name must contain it.
    let toggle_label = format!("{}: {title}", if unread { "Mark read" } else { "Mark unread" });
    view! {
        <li class=if unread { "notification unread" } else { "notification" }>
            <div class="what">
                {unread.then(|| view! { <span class="sr-only">"Unread: "</span> })}
                <a href=href on:click=move |_| { if unread { mark.dispatch((vec![read_on_open.clone()], String::new(), false)); } }>
                    {title.clone()}
                </a>
                <span class="headline">{headline(&notification)}</span>
                {detail(&notification).map(|text| view! { <span class="detail">{text}</span> })}
                <span class="muted">{when}</span>
                {snoozed.map(|until| view! { <span class="muted">{format!("Snoozed until {until}")}</span> })}
            </div>
            <div class="actions">
                <button type="button" class="ghost" aria-label=toggle_label
                    on:click=move |_| mark.dispatch((vec![toggle.clone()], String::new(), !unread))>
                    {if unread { "Mark read" } else { "Mark unread" }}
                </button>
                <select aria-label=snooze_label on:change=move |event| {
                    let seconds: i64 = event_target_value(&event).parse().unwrap_or(0);
                    if seconds > 0 {
                        snooze.dispatch((snooze_name.clone(), seconds));
                    }
                }>
                    <option value="0">"Snooze…"</option>
                    {SNOOZES.iter().map(|(label, seconds)| view! { <option value=seconds.to_string()>{*label}</option> }).collect_view()}
                </select>
            </div>
        </li>
    }
}

/// Reminder lead choices: label and seconds.
const LEADS: [(&str, i64); 5] =
    [("1 hour", 3_600), ("3 hours", 3 * 3_600), ("1 day", 86_400), ("2 days", 2 * 86_400), ("1 week", 7 * 86_400)];

/// The lead as the selects show it ("1 day"), or seconds for any other.
fn lead_label(seconds: i64) -> String {
    LEADS.iter().find(|(_, s)| *s == seconds).map_or_else(|| format!("{seconds} s"), |(label, _)| (*label).to_owned())
}

/// The default reminder before tasks assigned to the user fall due.
#[component]
fn ReminderDefaults() -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let settings: Loader<ApiResult<v1::NotificationSettings>> =
        Loader::new(move || async move { api.notification_settings().await });
    let save = Job::new(move |lead: &Option<i64>| {
        let lead = *lead;
        async move {
            match api.set_default_reminder(lead).await {
                Ok(saved) => {
                    settings.update(|value| *value = Some(Ok(saved)));
                    toasts.show("Reminder setting saved.", None);
                }
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let current = move || {
        settings.get().and_then(Result::ok).map_or_else(String::new, |s| {
            if s.reminders_off { "off".to_owned() } else { s.reminder_lead.map_or(0, |lead| lead.seconds).to_string() }
        })
    };
    view! {
        <div class="field">
            <label for="reminder-default">"Remind me before a task assigned to me is due"</label>
            <select id="reminder-default" prop:value=current on:change=move |event| {
                let value = event_target_value(&event);
                save.dispatch(value.parse::<i64>().ok());
            }>
                {LEADS.iter().map(|(label, seconds)| view! { <option value=seconds.to_string()>{format!("{label} before")}</option> }).collect_view()}
                <option value="off">"Never"</option>
            </select>
        </div>
    }
}

/// Notification kinds (`v1::NotificationKind`) as the email settings name them.
const EMAIL_KINDS: [(i32, &str); 7] = [
    (1, "Assigned to me"),
    (2, "Mentions"),
    (3, "Comments"),
    (4, "State changes"),
    (5, "Unblocked tasks"),
    (6, "Due-date reminders"),
    (7, "Due dates reached"),
];

/// How a kind can be emailed (`v1::EmailDelivery`); static markup costs the
/// bundle less than one view per option.
const EMAIL_OPTIONS: &str =
    r#"<option value="1">At once</option><option value="2">Daily digest</option><option value="3">Off</option>"#;

/// How each notification kind is emailed: one select per kind.
#[component]
fn EmailSettings() -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let settings: Loader<ApiResult<v1::NotificationSettings>> =
        Loader::new(move || async move { api.notification_settings().await });
    // "kind:delivery", as the selects send it.
    let save = Job::new(move |choice: &String| {
        let choice = choice.clone();
        async move {
            let (kind, delivery) = choice.split_once(':').unwrap_or_default();
            match api.set_email_delivery(kind.parse().unwrap_or(0), delivery.parse().unwrap_or(0)).await {
                Ok(saved) => {
                    settings.update(|value| *value = Some(Ok(saved)));
                    toasts.show("Email setting saved.", None);
                }
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let off = move || !settings.get().and_then(Result::ok).is_some_and(|s| s.email_enabled);
    let current = move |kind: i32| {
        let settings = settings.get().and_then(Result::ok);
        let found = settings.and_then(|s| s.email_preferences.into_iter().find(|p| p.kind == kind));
        found.map_or_else(String::new, |p| p.delivery.to_string())
    };
    view! {
        <p hidden=move || !off()>"This server sends no email."</p>
        {EMAIL_KINDS.iter().map(|&(kind, label)| view! {
            <div class="field">
                <label for=format!("email-{kind}")>{label}</label>
                <select id=format!("email-{kind}") inner_html=EMAIL_OPTIONS prop:value=move || current(kind) disabled=off
                    on:change=move |event| save.dispatch(format!("{kind}:{}", event_target_value(&event)))></select>
            </div>
        }).collect_view()}
    }
}

/// The user's reminder for one task: the default, another lead, or off.
#[component]
pub fn TaskReminderPicker(task: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let name = StoredValue::new(task);
    let reminder: Loader<ApiResult<v1::TaskReminder>> =
        Loader::new(move || async move { api.task_reminder(name.get_value()).await });
    let save = Job::new(move |choice: &String| {
        let choice = choice.clone();
        async move {
            let (lead, off, reset) = match choice.as_str() {
                "default" => (None, false, true),
                "off" => (None, true, false),
                seconds => (seconds.parse::<i64>().ok(), false, false),
            };
            match api.set_task_reminder(name.get_value(), lead, off, reset).await {
                Ok(saved) => reminder.update(|value| *value = Some(Ok(saved))),
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let current = move || {
        reminder.get().and_then(Result::ok).map_or_else(String::new, |r| match (r.overridden, r.off) {
            (false, _) => "default".to_owned(),
            (true, true) => "off".to_owned(),
            (true, false) => r.lead.map_or(0, |lead| lead.seconds).to_string(),
        })
    };
    let default_label = move || {
        reminder.get().and_then(Result::ok).filter(|r| !r.overridden).map_or_else(
            || "My default".to_owned(),
            |r| {
                if r.off {
                    "My default (never)".to_owned()
                } else {
                    format!("My default ({} before)", lead_label(r.lead.map_or(0, |lead| lead.seconds)))
                }
            },
        )
    };
    view! {
        <label class="inline" for="task-reminder">"Reminder"</label>
        <select id="task-reminder" prop:value=current on:change=move |event| save.dispatch(event_target_value(&event))>
            <option value="default">{default_label}</option>
            {LEADS.iter().map(|(label, seconds)| view! { <option value=seconds.to_string()>{format!("{label} before")}</option> }).collect_view()}
            <option value="off">"Never"</option>
        </select>
    }
}

/// Follow / Unfollow for a task: whether its changes reach the inbox.
#[component]
pub fn FollowButton(task: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let name = StoredValue::new(task);
    let following: Loader<ApiResult<v1::TaskSubscription>> =
        Loader::new(move || async move { api.task_subscription(name.get_value()).await });
    let toggle = Job::new(move |subscribed: &bool| {
        let subscribed = *subscribed;
        async move {
            match api.set_task_subscription(name.get_value(), subscribed).await {
                Ok(now) => following.update(|value| *value = Some(Ok(now))),
                Err(error) => toasts.show(error.to_string(), None),
            }
        }
    });
    let subscribed = move || following.get().and_then(Result::ok).is_some_and(|s| s.subscribed);
    view! {
        <button type="button" class="ghost" aria-pressed=move || subscribed().to_string()
            title="Following a task sends its changes and comments to your inbox"
            on:click=move |_| toggle.dispatch(!subscribed())>
            {move || if subscribed() { "Following" } else { "Follow" }}
        </button>
    }
}
