//! Markdown (task descriptions, comments) to HTML that is safe to insert:
//! raw HTML is shown as text, and links may only use safe URL schemes.
//!
//! Rendering lives on the server so that every client shows the same HTML
//! and the web bundle does not carry a Markdown parser (about 50 KB of it,
//! compressed).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Whether a link or image URL may be followed: http(s), mailto, or relative.
fn safe_url(url: &str) -> bool {
    let lower: String = url.trim().chars().filter(|c| !c.is_ascii_control() && !c.is_whitespace()).collect();
    let lower = lower.to_ascii_lowercase();
    match lower.split_once(':') {
        // A colon after a slash, `?` or `#` is not a scheme separator.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

fn clean_url(url: CowStr<'_>) -> CowStr<'_> {
    if safe_url(&url) { url } else { CowStr::Borrowed("#") }
}

/// Renders markdown to sanitised HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML is displayed, never interpreted.
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: clean_url(dest_url), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Image { link_type, dest_url: clean_url(dest_url), title, id })
        }
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn renders_ordinary_markdown() {
        assert_eq!(
            to_safe_html("# Plan\n\n**bold** and `code`"),
            "<h1>Plan</h1>\n<p><strong>bold</strong> and <code>code</code></p>\n"
        );
        assert!(
            to_safe_html("[docs](https://example.com/a?b=1)")
                .contains("<a href=\"https://example.com/a?b=1\">docs</a>")
        );
        assert!(to_safe_html("- [x] done").contains("checkbox"));
    }

    #[test]
    fn raw_html_is_escaped() {
        let html = to_safe_html("<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn dangerous_link_schemes_are_neutralised() {
        for link in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "![x](javascript:alert(1))",
            "<javascript:alert(1)>",
        ] {
            let html = to_safe_html(link).to_ascii_lowercase();
            for attribute in ["href=\"", "src=\""] {
                for scheme in ["javascript:", "data:", "vbscript:"] {
                    assert!(!html.contains(&format!("{attribute}{scheme}")), "{link} -> {html}");
                }
            }
        }
    }

    #[test]
    fn relative_and_mail_links_stay() {
        assert!(to_safe_html("[a](/projects/1)").contains("href=\"/projects/1\""));
        assert!(to_safe_html("[a](#top)").contains("href=\"#top\""));
        assert!(to_safe_html("[a](mailto:ada@example.com)").contains("href=\"mailto:ada@example.com\""));
        assert!(to_safe_html("[a](?q=a:b)").contains("href=\"?q=a:b\""));
    }

    #[test]
    fn attributes_cannot_be_broken_out_of() {
        let html = to_safe_html("[x](https://a.example/\"onmouseover=\"alert(1))");
        assert!(!html.contains("\"onmouseover"), "{html}");
    }
}
