//! `tasktracker.v1.ImportService`: imports into a project as long-running
//! operations. The handler checks the request and reads the whole file
//! into items ([`csv`], [`trello`]), so a file that cannot be read is
//! refused at once, naming what is wrong; it then records the operation
//! and hands the items to the [`runner`], which writes them in the
//! background. Only the project's owner imports, into a project that is
//! not archived. [`export`] writes a project out, in chunks of [`CHUNK`].

/// Largest chunk of an export.
const CHUNK: usize = 256 * 1024;

mod csv;
mod document;
mod export;
pub mod items;
mod native;
mod runner;
mod trello;

use std::pin::Pin;

use tasktracker_proto::{google::longrunning as lro, v1, v1::import_service_server::ImportService};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use self::{csv::Mapping, items::Parsed, runner::Job};
use super::{SharedState, operations::operation_to_proto};
use crate::{
    auth::{Caller, Permission},
    domain::{Invalid, OperationId, ProjectId, UserId, Violations, time},
    error::ServiceError,
    storage::{entities::import_operations, imports::OperationState},
};

/// An import file's format, with what reading it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Trello,
    Csv(Box<Mapping>),
    Tasktracker,
}

impl Source {
    /// `import_items.source`.
    fn key(&self) -> &'static str {
        match self {
            Self::Trello => "trello",
            Self::Csv(_) => "csv",
            Self::Tasktracker => "tasktracker",
        }
    }

    fn format(&self) -> v1::ImportFormat {
        match self {
            Self::Trello => v1::ImportFormat::Trello,
            Self::Csv(_) => v1::ImportFormat::Csv,
            Self::Tasktracker => v1::ImportFormat::Tasktracker,
        }
    }

    fn parse(&self, content: &str) -> Result<Parsed, ServiceError> {
        match self {
            Self::Trello => trello::parse(content),
            Self::Csv(mapping) => csv::parse(content, mapping),
            Self::Tasktracker => native::parse(content),
        }
    }
}

/// `ImportTasks`, checked but for its content.
struct ImportTasks {
    project: ProjectId,
    source: Source,
    content: Vec<u8>,
}

impl TryFrom<v1::ImportTasksRequest> for ImportTasks {
    type Error = Invalid;

    fn try_from(request: v1::ImportTasksRequest) -> Result<Self, Invalid> {
        let v1::ImportTasksRequest { parent, format, content, csv_mapping } = request;
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &parent));
        let source = match v1::ImportFormat::try_from(format) {
            Ok(v1::ImportFormat::Trello) => Some(Source::Trello),
            Ok(v1::ImportFormat::Tasktracker) => Some(Source::Tasktracker),
            Ok(v1::ImportFormat::Csv) => match &csv_mapping {
                Some(mapping) => Mapping::parse(mapping, &mut violations).map(|mapping| Source::Csv(Box::new(mapping))),
                None => {
                    violations.add("csv_mapping", "is required for IMPORT_FORMAT_CSV: which column holds each field");
                    None
                }
            },
            Ok(v1::ImportFormat::Unspecified) | Err(_) => {
                violations
                    .add("format", "is required: IMPORT_FORMAT_TRELLO, IMPORT_FORMAT_CSV or IMPORT_FORMAT_TASKTRACKER");
                None
            }
        };
        violations.complete(|| Some(Self { project: project?, source: source?, content }))
    }
}

/// The file as text: UTF-8 (a byte order mark is dropped), at most `limit`
/// bytes.
fn decode(content: Vec<u8>, limit: usize) -> Result<String, ServiceError> {
    if content.len() > limit {
        return Err(ServiceError::invalid(
            "content",
            format!("is {} bytes; the server imports files of at most {limit} bytes", content.len()),
        ));
    }
    let mut text = String::from_utf8(content).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        ServiceError::invalid(
            "content",
            format!("is not UTF-8 text (the first invalid byte is at offset {valid}); save the file as UTF-8"),
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

pub struct Imports {
    shared: SharedState,
}

impl Imports {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }
}

/// `ExportProject`, checked.
fn export_request(request: v1::ExportProjectRequest) -> Result<(ProjectId, v1::ExportFormat), Invalid> {
    let v1::ExportProjectRequest { name, format } = request;
    let mut violations = Violations::default();
    let project = violations.check(ProjectId::parse_name("name", &name));
    let format = match v1::ExportFormat::try_from(format) {
        Ok(format @ (v1::ExportFormat::Json | v1::ExportFormat::Csv)) => Some(format),
        Ok(v1::ExportFormat::Unspecified) | Err(_) => {
            violations.add("format", "is required: EXPORT_FORMAT_JSON or EXPORT_FORMAT_CSV");
            None
        }
    };
    violations.complete(|| Some((project?, format?)))
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<v1::ExportProjectResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ImportService for Imports {
    type ExportProjectStream = ExportStream;

    async fn export_project(
        &self,
        request: Request<v1::ExportProjectRequest>,
    ) -> Result<Response<Self::ExportProjectStream>, Status> {
        let caller = Caller::of(&request)?;
        let (project, format) = export_request(request.into_inner())?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Manage).await?;
        let dump = self.shared.exports.read(grant.project).await.map_err(ServiceError::from)?;
        let written = tokio::task::spawn_blocking(move || {
            let document = export::document(&dump, time::now());
            match format {
                v1::ExportFormat::Csv => export::csv(&document).map(|data| (data, "text/csv")),
                _ => Ok((serde_json::to_vec_pretty(&document)?, "application/json")),
            }
        });
        let (data, content_type) = written
            .await
            .map_err(|error| ServiceError::Internal(anyhow::anyhow!("writing the export panicked: {error}")))?
            .map_err(ServiceError::Internal)?;
        let chunks: Vec<Result<v1::ExportProjectResponse, Status>> = data
            .chunks(CHUNK)
            .enumerate()
            .map(|(index, chunk)| {
                let content_type = if index == 0 { content_type.to_owned() } else { String::new() };
                Ok(v1::ExportProjectResponse { data: chunk.to_vec(), content_type })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn import_tasks(&self, request: Request<v1::ImportTasksRequest>) -> Result<Response<lro::Operation>, Status> {
        let caller = Caller::of(&request)?;
        let ImportTasks { project, source, content } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.change_settings(&caller, project).await?;
        let text = decode(content, self.shared.import_max_bytes)?;
        let reader = source.clone();
        let parsed = tokio::task::spawn_blocking(move || reader.parse(&text))
            .await
            .map_err(|error| ServiceError::Internal(anyhow::anyhow!("reading the file panicked: {error}")))??;
        let now = time::now();
        let operation = import_operations::Model {
            id: OperationId::generate().to_string(),
            project_id: project.to_string(),
            creator_id: caller.user.to_string(),
            format: source.format() as i16,
            state: OperationState::Running.stored(),
            cancel_requested: false,
            rows_total: parsed.items.len() as i64,
            rows_done: 0,
            rows_imported: 0,
            rows_skipped: 0,
            errors_total: parsed.errors.len() as i64,
            row_errors: "[]".into(),
            error_code: 0,
            error_message: String::new(),
            create_time: now,
            update_time: now,
            heartbeat_time: now,
        };
        self.shared.imports.insert(operation.clone()).await.map_err(ServiceError::from)?;
        let job = Job {
            operation: operation.id.clone(),
            project: grant.project,
            actor: UserId::from_stored(&operation.creator_id),
            source: source.key(),
            parsed,
        };
        runner::spawn(self.shared.clone(), job);
        Ok(Response::new(operation_to_proto(operation)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_must_be_utf8_and_within_the_limit() {
        let invalid = |result: Result<String, ServiceError>| match result {
            Err(ServiceError::InvalidArgument(violations)) => violations[0].clone(),
            other => panic!("refused: {other:?}"),
        };
        let latin1 = invalid(decode(b"Name\ncaf\xe9\n".to_vec(), 100));
        assert_eq!(latin1.field, "content");
        assert!(latin1.description.contains("offset 8"), "{}", latin1.description);
        let big = invalid(decode(vec![b'a'; 11], 10));
        assert!(big.description.contains("at most 10 bytes"), "{}", big.description);
        assert_eq!(decode("\u{feff}Name\n".as_bytes().to_vec(), 100).unwrap(), "Name\n");
    }

    #[test]
    fn the_format_and_a_csv_mapping_are_required() {
        let request = |format: v1::ImportFormat, csv_mapping| v1::ImportTasksRequest {
            parent: format!("projects/{}", uuid::Uuid::now_v7()),
            format: format as i32,
            content: Vec::new(),
            csv_mapping,
        };
        let fields = |request| match ImportTasks::try_from(request) {
            Err(Invalid(violations)) => violations.into_iter().map(|violation| violation.field).collect::<Vec<_>>(),
            Ok(_) => Vec::new(),
        };
        assert_eq!(fields(request(v1::ImportFormat::Unspecified, None)), ["format"]);
        assert_eq!(fields(request(v1::ImportFormat::Csv, None)), ["csv_mapping"]);
        let untitled = v1::CsvMapping { description: "Notes".into(), ..Default::default() };
        assert_eq!(fields(request(v1::ImportFormat::Csv, Some(untitled))), ["csv_mapping.title"]);
        assert!(fields(request(v1::ImportFormat::Trello, None)).is_empty());
    }
}
