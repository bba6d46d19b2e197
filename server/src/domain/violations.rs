//! Why a request is invalid, field by field: the domain's only error for
//! input. The transport turns an [`Invalid`] into INVALID_ARGUMENT with a
//! `google.rpc.BadRequest` listing every violation.

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `task.title`.
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.field, self.description)
    }
}

impl std::error::Error for FieldViolation {}

/// A request with one or more invalid fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid request")]
pub struct Invalid(pub Vec<FieldViolation>);

impl From<FieldViolation> for Invalid {
    fn from(violation: FieldViolation) -> Self {
        Self(vec![violation])
    }
}

/// Collects field violations so one response names every bad field.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the value, or records why it is invalid.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|violation| self.0.push(violation)).ok()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A required sub-message, or a violation naming it.
    pub fn required<'a, T>(&mut self, field: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.add(field, "is required");
        }
        value.as_ref()
    }

    /// The command, once every field checked out; `build` returns `None`
    /// only if a violation was recorded.
    pub fn complete<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Invalid> {
        self.finish()?;
        build().ok_or_else(|| Invalid(Vec::new()))
    }

    /// The fields an update mask names, each one of `updatable` (`*` names
    /// them all); any other, or none at all, is a violation of
    /// `update_mask`.
    pub fn update_mask(&mut self, paths: &[String], updatable: &[&'static str]) -> Vec<&'static str> {
        let mut named = Vec::new();
        for path in paths {
            match updatable.iter().find(|known| **known == path.as_str()) {
                Some(known) => named.push(*known),
                None if path == "*" => named.extend_from_slice(updatable),
                None => self.add("update_mask", format!("`{path}` cannot be updated; use {}", updatable.join(", "))),
            }
        }
        if paths.is_empty() {
            self.add("update_mask", format!("name at least one field: {}", updatable.join(", ")));
        }
        named
    }

    /// Fails with every recorded violation, if any.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(Invalid(self.0)) }
    }
}
