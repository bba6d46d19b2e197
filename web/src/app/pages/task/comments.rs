//! The task's comments: adding one, and editing or deleting one's own (an
//! owner may delete anyone's). Each comment's Markdown comes rendered by the
//! server.

use super::mention::{MentionAssist, MentionOptions};
use crate::app::erased::{Job, Loader};
use leptos::{html, prelude::*};
use tasktracker_proto::v1::{self, Role};

use super::TaskContext;
use crate::app::{
    ToastList,
    api::{Api, ApiError},
    browser,
    components::FieldError,
};

type CommentList = Loader<Vec<v1::Comment>>;

#[component]
pub fn Comments() -> impl IntoView {
    let api = expect_context::<Api>();
    let context = expect_context::<TaskContext>();
    let comments: CommentList =
        Loader::new(move || async move { api.list_comments(context.name.get_value()).await.unwrap_or_default() });
    // The comment whose Edit button gets focus when it renders again (once
    // saved, a comment is rendered anew with its new text).
    let refocus = StoredValue::new(None::<String>);
    let body = RwSignal::new(String::new());
    let editor = NodeRef::<leptos::html::Textarea>::new();
    let assist = MentionAssist::new("comment-mentions", editor, Callback::new(move |text| body.set(text)));
    let add = Job::new(move |text: &String| {
        let text = text.clone();
        async move {
            let comment = api.create_comment(context.name.get_value(), text).await?;
            body.try_set(String::new());
            comments.update(|list| list.get_or_insert_default().push(comment));
            Ok(())
        }
    });
    let error = add.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let text = body.get_untracked();
        if !text.trim().is_empty() {
            add.dispatch(text);
        }
    };
    view! {
        <h2>"Comments"</h2>
        <ol class="comments">
            <For each=move || comments.get().unwrap_or_default() key=|c| (c.name.clone(), c.etag.clone()) let:comment>
                <CommentItem comment comments refocus/>
            </For>
        </ol>
        <form class="stack" on:submit=submit novalidate>
            <label for="comment-body">"Add a comment (Markdown)"</label>
            <textarea id="comment-body" rows="3" node_ref=editor bind:value=body aria-describedby="body-error"
                aria-autocomplete="list" aria-controls=assist.listbox() aria-activedescendant=move || assist.active_id()
                on:input=move |_| assist.on_input() on:keydown=move |event| { assist.on_keydown(&event); }></textarea>
            <MentionOptions assist/>
            <FieldError id="body-error" message=Signal::derive(move || error.get().map(|e| e.field("comment.body").unwrap_or_else(|| e.to_string())))/>
            <button type="submit">"Comment"</button>
        </form>
    }
}

/// What a comment shows below its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reading,
    Editing,
    ConfirmingDelete,
}

/// One comment: author, time, an "edited" mark, the rendered text, and the
/// caller's Edit (author) and Delete (author or owner) actions.
#[component]
fn CommentItem(comment: v1::Comment, comments: CommentList, refocus: StoredValue<Option<String>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let toasts = expect_context::<ToastList>();
    let context = expect_context::<TaskContext>();
    let mine = api.session().is_some_and(|session| session.user == comment.author);
    let may_edit = move || mine && context.can_edit();
    let may_delete = move || may_edit() || context.role.get().unwrap_or(0) == Role::Owner as i32;
    let id = comment.name.rsplit('/').next().unwrap_or_default().to_owned();
    let (editor_id, error_id) = (format!("comment-edit-{id}"), format!("comment-error-{id}"));
    let edited = comment.edit_time.is_some().then_some(" · edited");
    let header = format!(
        "{} · {}",
        context.person(&comment.author),
        comment.create_time.as_ref().map(crate::app::zone::day_time).unwrap_or_default()
    );
    let mode = RwSignal::new(Mode::Reading);
    let draft = RwSignal::new(comment.body.clone());
    let (edit_button, delete_button) = (NodeRef::<html::Button>::new(), NodeRef::<html::Button>::new());
    let (editor, keep_button) = (NodeRef::<html::Textarea>::new(), NodeRef::<html::Button>::new());
    // Focus follows the mode: into the editor or the confirmation when they
    // open, back to the button that opened them when they close.
    let name = comment.name.clone();
    Effect::new(move |previous: Option<Mode>| {
        let now = mode.get();
        let saved = previous.is_none() && refocus.with_value(|refocus| refocus.as_ref() == Some(&name));
        if saved {
            refocus.set_value(None);
        }
        let target: Option<web_sys::HtmlElement> = match (previous, now) {
            (_, Mode::Editing) => editor.get_untracked().map(Into::into),
            (_, Mode::ConfirmingDelete) => keep_button.get_untracked().map(Into::into),
            (Some(Mode::Editing), Mode::Reading) => edit_button.get_untracked().map(Into::into),
            (Some(Mode::ConfirmingDelete), Mode::Reading) => delete_button.get_untracked().map(Into::into),
            (None, Mode::Reading) if saved => edit_button.get_untracked().map(Into::into),
            _ => None,
        };
        if let Some(target) = target {
            browser::focus_soon(target);
        }
        now
    });
    let original = StoredValue::new(comment.clone());
    let changed = move || {
        comments.refetch();
        context.history.refetch();
    };
    let save = Job::new(move |text: &String| {
        let text = text.clone();
        async move {
            let saved = api.update_comment(&original.get_value(), text).await?;
            refocus.set_value(Some(saved.name));
            changed();
            Ok::<_, ApiError>(())
        }
    });
    let remove = Job::new(move |(): &()| async move {
        toasts.report(api.delete_comment(&original.get_value()).await, |_| "Comment deleted.".into());
        changed();
        // Its buttons are gone with it: on to writing a new one.
        browser::focus("comment-body");
    });
    let error = save.error();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save.dispatch(draft.get_untracked());
    };
    let cancel = move || {
        save.clear();
        draft.set(original.with_value(|c| c.body.clone()));
        mode.set(Mode::Reading);
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Escape" {
            event.prevent_default();
            cancel();
        }
    };
    let reading = move || mode.get() == Mode::Reading;
    view! {
        <li>
            <p class="muted">
                <strong>{header}</strong>{edited}
                <Show when=move || may_edit()>
                    " " <button type="button" class="ghost" node_ref=edit_button hidden=move || !reading()
                        aria-label="Edit comment" on:click=move |_| mode.set(Mode::Editing)>"Edit"</button>
                </Show>
                <Show when=may_delete>
                    " " <button type="button" class="ghost" node_ref=delete_button hidden=move || !reading()
                        aria-label="Delete comment" on:click=move |_| mode.set(Mode::ConfirmingDelete)>"Delete"</button>
                </Show>
            </p>
            <div class="markdown" inner_html=comment.body_html.clone() hidden=move || mode.get() == Mode::Editing></div>
            <form class="stack" on:submit=submit novalidate hidden=move || mode.get() != Mode::Editing>
                <label for=editor_id.clone()>"Edit comment (Markdown)"</label>
                <textarea id=editor_id rows="3" node_ref=editor bind:value=draft on:keydown=on_keydown
                    aria-describedby=error_id.clone()></textarea>
                <FieldError id=error_id message=Signal::derive(move || error.get().map(|e| e.field("comment.body").unwrap_or_else(|| e.to_string())))/>
                <div class="row">
                    <button type="submit" disabled=move || save.pending().get()>"Save comment"</button>
                    <button type="button" class="ghost" on:click=move |_| cancel()>"Cancel"</button>
                </div>
            </form>
            <div class="row" role="group" aria-label="Delete this comment?" hidden=move || mode.get() != Mode::ConfirmingDelete>
                <span>"Delete this comment?"</span>
                <button type="button" class="danger" disabled=move || remove.pending().get()
                    on:click=move |_| remove.dispatch(())>"Delete comment"</button>
                <button type="button" class="ghost" node_ref=keep_button on:click=move |_| mode.set(Mode::Reading)>"Keep it"</button>
            </div>
        </li>
    }
}
