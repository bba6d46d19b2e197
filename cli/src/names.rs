//! Resource names as people type them: `projects/{p}` or the bare id, and
//! tasks as `projects/{p}/tasks/{t}` or an id within a project.

use crate::error::CliError;

/// `projects/{id}` from `projects/{id}` or `{id}`.
pub fn project(arg: &str) -> String {
    let arg = arg.trim().trim_end_matches('/');
    if arg.starts_with("projects/") { arg.to_owned() } else { format!("projects/{arg}") }
}

/// `projects/{p}/tasks/{t}` from a full name, or from an id and the
/// project it belongs to.
pub fn task(arg: &str, project_arg: Option<&str>) -> Result<String, CliError> {
    let arg = arg.trim();
    if arg.starts_with("projects/") {
        return Ok(arg.to_owned());
    }
    match project_arg {
        Some(project_arg) => Ok(format!("{}/tasks/{arg}", project(project_arg))),
        None => Err(CliError::Usage(format!(
            "`{arg}` is a bare task id: pass --project (or set TASKTRACKER_PROJECT), or the full name projects/{{project}}/tasks/{arg}"
        ))),
    }
}

/// The project a task or state belongs to: `projects/{p}`.
pub fn project_of(name: &str) -> &str {
    let mut slashes = name.match_indices('/').map(|(index, _)| index);
    match (slashes.next(), slashes.next()) {
        (Some(_), Some(second)) => &name[..second],
        _ => name,
    }
}

/// The last segment of a resource name: the id.
pub fn id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_completed_from_ids() {
        assert_eq!(project("abc"), "projects/abc");
        assert_eq!(project("projects/abc"), "projects/abc");
        assert_eq!(task("t1", Some("abc")).unwrap(), "projects/abc/tasks/t1");
        assert_eq!(task("projects/abc/tasks/t1", None).unwrap(), "projects/abc/tasks/t1");
        assert!(matches!(task("t1", None), Err(CliError::Usage(_))));
    }

    #[test]
    fn parts_of_names() {
        assert_eq!(project_of("projects/abc/tasks/t1"), "projects/abc");
        assert_eq!(project_of("projects/abc"), "projects/abc");
        assert_eq!(id("projects/abc/tasks/t1"), "t1");
    }
}
