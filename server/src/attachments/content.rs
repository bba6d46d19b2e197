//! What an attachment may be: its file name, its declared content type,
//! whether the bytes are what was declared (sniffed with `infer`), and how
//! a download is served so that a browser never renders it on our origin.

/// Bytes read from the start of an upload to recognise its type.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// The generic type: declares nothing, so any bytes match it.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Longest file name, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;

/// Checks a file name: 1 to 255 characters, no path separators, no control
/// characters, not `.` or `..`.
pub fn check_filename(filename: &str) -> Result<(), &'static str> {
    let length = filename.chars().count();
    if length == 0 || length > MAX_FILENAME_CHARS {
        return Err("must be 1 to 255 characters");
    }
    if filename.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
        return Err("must not contain slashes or control characters");
    }
    if filename.trim() != filename || filename == "." || filename == ".." {
        return Err("must not be `.`, `..` or start or end with spaces");
    }
    Ok(())
}

/// Checks a declared media type: `type/subtype` in lower case, of RFC 6838
/// token characters, without parameters.
pub fn check_content_type(content_type: &str) -> Result<(), &'static str> {
    let token = |part: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&-^_.+".contains(&b))
    };
    match content_type.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => Ok(()),
        _ => Err("must be a lower-case media type such as `image/png`, without parameters"),
    }
}

/// Whether `head`, an upload's first bytes, may be of the `declared` type.
/// Bytes that `infer` recognises must be of exactly the declared type; bytes
/// it does not recognise (plain text, CSV, JSON, …) may not claim a type it
/// would have recognised. `application/octet-stream` claims nothing.
pub fn matches_declared(declared: &str, head: &[u8]) -> Result<(), String> {
    if declared == OCTET_STREAM {
        return Ok(());
    }
    match infer::get(head) {
        Some(sniffed) if sniffed.mime_type() == declared => Ok(()),
        // Office and similar documents are ZIP files; what is inside may lie
        // beyond the bytes sniffed.
        Some(sniffed) if sniffed.mime_type() == "application/zip" && is_zip_based(declared) => Ok(()),
        Some(sniffed) => Err(format!("the file is {}, not {declared} as declared", sniffed.mime_type())),
        None if infer::is_mime_supported(declared) => {
            Err(format!("the file does not look like {declared} as declared"))
        }
        None => Ok(()),
    }
}

fn is_zip_based(declared: &str) -> bool {
    declared.ends_with("+zip")
        || declared.starts_with("application/vnd.openxmlformats-officedocument.")
        || declared.starts_with("application/vnd.oasis.opendocument.")
        || declared == "application/java-archive"
}

/// The `Content-Type` a download is served with: the declared type, but
/// never one a browser would run or render as a page (HTML, SVG, XML,
/// scripts), which are served as `application/octet-stream`.
pub fn served_type(declared: &str) -> &str {
    let active = declared.starts_with("text/html")
        || declared.contains("xml")
        || declared.contains("javascript")
        || declared.contains("ecmascript")
        || declared == "image/svg+xml"
        || declared.starts_with("multipart/");
    let known = check_content_type(declared).is_ok();
    if active || !known { OCTET_STREAM } else { declared }
}

/// `Content-Disposition: attachment` with `filename` (RFC 6266): an ASCII
/// fallback and the exact name percent-encoded in UTF-8 (RFC 8187).
pub fn attachment_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn file_names_are_checked() {
        assert!(check_filename("report.pdf").is_ok());
        assert!(check_filename("résumé 2026.txt").is_ok());
        for bad in ["", "a/b", "a\\b", "..", ".", " x", "x\n", &"x".repeat(256)] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_types_are_checked() {
        assert!(check_content_type("image/png").is_ok());
        assert!(check_content_type("application/vnd.ms-excel").is_ok());
        for bad in ["", "image", "Image/PNG", "text/plain; charset=utf-8", "a/b/c", "/png"] {
            assert!(check_content_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sniffed_bytes_must_match_the_declared_type() {
        assert!(matches_declared("image/png", PNG).is_ok());
        assert!(matches_declared("application/octet-stream", PNG).is_ok());
        assert!(matches_declared("text/plain", b"hello").is_ok());
        assert!(matches_declared("text/csv", b"a,b\n1,2\n").is_ok());
        let refused = matches_declared("image/jpeg", PNG).unwrap_err();
        assert!(refused.contains("image/png"), "{refused}");
        assert!(matches_declared("text/plain", PNG).is_err(), "a PNG declared as text");
        assert!(matches_declared("image/png", b"plain text").is_err(), "text declared as a PNG");
    }

    #[test]
    fn pages_and_scripts_are_served_as_opaque_bytes() {
        for active in ["text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript"] {
            assert_eq!(served_type(active), OCTET_STREAM, "{active}");
        }
        assert_eq!(served_type("image/png"), "image/png");
        assert_eq!(served_type("text/plain"), "text/plain");
    }

    #[test]
    fn the_disposition_is_always_attachment_with_a_safe_name() {
        assert_eq!(attachment_disposition("a b.txt"), "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt");
        let tricky = attachment_disposition("\"x\";é.html");
        assert!(tricky.starts_with("attachment; filename=\"_x_;_.html\""), "{tricky}");
        assert!(tricky.ends_with("filename*=UTF-8''%22x%22%3B%C3%A9.html"), "{tricky}");
    }
}
