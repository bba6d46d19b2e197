//! The signed-in session, as kept in `localStorage` (JSON, the same shape
//! the app has always stored, so sessions survive an upgrade).

use super::json::{self, Scalar};

/// The signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub access_token: String,
    pub access_expires: i64,
    pub refresh_token: String,
    /// `users/{user}`.
    pub user: String,
    pub email: String,
    pub display_name: String,
}

impl Session {
    /// The stored form.
    pub fn to_json(&self) -> String {
        let text = |s: &String| Scalar::String(s.clone());
        json::write_object(&[
            ("access_token", text(&self.access_token)),
            ("access_expires", Scalar::Integer(self.access_expires)),
            ("refresh_token", text(&self.refresh_token)),
            ("user", text(&self.user)),
            ("email", text(&self.email)),
            ("display_name", text(&self.display_name)),
        ])
    }

    /// A stored session; `None` if `text` is not one (every field is required).
    pub fn from_json(text: &str) -> Option<Self> {
        let members = json::parse_object(text).ok()?;
        let text = |key| json::string_member(&members, key);
        Some(Self {
            access_token: text("access_token")?,
            access_expires: json::integer_member(&members, "access_expires")?,
            refresh_token: text("refresh_token")?,
            user: text("user")?,
            email: text("email")?,
            display_name: text("display_name")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_older_stored_ones_still_read() {
        let session = Session {
            access_token: "a.b.c".into(),
            access_expires: 1_796_000_000,
            refresh_token: "r\"1".into(),
            user: "users/7".into(),
            email: "ada@example.com".into(),
            display_name: "Ada “the first”".into(),
        };
        assert_eq!(Session::from_json(&session.to_json()), Some(session.clone()));
        // As the app stored it before this reader (a serde_json dump).
        let stored = r#"{"access_token":"a.b.c","access_expires":1796000000,"refresh_token":"r\"1","user":"users/7","email":"ada@example.com","display_name":"Ada “the first”"}"#;
        assert_eq!(Session::from_json(stored), Some(session));
        assert_eq!(Session::from_json(r#"{"access_token":"a"}"#), None);
        assert_eq!(Session::from_json("not json"), None);
    }
}
