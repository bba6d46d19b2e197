//! The little JSON the app reads and writes itself (`config.json`, the
//! stored session): flat objects of strings and integers. A reader of any
//! JSON (other values are skipped), and a writer of flat objects, in place of
//! a general serialiser, which cost the bundle several kilobytes.

/// A value of a flat object: what the app stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    String(String),
    /// An integer (other numbers, booleans, arrays and objects are read as
    /// [`Scalar::Other`]).
    Integer(i64),
    Null,
    Other,
}

/// The members of the JSON object `text`, in order; `Err` says why it is not
/// one.
pub fn parse_object(text: &str) -> Result<Vec<(String, Scalar)>, String> {
    let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
    reader.space();
    let mut members = Vec::new();
    reader.expect(b'{')?;
    reader.space();
    if reader.peek() == Some(b'}') {
        reader.at += 1;
    } else {
        loop {
            reader.space();
            let key = reader.string()?;
            reader.space();
            reader.expect(b':')?;
            reader.space();
            let value = reader.value(0)?;
            members.push((key, value));
            reader.space();
            match reader.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(reader.error("`,` or `}`")),
            }
        }
    }
    reader.space();
    if reader.at != reader.bytes.len() {
        return Err(reader.error("the end"));
    }
    Ok(members)
}

/// The flat object of `members`, as JSON.
pub fn write_object(members: &[(&str, Scalar)]) -> String {
    let mut out = String::from("{");
    for (index, (key, value)) in members.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(&mut out, key);
        out.push(':');
        match value {
            Scalar::String(text) => write_string(&mut out, text),
            Scalar::Integer(n) => out.push_str(&n.to_string()),
            Scalar::Null | Scalar::Other => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Deepest nesting read (a guard against stack exhaustion).
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek();
        self.at += usize::from(byte.is_some());
        byte
    }

    fn error(&self, wanted: &str) -> String {
        format!("expected {wanted} at byte {}", self.at)
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.next() == Some(byte) { Ok(()) } else { Err(self.error(&format!("`{}`", byte as char))) }
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Scalar, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("less nesting"));
        }
        match self.peek() {
            Some(b'"') => self.string().map(Scalar::String),
            Some(b'{' | b'[') => {
                let close = if self.next() == Some(b'{') { b'}' } else { b']' };
                self.space();
                if self.peek() == Some(close) {
                    self.at += 1;
                    return Ok(Scalar::Other);
                }
                loop {
                    self.space();
                    if close == b'}' {
                        self.string()?;
                        self.space();
                        self.expect(b':')?;
                        self.space();
                    }
                    self.value(depth + 1)?;
                    self.space();
                    match self.next() {
                        Some(b',') => continue,
                        Some(byte) if byte == close => return Ok(Scalar::Other),
                        _ => return Err(self.error("`,` or the closing bracket")),
                    }
                }
            }
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null").map(|_| Scalar::Null),
            _ => self.number(),
        }
    }

    fn word(&mut self, word: &str) -> Result<Scalar, String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(Scalar::Other)
        } else {
            Err(self.error(word))
        }
    }

    fn number(&mut self) -> Result<Scalar, String> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        if let Ok(n) = text.parse::<i64>() {
            Ok(Scalar::Integer(n))
        } else if text.bytes().any(|b| b.is_ascii_digit()) {
            // A fraction or exponent: skipped, not checked further.
            Ok(Scalar::Other)
        } else {
            self.at = start;
            Err(self.error("a value"))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.peek(), None | Some(b'"' | b'\\')) {
                self.at += 1;
            }
            // The input is a `str` and the stops are ASCII: a whole run of characters.
            out.push_str(std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default());
            match self.next() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => {}
                _ => return Err(self.error("the end of the string")),
            }
            let escaped = match self.next() {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let high = self.hex4()?;
                    let code = if (0xd800..0xdc00).contains(&high) {
                        if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                            return Err(self.error("a low surrogate"));
                        }
                        let low = self.hex4()?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return Err(self.error("a low surrogate"));
                        }
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    } else {
                        high
                    };
                    char::from_u32(code).ok_or_else(|| self.error("a character"))?
                }
                _ => return Err(self.error("an escape")),
            };
            out.push(escaped);
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.error("four hex digits"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("four hex digits"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.error("four hex digits"))?;
        self.at += 4;
        Ok(code)
    }
}

/// The string member `key` of `members`, if there is one.
pub fn string_member(members: &[(String, Scalar)], key: &str) -> Option<String> {
    members.iter().find(|(k, _)| k == key).and_then(|(_, v)| match v {
        Scalar::String(text) => Some(text.clone()),
        _ => None,
    })
}

/// The integer member `key` of `members`, if there is one.
pub fn integer_member(members: &[(String, Scalar)], key: &str) -> Option<i64> {
    members.iter().find(|(k, _)| k == key).and_then(|(_, v)| match v {
        Scalar::Integer(n) => Some(*n),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flat_objects_and_skips_other_values() {
        let text = r#" { "a": "x\"y\\z\n\u00e9\ud83d\ude00", "n": -42, "f": 1.5e3, "b": true, "z": null,
            "nested": {"k": [1, {"deep": "v"}, []], "e": {}}, "after": "ok" } "#;
        let members = parse_object(text).unwrap();
        assert_eq!(string_member(&members, "a").as_deref(), Some("x\"y\\z\né😀"));
        assert_eq!(integer_member(&members, "n"), Some(-42));
        assert_eq!(members.iter().find(|(k, _)| k == "f").map(|(_, v)| v), Some(&Scalar::Other));
        assert_eq!(members.iter().find(|(k, _)| k == "z").map(|(_, v)| v), Some(&Scalar::Null));
        assert_eq!(string_member(&members, "after").as_deref(), Some("ok"));
        assert_eq!(string_member(&members, "missing"), None);
        assert_eq!(parse_object("{}").unwrap(), []);
    }

    #[test]
    fn rejects_what_is_not_an_object() {
        for bad in [
            "",
            "[]",
            "\"s\"",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1} x",
            "{'a':1}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\q\"}",
            "{\"a\":tru}",
            "{\"a\":\"open}",
        ] {
            assert!(parse_object(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse_object(&deep).is_err());
    }

    #[test]
    fn writes_what_it_reads() {
        let written = write_object(&[
            ("token", Scalar::String("a\"b\\c\n\u{1}é".into())),
            ("expires", Scalar::Integer(1_700_000_000)),
        ]);
        assert_eq!(written, r#"{"token":"a\"b\\c\n\u0001é","expires":1700000000}"#);
        let members = parse_object(&written).unwrap();
        assert_eq!(string_member(&members, "token").as_deref(), Some("a\"b\\c\n\u{1}é"));
        assert_eq!(integer_member(&members, "expires"), Some(1_700_000_000));
    }
}
