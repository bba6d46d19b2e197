//! `TaskRelationService` requests parsed into commands: every field is
//! checked and one INVALID_ARGUMENT names every violation.

use tasktracker_proto::v1;

use crate::domain::{Invalid, RelationKind, TaskId, TaskName, Violations, page::PageRequest};

/// `CreateTaskRelation`: `task` `kind` `other`.
pub struct CreateRelation {
    pub task: TaskName,
    pub other: TaskId,
    pub kind: RelationKind,
}

impl TryFrom<v1::CreateTaskRelationRequest> for CreateRelation {
    type Error = Invalid;

    fn try_from(request: v1::CreateTaskRelationRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let task = violations.check(TaskName::parse("parent", &request.parent));
        let relation = violations.required("task_relation", &request.task_relation);
        let kind = relation
            .and_then(|relation| violations.check(RelationKind::from_proto("task_relation.type", relation.r#type)));
        let other = relation.and_then(|relation| {
            if relation.task.is_empty() {
                violations.add("task_relation.task", "is required: the other task, `projects/{project}/tasks/{task}`");
                return None;
            }
            violations.check(TaskName::parse("task_relation.task", &relation.task))
        });
        if let (Some(task), Some(other)) = (task, other) {
            if other.project != task.project {
                violations.add("task_relation.task", "must be a task of the same project");
            } else if other == task {
                violations
                    .add("task_relation.task", "must be another task than `parent`: a task cannot relate to itself");
            }
        }
        violations.complete(|| Some(Self { task: task?, other: other?.task, kind: kind? }))
    }
}

/// `ListTaskRelations`.
pub struct ListRelations {
    pub task: TaskName,
    pub page: PageRequest,
}

impl TryFrom<v1::ListTaskRelationsRequest> for ListRelations {
    type Error = Invalid;

    fn try_from(request: v1::ListTaskRelationsRequest) -> Result<Self, Invalid> {
        let v1::ListTaskRelationsRequest { parent, page_size, page_token } = request;
        let mut violations = Violations::default();
        let task = violations.check(TaskName::parse("parent", &parent));
        let page = PageRequest::parse(&mut violations, page_size, &page_token, (50, 200), parent);
        violations.complete(|| Some(Self { task: task?, page: page? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProjectId;

    fn create(parent: &TaskName, other: &str, kind: v1::TaskRelationType) -> Result<CreateRelation, Invalid> {
        CreateRelation::try_from(v1::CreateTaskRelationRequest {
            parent: parent.to_string(),
            task_relation: Some(v1::TaskRelation { r#type: kind as i32, task: other.into(), ..Default::default() }),
        })
    }

    fn fields(result: Result<CreateRelation, Invalid>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(Invalid(violations)) => violations.into_iter().map(|violation| violation.field).collect(),
        }
    }

    #[test]
    fn the_other_task_is_another_task_of_the_same_project() {
        let project = ProjectId::generate();
        let task = TaskName { project, task: TaskId::generate() };
        let other = TaskName { project, task: TaskId::generate() };
        let ok = create(&task, &other.to_string(), v1::TaskRelationType::Blocks).unwrap();
        assert_eq!((ok.other, ok.kind), (other.task, RelationKind::Blocks));
        assert_eq!(fields(create(&task, &task.to_string(), v1::TaskRelationType::Blocks)), ["task_relation.task"]);
        let elsewhere = TaskName { project: ProjectId::generate(), task: TaskId::generate() };
        assert_eq!(fields(create(&task, &elsewhere.to_string(), v1::TaskRelationType::Blocks)), ["task_relation.task"]);
        assert_eq!(
            fields(create(&task, "", v1::TaskRelationType::Unspecified)),
            ["task_relation.type", "task_relation.task"]
        );
    }

    #[test]
    fn every_kind_has_an_inverse_that_leads_back() {
        for kind in [
            RelationKind::Blocks,
            RelationKind::BlockedBy,
            RelationKind::Duplicates,
            RelationKind::DuplicatedBy,
            RelationKind::RelatesTo,
        ] {
            assert_eq!(kind.inverse().inverse(), kind);
            assert_eq!(RelationKind::from_stored(kind.stored()), kind);
            assert_eq!(kind.directed(), kind.inverse() != kind);
        }
    }
}
