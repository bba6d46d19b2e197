//! The emails themselves: one notification, or a digest of several; plain
//! text with an HTML alternative, a link to each task and an unsubscribe
//! link (also as `List-Unsubscribe`).
//!
//! An email holds only its recipient's own notifications, each about a
//! project they are a member of (the outbox reads them that way), and no
//! secret but its own unsubscribe token.

use std::fmt::Write as _;

use lettre::{
    Message,
    message::{
        Mailbox, MultiPart,
        header::{Header, HeaderName, HeaderValue},
    },
};

use super::unsubscribe::{Scope, UnsubscribeSigner};
use crate::{
    auth::Role,
    storage::{
        email::{InvitationMail, MailItem, Recipient},
        notifications::NotificationKind,
    },
};

/// What every email needs besides its content.
pub struct Letterhead<'a> {
    pub from: &'a Mailbox,
    /// The web app's address, without a trailing slash.
    pub public_url: &'a str,
    pub signer: &'a UnsubscribeSigner,
}

/// `List-Unsubscribe` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(text.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A kind in the words of an email ("You get emails for …").
pub fn kind_words(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Assigned => "assignments",
        NotificationKind::Mentioned => "mentions",
        NotificationKind::Commented => "comments on tasks you follow",
        NotificationKind::StateChanged => "state changes of tasks you follow",
        NotificationKind::Unblocked => "unblocked tasks",
        NotificationKind::DueSoon => "due-date reminders",
        NotificationKind::DueReached => "due dates reached",
        NotificationKind::WebhookPaused => "paused webhooks",
    }
}

/// What happened, in one line.
fn headline(item: &MailItem) -> String {
    let actor = if item.actor_display_name.is_empty() { "Someone" } else { &item.actor_display_name };
    match item.kind {
        NotificationKind::Assigned => format!("{actor} assigned you"),
        NotificationKind::Mentioned => format!("{actor} mentioned you"),
        NotificationKind::Commented => format!("{actor} commented"),
        NotificationKind::StateChanged => format!("{actor}: {}", item.summary),
        NotificationKind::Unblocked => format!("Unblocked: {}", item.summary),
        NotificationKind::DueSoon => format!("Reminder: {}", item.summary),
        NotificationKind::DueReached => format!("Due date reached: {}", item.summary),
        NotificationKind::WebhookPaused => format!("Webhook paused: {}", item.summary),
    }
}

/// The quoted text under the headline, for kinds whose summary is words
/// someone wrote.
fn quote(item: &MailItem) -> Option<&str> {
    matches!(item.kind, NotificationKind::Mentioned | NotificationKind::Commented)
        .then_some(item.summary.as_str())
        .filter(|summary| !summary.is_empty())
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn task_link(letterhead: &Letterhead<'_>, item: &MailItem) -> String {
    format!("{}/projects/{}/tasks/{}", letterhead.public_url, item.project_id, item.task_id)
}

fn unsubscribe_link(letterhead: &Letterhead<'_>, recipient: &Recipient, scope: Scope) -> String {
    format!("{}/unsubscribe?token={}", letterhead.public_url, letterhead.signer.sign(recipient.user, scope))
}

/// Subject lines stay on one line and short.
fn subject_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 150 { line } else { line.chars().take(149).chain(['…']).collect() }
}

fn message(
    letterhead: &Letterhead<'_>,
    to: Mailbox,
    subject: &str,
    unsubscribe: &str,
    text: String,
    html: String,
) -> Result<Message, lettre::error::Error> {
    Message::builder()
        .from(letterhead.from.clone())
        .to(to)
        .subject(subject_line(subject))
        .header(ListUnsubscribe(format!("<{unsubscribe}>")))
        .multipart(MultiPart::alternative_plain_html(text, html))
}

const HTML_HEAD: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
    <body style=\"font-family:sans-serif;line-height:1.5;color:#1f2328\">";

/// One notification's email.
pub fn single(
    letterhead: &Letterhead<'_>,
    to: Mailbox,
    recipient: &Recipient,
    item: &MailItem,
) -> Result<Message, lettre::error::Error> {
    let headline = headline(item);
    let link = task_link(letterhead, item);
    let unsubscribe = unsubscribe_link(letterhead, recipient, Scope::Kind(item.kind));
    let words = kind_words(item.kind);
    let mut text = format!("Hi {},\n\n{headline}.\n", recipient.display_name);
    if let Some(quote) = quote(item) {
        let _ = write!(text, "\n> {quote}\n");
    }
    let _ = write!(
        text,
        "\nTask: {} (project {})\nOpen it: {link}\n\n-- \nYou get these emails for {words}.\nStop them: {unsubscribe}\n",
        item.task_title, item.project_title
    );
    let mut html = format!(
        "{HTML_HEAD}<p>Hi {},</p><p><strong>{}</strong>.</p>",
        escape(&recipient.display_name),
        escape(&headline)
    );
    if let Some(quote) = quote(item) {
        let _ = write!(html, "<blockquote>{}</blockquote>", escape(quote));
    }
    let _ = write!(
        html,
        "<p>Task: <a href=\"{}\">{}</a> (project {})</p><hr><p style=\"font-size:small\">You get these emails for {}. \
         <a href=\"{}\">Unsubscribe</a></p></body></html>",
        escape(&link),
        escape(&item.task_title),
        escape(&item.project_title),
        escape(words),
        escape(&unsubscribe),
    );
    let subject = format!("[{}] {headline}: {}", item.project_title, item.task_title);
    message(letterhead, to, &subject, &unsubscribe, text, html)
}

/// A digest of `items` (at least one), oldest first.
pub fn digest(
    letterhead: &Letterhead<'_>,
    to: Mailbox,
    recipient: &Recipient,
    items: &[MailItem],
) -> Result<Message, lettre::error::Error> {
    let unsubscribe = unsubscribe_link(letterhead, recipient, Scope::Digest);
    let count = items.len();
    let noun = if count == 1 { "notification" } else { "notifications" };
    let mut text = format!("Hi {},\n\n{count} {noun} since your last digest:\n", recipient.display_name);
    let mut html = format!(
        "{HTML_HEAD}<p>Hi {},</p><p>{count} {noun} since your last digest:</p><ul>",
        escape(&recipient.display_name)
    );
    for item in items {
        let headline = headline(item);
        let link = task_link(letterhead, item);
        let _ = write!(text, "\n* [{}] {}: {headline}\n", item.project_title, item.task_title);
        if let Some(quote) = quote(item) {
            let _ = writeln!(text, "  > {quote}");
        }
        let _ = writeln!(text, "  {link}");
        let _ = write!(
            html,
            "<li>[{}] <a href=\"{}\">{}</a>: {}",
            escape(&item.project_title),
            escape(&link),
            escape(&item.task_title),
            escape(&headline)
        );
        if let Some(quote) = quote(item) {
            let _ = write!(html, "<blockquote>{}</blockquote>", escape(quote));
        }
        html.push_str("</li>");
    }
    let _ = write!(
        text,
        "\n-- \nYou get a digest of the notifications you chose to receive this way.\nStop digests: {unsubscribe}\n"
    );
    let _ = write!(
        html,
        "</ul><hr><p style=\"font-size:small\">You get a digest of the notifications you chose to receive this way. \
         <a href=\"{}\">Unsubscribe from digests</a></p></body></html>",
        escape(&unsubscribe)
    );
    let subject = format!("Tasktracker digest: {count} {noun}");
    message(letterhead, to, &subject, &unsubscribe, text, html)
}

/// An invitation's email. It carries no unsubscribe link: the invitee may
/// have no account, and this mail is the one they asked someone for. The
/// project's title and the inviter's name are what the owner chose to
/// share; nothing else of the project is in it.
pub fn invitation(
    letterhead: &Letterhead<'_>,
    to: Mailbox,
    mail: &InvitationMail,
) -> Result<Message, lettre::error::Error> {
    let inviter = if mail.inviter_display_name.is_empty() { "Someone" } else { &mail.inviter_display_name };
    let role = match Role::from_stored(mail.role) {
        Role::Viewer => "a viewer",
        Role::Editor => "an editor",
        Role::Owner => "an owner",
    };
    let open = format!("{}/", letterhead.public_url);
    let sign_up = format!("{}/signup", letterhead.public_url);
    let expires = crate::domain::time::to_timestamp(mail.expire_time);
    let expires = chrono::DateTime::from_timestamp(expires.seconds, 0)
        .map(|time| time.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let headline = format!("{inviter} invited you to the project {} as {role}", mail.project_title);
    let text = format!(
        "Hello,\n\n{headline}.\n\nSign in with this email address and answer the invitation on your projects \
         page: {open}\nNo account yet? Create one with this address: {sign_up}\n\nThe invitation expires on \
         {expires}. If you did not expect it, ignore this email.\n"
    );
    let html = format!(
        "{HTML_HEAD}<p>Hello,</p><p><strong>{}</strong>.</p><p>Sign in with this email address and answer the \
         invitation on your <a href=\"{}\">projects page</a>. No account yet? \
         <a href=\"{}\">Create one with this address</a>.</p><p style=\"font-size:small\">The invitation expires on \
         {}. If you did not expect it, ignore this email.</p></body></html>",
        escape(&headline),
        escape(&open),
        escape(&sign_up),
        escape(&expires),
    );
    let subject = format!("[{}] {inviter} invited you", mail.project_title);
    Message::builder()
        .from(letterhead.from.clone())
        .to(to)
        .subject(subject_line(&subject))
        .multipart(MultiPart::alternative_plain_html(text, html))
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape(r#"<b>"Tom" & 'Jerry'</b>"#), "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
    }
}
