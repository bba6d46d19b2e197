//! Resource names (`projects/{project}/tasks/{task}`) and the app's URLs.

/// The last segment of a resource name: `projects/7/tasks/9` -> `9`.
pub fn id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// `projects/{project}` of a task, comment or member name.
pub fn project_of(name: &str) -> String {
    name.split('/').take(2).collect::<Vec<_>>().join("/")
}

/// The app path of a project page.
pub fn project_path(project: &str) -> String {
    format!("/projects/{}", id(project))
}

/// The app path of a task page.
pub fn task_path(task: &str) -> String {
    let mut parts = task.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("projects"), Some(project), Some("tasks"), Some(task)) => format!("/projects/{project}/tasks/{task}"),
        _ => "/".to_owned(),
    }
}

/// The form field a server field violation names: `task.title` -> `title`,
/// `project.title` -> `title`, `field.options[1]` -> `options`,
/// `task.custom_fields.estimate` -> `custom_fields.estimate`, `webhook.url` -> `url`,
/// `email` -> `email`.
pub fn form_field(violation_field: &str) -> &str {
    let field = violation_field.split('[').next().unwrap_or(violation_field);
    match field.split_once('.') {
        Some(("task" | "project" | "member" | "api_token" | "comment" | "state" | "field" | "webhook", rest)) => rest,
        _ => field,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(id("projects/7/tasks/9"), "9");
        assert_eq!(project_of("projects/7/tasks/9"), "projects/7");
        assert_eq!(project_path("projects/7"), "/projects/7");
        assert_eq!(task_path("projects/7/tasks/9"), "/projects/7/tasks/9");
        assert_eq!(task_path("nonsense"), "/");
    }

    #[test]
    fn violations_name_form_fields() {
        assert_eq!(form_field("task.title"), "title");
        assert_eq!(form_field("task.labels[2]"), "labels");
        assert_eq!(form_field("state.display_name"), "display_name");
        assert_eq!(form_field("password"), "password");
        assert_eq!(form_field("api_token.expire_time"), "expire_time");
        assert_eq!(form_field("field.options[1]"), "options");
        assert_eq!(form_field("task.custom_fields.estimate"), "custom_fields.estimate");
        assert_eq!(form_field("webhook.event_kinds[1]"), "event_kinds");
    }
}
