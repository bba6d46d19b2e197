//! `import trello|csv|tasktracker FILE` and `export`: ImportTasks, then its
//! operation polled with a progress line until it is done (Ctrl-C cancels
//! it); ExportProject streamed to a file or standard output.

use std::{io::Write as _, path::Path, time::Duration};

use anyhow::Context;
use prost::Message;
use tasktracker_proto::{google::longrunning as lro, v1};

use crate::{
    api::Session,
    args::{ExportArgs, ExportFormatArg, ImportCommand},
    error::CliError,
    names,
    output::{Format, Output},
};

/// How often a running import is polled.
const POLL: Duration = Duration::from_millis(500);
/// An import is followed for at most this long (a day), then left running.
const MAX_POLLS: u32 = 2 * 86_400;

pub async fn import(session: &Session, command: ImportCommand, out: &Output) -> Result<(), CliError> {
    let (format, args, mapping) = match command {
        ImportCommand::Trello(args) => (v1::ImportFormat::Trello, args, None),
        ImportCommand::Tasktracker(args) => (v1::ImportFormat::Tasktracker, args, None),
        ImportCommand::Csv { file, map } => (v1::ImportFormat::Csv, file, Some(parse_map(&map)?)),
    };
    let content = read(&args.file)?;
    let project = names::project(&args.project.project);
    let request = v1::ImportTasksRequest { parent: project, format: format as i32, content, csv_mapping: mapping };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Polling it once installs the handler: from here, Ctrl-C cancels.
    tokio::select! {
        biased;
        _ = &mut ctrl_c => return Err(CliError::Usage("interrupted before the import started".into())),
        () = std::future::ready(()) => {}
    }
    let operation = session.api.imports().import_tasks(request).await?.into_inner();
    out.note(&format!("importing as {}", operation.name));
    let mut operation = operation;
    let mut cancelled = false;
    for _ in 0..MAX_POLLS {
        if operation.done {
            return finish(&operation, out);
        }
        progress(&operation, out);
        tokio::select! {
            _ = &mut ctrl_c, if !cancelled => {
                cancelled = true;
                out.note("cancelling: the batch being written finishes first");
                let request = lro::CancelOperationRequest { name: operation.name.clone() };
                session.api.operations().cancel_operation(request).await?;
            }
            () = tokio::time::sleep(POLL) => {}
        }
        let request = lro::GetOperationRequest { name: operation.name.clone() };
        operation = session.api.operations().get_operation(request).await?.into_inner();
    }
    Err(CliError::Other(anyhow::anyhow!("{} is still running; follow it with GetOperation", operation.name)))
}

/// `title=Name,description=Notes,cf.estimate=Points` as a mapping.
fn parse_map(map: &str) -> Result<v1::CsvMapping, CliError> {
    let mut mapping = v1::CsvMapping::default();
    for pair in map.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
        let (field, column) =
            pair.split_once('=').ok_or_else(|| CliError::Usage(format!("--map: `{pair}` is not FIELD=COLUMN")))?;
        let column = column.trim().to_owned();
        match field.trim() {
            "title" => mapping.title = column,
            "description" => mapping.description = column,
            "state" => mapping.state = column,
            "assignee_email" | "assignee" => mapping.assignee_email = column,
            "due_date" | "due" => mapping.due_date = column,
            "labels" => mapping.labels = column,
            "priority" => mapping.priority = column,
            "source_id" | "key" => mapping.source_id = column,
            other => match other.strip_prefix("cf.") {
                Some(key) => {
                    mapping.custom_fields.insert(key.to_owned(), column);
                }
                None => {
                    return Err(CliError::Usage(format!(
                        "--map: `{other}` is not a field: title, description, state, assignee_email, due_date, labels, priority, source_id or cf.<key>"
                    )));
                }
            },
        }
    }
    if mapping.title.is_empty() {
        return Err(CliError::Usage("--map must name the title column: title=COLUMN".into()));
    }
    Ok(mapping)
}

fn read(file: &Path) -> Result<Vec<u8>, CliError> {
    Ok(std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?)
}

fn metadata(operation: &lro::Operation) -> v1::ImportMetadata {
    operation
        .metadata
        .as_ref()
        .and_then(|any| v1::ImportMetadata::decode(any.value.as_slice()).ok())
        .unwrap_or_default()
}

fn progress(operation: &lro::Operation, out: &Output) {
    let progress = metadata(operation);
    out.note(&format!(
        "{} of {} rows ({} imported, {} skipped, {} problems)",
        progress.rows_done, progress.rows_total, progress.rows_imported, progress.rows_skipped, progress.errors
    ));
}

/// Prints the result of a finished import; a failed or cancelled one is an
/// error.
fn finish(operation: &lro::Operation, out: &Output) -> Result<(), CliError> {
    let response = match &operation.result {
        Some(lro::operation::Result::Response(any)) => {
            v1::ImportTasksResponse::decode(any.value.as_slice()).context("the server sent a malformed result")?
        }
        Some(lro::operation::Result::Error(status)) => {
            let status = tonic::Status::new(tonic::Code::from(status.code), status.message.clone());
            return Err(CliError::Api(status));
        }
        None => return Err(CliError::Other(anyhow::anyhow!("{} ended without a result", operation.name))),
    };
    match out.format() {
        Format::Json => {
            let errors: Vec<_> = response
                .errors
                .iter()
                .map(|error| {
                    serde_json::json!({"row": error.row, "source_id": error.source_id, "field": error.field, "message": error.message})
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "operation": operation.name,
                    "rows_total": response.rows_total,
                    "rows_imported": response.rows_imported,
                    "rows_skipped": response.rows_skipped,
                    "errors_total": response.errors_total,
                    "errors": errors,
                })
            );
        }
        Format::Table => {
            println!(
                "{} rows: {} imported, {} skipped (imported before), {} problems",
                response.rows_total, response.rows_imported, response.rows_skipped, response.errors_total
            );
            for error in &response.errors {
                println!("row {} ({}): {}: {}", error.row, error.source_id, error.field, error.message);
            }
        }
    }
    Ok(())
}

pub async fn export(session: &Session, args: ExportArgs, out: &Output) -> Result<(), CliError> {
    let format = match args.format {
        ExportFormatArg::Json => v1::ExportFormat::Json,
        ExportFormatArg::Csv => v1::ExportFormat::Csv,
    };
    let request = v1::ExportProjectRequest { name: names::project(&args.project.project), format: format as i32 };
    let mut stream = session.api.imports().export_project(request).await?.into_inner();
    let mut sink: Box<dyn std::io::Write> = match &args.file {
        Some(file) => {
            Box::new(std::fs::File::create(file).with_context(|| format!("cannot create {}", file.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut bytes = 0;
    while let Some(chunk) = stream.message().await? {
        bytes += chunk.data.len();
        sink.write_all(&chunk.data)?;
    }
    sink.flush()?;
    if let Some(file) = &args.file {
        out.note(&format!("wrote {bytes} bytes to {}", file.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_names_columns_by_field() {
        let mapping = parse_map("title=Name, description=Notes,cf.estimate=Points,key=Id").unwrap();
        assert_eq!((mapping.title.as_str(), mapping.description.as_str()), ("Name", "Notes"));
        assert_eq!(mapping.source_id, "Id");
        assert_eq!(mapping.custom_fields["estimate"], "Points");
        assert!(matches!(parse_map("description=Notes"), Err(CliError::Usage(_))));
        assert!(matches!(parse_map("title=Name,colour=Red"), Err(CliError::Usage(_))));
    }
}
