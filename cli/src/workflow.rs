//! A project's workflow states (its board's columns): names people type and
//! read, resolved to and from resource names.

use tasktracker_proto::v1;

use crate::{api::Api, error::CliError};

/// The project's states in board order, archived ones included (a task can
/// still be in one).
pub struct Workflow {
    states: Vec<v1::WorkflowState>,
}

impl Workflow {
    /// Fetches `project`'s states.
    pub async fn fetch(api: &Api, project: &str) -> Result<Self, CliError> {
        let mut states = api
            .states()
            .list_workflow_states(v1::ListWorkflowStatesRequest { parent: project.to_owned(), show_archived: true })
            .await?
            .into_inner()
            .states;
        states.sort_by_key(|state| state.position);
        Ok(Self { states })
    }

    /// No states known: names print as they are.
    pub fn unknown() -> Self {
        Self { states: vec![] }
    }

    /// The display name of state `name`, or `name` itself if unknown.
    pub fn display_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.states.iter().find(|state| state.name == name).map_or(name, |state| state.display_name.as_str())
    }

    /// The resource name of a state given by resource name or by display
    /// name (case-insensitive).
    pub fn resolve(&self, arg: &str) -> Result<String, CliError> {
        if arg.starts_with("projects/") {
            return Ok(arg.to_owned());
        }
        let live = || self.states.iter().filter(|state| !state.archived);
        live()
            .find(|state| state.display_name.eq_ignore_ascii_case(arg.trim()))
            .map(|state| state.name.clone())
            .ok_or_else(|| {
                let names: Vec<&str> = live().map(|state| state.display_name.as_str()).collect();
                CliError::Usage(format!("no state named {arg:?}; the project's states: {}", names.join(", ")))
            })
    }

    /// The first state on the board of the COMPLETED category, not archived.
    pub fn first_done(&self) -> Option<&v1::WorkflowState> {
        self.states.iter().find(|state| !state.archived && state.category == v1::StateCategory::Completed as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, display_name: &str, category: v1::StateCategory, position: i64) -> v1::WorkflowState {
        v1::WorkflowState {
            name: name.into(),
            display_name: display_name.into(),
            category: category as i32,
            position,
            ..Default::default()
        }
    }

    #[test]
    fn states_resolve_by_display_name_and_the_first_done_one_is_found() {
        let mut archived_done = state("projects/p/states/old", "Shipped", v1::StateCategory::Completed, 0);
        archived_done.archived = true;
        let workflow = Workflow {
            states: vec![
                archived_done,
                state("projects/p/states/todo", "To do", v1::StateCategory::Unstarted, 1),
                state("projects/p/states/done", "Done", v1::StateCategory::Completed, 2),
                state("projects/p/states/later", "Verified", v1::StateCategory::Completed, 3),
            ],
        };
        assert_eq!(workflow.resolve("to DO").unwrap(), "projects/p/states/todo");
        assert!(matches!(workflow.resolve("Shipped"), Err(CliError::Usage(_))));
        assert_eq!(workflow.first_done().unwrap().name, "projects/p/states/done");
        assert_eq!(workflow.display_name("projects/p/states/todo"), "To do");
        assert_eq!(workflow.display_name("projects/p/states/new"), "projects/p/states/new");
    }
}
