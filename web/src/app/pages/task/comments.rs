//! The task's comments, and adding one.

use crate::app::erased::{Job, Loader};
use leptos::prelude::*;

use super::TaskContext;
use crate::{
    app::{api::Api, components::FieldError},
    model::dates,
};

#[component]
pub fn Comments() -> impl IntoView {
    let api = expect_context::<Api>();
    let context = expect_context::<TaskContext>();
    let comments =
        Loader::new(move || async move { api.list_comments(context.name.get_value()).await.unwrap_or_default() });
    let body = RwSignal::new(String::new());
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
            <For each=move || comments.get().unwrap_or_default() key=|c| c.name.clone() let:comment>
                <li>
                    <p class="muted">
                        <strong>{context.person(&comment.author)}</strong>
                        " · " {comment.create_time.as_ref().map(dates::to_day_time)}
                    </p>
                    <div class="markdown" inner_html=comment.body_html.clone()></div>
                </li>
            </For>
        </ol>
        <form class="stack" on:submit=submit novalidate>
            <label for="comment-body">"Add a comment (Markdown)"</label>
            <textarea id="comment-body" rows="3" bind:value=body aria-describedby="body-error"></textarea>
            <FieldError id="body-error" message=Signal::derive(move || error.get().map(|e| e.field("body").unwrap_or_else(|| e.to_string())))/>
            <button type="submit">"Comment"</button>
        </form>
    }
}
