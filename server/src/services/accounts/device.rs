//! A short description of a client from its `User-Agent`, for the sessions
//! list: "Firefox on Linux", "grpcurl". A few well-known browsers and
//! systems are recognised; anything else is named by the first product in
//! the header. It is what the client says, not proof of anything.

/// The User-Agent kept with a session: at most this many characters.
pub const USER_AGENT_LIMIT: usize = 512;

/// The header as stored: trimmed, control characters dropped, at most
/// [`USER_AGENT_LIMIT`] characters; `None` if nothing is left.
pub fn stored_user_agent(header: &str) -> Option<String> {
    let cleaned: String = header.trim().chars().filter(|c| !c.is_control()).take(USER_AGENT_LIMIT).collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// "Browser on system", or the client's product name.
pub fn describe(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => {
            // `grpcurl/1.9.1 grpc-go/1.61.0`: the first product's name.
            let product = user_agent.split_whitespace().next().unwrap_or("");
            let name = product.split('/').next().unwrap_or("");
            name.chars().take(40).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_and_tools_are_named() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe(chrome), "Chrome on Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                    Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(describe(edge), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                      Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe(safari), "Safari on iOS");
        assert_eq!(describe("grpcurl/1.9.1 grpc-go/1.61.0"), "grpcurl");
        assert_eq!(describe("tonic/0.14.2"), "tonic");
        assert_eq!(describe(""), "");
    }

    #[test]
    fn stored_user_agents_are_bounded_and_printable() {
        assert_eq!(stored_user_agent("  "), None);
        assert_eq!(stored_user_agent("a\u{7}b"), Some("ab".into()));
        assert_eq!(stored_user_agent(&"x".repeat(2_000)).unwrap().len(), USER_AGENT_LIMIT);
    }
}
