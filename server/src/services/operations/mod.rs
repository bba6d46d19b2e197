//! `google.longrunning.Operations` (AIP-151) for the operations the API
//! starts: imports. An operation is named `projects/{project}/operations/
//! {operation}` and lives in the database, so any replica answers for it.
//! Every method needs the project's owner; cancelling and deleting need
//! the project not to be archived.

use prost::Message;
use prost_types::Any;
use tasktracker_proto::{
    google::{
        longrunning::{self as lro, operation, operations_server::Operations},
        rpc,
    },
    v1,
};
use tonic::{Request, Response, Status};

use super::SharedState;
use crate::{
    auth::{Caller, Permission},
    domain::{
        OperationId, OperationName, ProjectId, UserId, Violations,
        page::PageRequest,
        time::{self, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    services::imports::items::RowError,
    storage::{
        entities::import_operations,
        imports::{ImportStoreError, OperationState},
    },
};

/// A running operation whose heartbeat is this old was interrupted: its
/// runner writes one after every batch, well within this.
const STALE_AFTER: i64 = time::seconds(300);

impl From<ImportStoreError> for ServiceError {
    fn from(error: ImportStoreError) -> Self {
        match error {
            ImportStoreError::Running => Self::FailedPrecondition(
                "the operation is still running; cancel it and wait for it to end first".into(),
            ),
            ImportStoreError::Database(error) => error.into(),
        }
    }
}

/// Wraps `message` (of the full proto name `type_name`) in an `Any`.
fn any_of(type_name: &str, message: &impl Message) -> Any {
    Any { type_url: format!("type.googleapis.com/{type_name}"), value: message.encode_to_vec() }
}

/// The one conversion of a stored import into a `google.longrunning.Operation`.
pub fn operation_to_proto(operation: import_operations::Model) -> lro::Operation {
    let name = OperationName {
        project: ProjectId::from_stored(&operation.project_id),
        operation: OperationId::from_stored(&operation.id),
    };
    let state = OperationState::from_stored(operation.state);
    let metadata = v1::ImportMetadata {
        project: name.project.name(),
        format: i32::from(operation.format),
        rows_total: operation.rows_total,
        rows_done: operation.rows_done,
        rows_imported: operation.rows_imported,
        rows_skipped: operation.rows_skipped,
        errors: operation.errors_total,
        create_time: Some(to_timestamp(operation.create_time)),
        update_time: Some(to_timestamp(operation.update_time)),
        cancel_requested: operation.cancel_requested,
        creator: UserId::from_stored(&operation.creator_id).name(),
    };
    let result = match state {
        OperationState::Running => None,
        OperationState::Succeeded => {
            let errors: Vec<RowError> = serde_json::from_str(&operation.row_errors).unwrap_or_default();
            let response = v1::ImportTasksResponse {
                rows_total: operation.rows_total,
                rows_imported: operation.rows_imported,
                rows_skipped: operation.rows_skipped,
                errors: errors
                    .into_iter()
                    .map(|RowError { row, source_id, field, message }| v1::ImportRowError {
                        row,
                        source_id,
                        field,
                        message,
                    })
                    .collect(),
                errors_total: operation.errors_total,
            };
            Some(operation::Result::Response(any_of("tasktracker.v1.ImportTasksResponse", &response)))
        }
        OperationState::Failed | OperationState::Cancelled => Some(operation::Result::Error(rpc::Status {
            code: operation.error_code,
            message: operation.error_message,
            details: Vec::new(),
        })),
    };
    lro::Operation {
        name: name.to_string(),
        metadata: Some(any_of("tasktracker.v1.ImportMetadata", &metadata)),
        done: state != OperationState::Running,
        result,
    }
}

pub struct OperationsService {
    shared: SharedState,
}

impl OperationsService {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// The operation `name`, once `caller` may manage its project (and,
    /// for a change, the project is not archived). A running operation
    /// whose heartbeat stopped is marked failed first.
    async fn find(&self, caller: &Caller, name: OperationName, write: bool) -> ServiceResult<import_operations::Model> {
        if write {
            self.shared.authorizer.change_settings(caller, name.project).await?;
        } else {
            self.shared.authorizer.require(caller, name.project, Permission::Manage).await?;
        }
        let id = name.operation.to_string();
        let found = self.shared.imports.get(name.project, &id).await?.ok_or(ServiceError::NotFound("operation"))?;
        if self.sweep_if_stale(&found).await? {
            return self.shared.imports.get(name.project, &id).await?.ok_or(ServiceError::NotFound("operation"));
        }
        Ok(found)
    }

    /// Marks interrupted operations failed if `operation` looks like one;
    /// returns whether it did.
    async fn sweep_if_stale(&self, operation: &import_operations::Model) -> ServiceResult<bool> {
        let now = time::now();
        let stale = OperationState::from_stored(operation.state) == OperationState::Running
            && operation.heartbeat_time < now - STALE_AFTER;
        if stale {
            self.shared.imports.fail_interrupted(now - STALE_AFTER, now).await?;
        }
        Ok(stale)
    }
}

/// Marks failed the imports whose server stopped while they ran (their
/// heartbeat is older than [`STALE_AFTER`]): at start-up.
pub async fn fail_interrupted(shared: &SharedState) -> ServiceResult<u64> {
    let now = time::now();
    Ok(shared.imports.fail_interrupted(now - STALE_AFTER, now).await?)
}

#[tonic::async_trait]
impl Operations for OperationsService {
    async fn list_operations(
        &self,
        request: Request<lro::ListOperationsRequest>,
    ) -> Result<Response<lro::ListOperationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let lro::ListOperationsRequest { name, filter, page_size, page_token, return_partial_success: _ } =
            request.into_inner();
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("name", &name));
        if !filter.is_empty() {
            violations.add("filter", "is not supported: leave it empty");
        }
        let page = PageRequest::parse(&mut violations, page_size, &page_token, (50, 200), name.clone());
        let (project, page) = violations.complete(|| Some((project?, page?)))?;
        self.shared.authorizer.require(&caller, project, Permission::Manage).await?;
        let mut operations =
            self.shared.imports.list(project, page.after_id(), page.fetch()).await.map_err(ServiceError::from)?;
        if let Some(stale) = operations.iter().find(|operation| {
            OperationState::from_stored(operation.state) == OperationState::Running
                && operation.heartbeat_time < time::now() - STALE_AFTER
        }) {
            self.sweep_if_stale(&stale.clone()).await?;
            operations =
                self.shared.imports.list(project, page.after_id(), page.fetch()).await.map_err(ServiceError::from)?;
        }
        let next_page_token = page.finish(&mut operations, |last| (None, last.id.clone()));
        Ok(Response::new(lro::ListOperationsResponse {
            operations: operations.into_iter().map(operation_to_proto).collect(),
            next_page_token,
            unreachable: Vec::new(),
        }))
    }

    async fn get_operation(
        &self,
        request: Request<lro::GetOperationRequest>,
    ) -> Result<Response<lro::Operation>, Status> {
        let caller = Caller::of(&request)?;
        let name = OperationName::parse("name", &request.get_ref().name)?;
        Ok(Response::new(operation_to_proto(self.find(&caller, name, false).await?)))
    }

    async fn delete_operation(&self, request: Request<lro::DeleteOperationRequest>) -> Result<Response<()>, Status> {
        let caller = Caller::of(&request)?;
        let name = OperationName::parse("name", &request.get_ref().name)?;
        let operation = self.find(&caller, name, true).await?;
        self.shared.imports.delete(name.project, &operation.id).await.map_err(ServiceError::from)?;
        Ok(Response::new(()))
    }

    async fn cancel_operation(&self, request: Request<lro::CancelOperationRequest>) -> Result<Response<()>, Status> {
        let caller = Caller::of(&request)?;
        let name = OperationName::parse("name", &request.get_ref().name)?;
        let operation = self.find(&caller, name, true).await?;
        // Cancelling a finished operation changes nothing (AIP-151 allows it).
        self.shared
            .imports
            .request_cancel(name.project, &operation.id, time::now())
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(()))
    }
}
